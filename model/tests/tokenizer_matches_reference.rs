//! The tokenizer built from the GGUF gives the token ids an independent implementation
//! (Hugging Face `transformers` reading the same file, via
//! `model/scripts/tokenizer-fixtures.py`) gives, and decodes back to the same text.

mod common;

use infill_model::{GgufFile, ModelTokenizer};
use serde_json::Value;

fn fixture(name: &str) -> Vec<(String, Vec<u32>)> {
    let path = format!("{}/../fixtures/tokenizer/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let json: Value = serde_json::from_str(&text).expect("fixture json");
    json["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            let ids = c["ids"].as_array().expect("ids").iter().map(|i| i.as_u64().expect("id") as u32).collect();
            (c["text"].as_str().expect("text").to_owned(), ids)
        })
        .collect()
}

fn tokenizer() -> ModelTokenizer {
    let gguf = GgufFile::open(&common::test_model()).expect("open");
    ModelTokenizer::load(&gguf).expect("tokenizer")
}

#[test]
fn ids_match_the_reference_on_every_fixture_string() {
    let tokenizer = tokenizer();
    let cases = fixture("smollm2");
    assert!(cases.len() >= 200, "need at least 200 cases, have {}", cases.len());
    let mut mismatches = Vec::new();
    for (text, expected) in &cases {
        let got = tokenizer.encode(text).expect("encode");
        if &got != expected {
            mismatches.push(format!("{text:?}\n  expected {expected:?}\n  got      {got:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{} of {} differ:\n{}", mismatches.len(), cases.len(), mismatches.join("\n"));
}

#[test]
fn decoding_gives_back_the_text() {
    let tokenizer = tokenizer();
    for (text, _) in fixture("smollm2") {
        let ids = tokenizer.encode(&text).expect("encode");
        assert_eq!(tokenizer.decode(&ids), text);
    }
}

#[test]
fn text_spelling_a_control_token_never_becomes_one() {
    let tokenizer = tokenizer();
    for text in ["<|endoftext|>", "<file_sep>", "<filename>x.py", "<|im_start|>", "a<repo_name>b"] {
        let ids = tokenizer.encode(text).expect("encode");
        assert!(ids.iter().all(|&id| !tokenizer.is_control(id)), "{text:?} gave {ids:?}");
        assert_eq!(tokenizer.decode(&ids), text);
    }
    assert!(tokenizer.id_of("<file_sep>").is_some_and(|id| tokenizer.is_control(id)));
}
