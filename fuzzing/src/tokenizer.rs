//! The tokenizer on arbitrary text, with the real test model's vocabulary (SmolLM2,
//! byte-level BPE; `INFILL_TEST_MODEL` names the file): the pieces of an encoding spell
//! the text exactly (a character the vocabulary has no bytes for as `?`s), no control token appears, and decoding the pieces one at a time as
//! the engine streams them gives the text back.

use std::path::PathBuf;
use std::sync::OnceLock;

use infill_model::{GgufFile, ModelTokenizer, StreamDecoder};

/// The test model's tokenizer, loaded once per process.
fn tokenizer() -> &'static ModelTokenizer {
    static TOKENIZER: OnceLock<ModelTokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        let path = std::env::var_os("INFILL_TEST_MODEL").map(PathBuf::from).unwrap_or_else(|| {
            panic!("set INFILL_TEST_MODEL to the test model (bash model/scripts/fetch-test-model.sh prints its path)")
        });
        let gguf = GgufFile::open(&path).unwrap_or_else(|e| panic!("{e}"));
        ModelTokenizer::load(&gguf).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let tokenizer = tokenizer();
    let Ok(ids) = tokenizer.encode(text) else { panic!("encoding valid UTF-8 never fails") };
    let mut spelled = Vec::with_capacity(text.len());
    let mut stream = StreamDecoder::default();
    let mut streamed = String::new();
    for &id in &ids {
        assert!(!tokenizer.is_control(id), "control token {id} in the encoding of {text:?}");
        spelled.extend_from_slice(tokenizer.token_bytes(id));
        streamed.push_str(&stream.push(tokenizer.token_bytes(id)));
    }
    streamed.push_str(&stream.finish());
    // Characters with a byte the vocabulary lacks are spelled `?`, byte for byte.
    let text = tokenizer.spellable(text);
    assert_eq!(spelled, text.as_bytes(), "the pieces spell the text");
    assert_eq!(streamed, text, "streamed decoding gives the text back");
    assert_eq!(tokenizer.decode(&ids), text);
}
