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

/// Found by the `tokenizer` fuzz target: SmolLM2's vocabulary has no symbol for most
/// ASCII control bytes, and the BPE model dropped them without a word, so the prompt
/// said less than the buffer. They are spelled `?` now, one per byte.
#[test]
fn control_bytes_the_vocabulary_lacks_are_spelled_not_dropped() {
    let tokenizer = tokenizer();
    for text in ["a\u{4}b", "\u{4}\u{4}\u{4}", "  \u{1b}[0m x", "x\u{0}y\u{7f}z"] {
        let ids = tokenizer.encode(text).expect("encode");
        let spelled: Vec<u8> = ids.iter().flat_map(|&id| tokenizer.token_bytes(id).to_vec()).collect();
        assert_eq!(spelled.len(), text.len(), "{text:?}: every byte is spelled");
        assert_eq!(String::from_utf8_lossy(&spelled), tokenizer.spellable(text), "{text:?}");
    }
    assert_eq!(tokenizer.spellable("a\u{4}b"), "a?b");
    assert_eq!(tokenizer.spellable("plain text"), "plain text", "text it can spell is left alone");
}
