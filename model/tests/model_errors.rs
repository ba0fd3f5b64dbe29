//! Bad model files give a typed error that names the file and the reason; no panic.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::Value;
use candle_core::quantized::GgmlDType;
use common::tiny::{self, Tiny};
use infill_model::{EngineOptions, Model, ModelError};

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("infill-model-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn load(path: &Path) -> ModelError {
    match Model::load(path, &EngineOptions { threads: 1, ..EngineOptions::default() }) {
        Ok(_) => panic!("{} loaded but must not", path.display()),
        Err(e) => e,
    }
}

fn tiny_with(change: impl FnOnce(&mut Tiny)) -> PathBuf {
    let mut spec = Tiny::new("llama", GgmlDType::Q8_0);
    change(&mut spec);
    tiny::write(&spec, &dir())
}

fn assert_names_file(error: &ModelError, path: &Path, words: &str) {
    let text = error.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains(words), "expected {words:?} in: {text}");
}

#[test]
fn a_missing_file() {
    let path = dir().join("nowhere.gguf");
    let e = load(&path);
    assert!(matches!(e, ModelError::Io { .. }), "{e:?}");
    assert_names_file(&e, &path, "cannot read");
}

#[test]
fn not_a_gguf_file() {
    let path = dir().join("text.gguf");
    std::fs::write(&path, "this is a README, not a model\n").expect("write");
    let e = load(&path);
    assert!(matches!(e, ModelError::NotGguf { .. }), "{e:?}");
    assert_names_file(&e, &path, "bad magic");
    let empty = dir().join("empty.gguf");
    std::fs::write(&empty, "").expect("write");
    assert!(matches!(load(&empty), ModelError::NotGguf { .. }));
}

#[test]
fn a_truncated_file() {
    let path = tiny_with(|_| {});
    let bytes = std::fs::read(&path).expect("read");
    for keep in [bytes.len() - 1000, bytes.len() / 2, 200, 30] {
        let cut = dir().join(format!("cut-{keep}.gguf"));
        std::fs::File::create(&cut).and_then(|mut f| f.write_all(&bytes[..keep])).expect("write");
        let e = load(&cut);
        assert!(matches!(e, ModelError::Truncated { .. }), "cut at {keep}: {e:?}");
        assert_names_file(&e, &cut, "truncated");
    }
}

#[test]
fn an_unsupported_architecture() {
    let path = tiny_with(|t| t.metadata.push(("general.architecture".into(), Value::String("mamba".into()))));
    let e = load(&path);
    assert!(matches!(&e, ModelError::UnsupportedArchitecture { architecture, .. } if architecture == "mamba"), "{e:?}");
    assert_names_file(&e, &path, "mamba");
}

#[test]
fn an_unsupported_quantization() {
    // Rewrite token_embd's type id to 16 (IQ2_XXS), which we do not run.
    let path = tiny_with(|_| {});
    let mut bytes = std::fs::read(&path).expect("read");
    let name = b"token_embd.weight";
    let at = bytes.windows(name.len()).position(|w| w == name).expect("tensor info");
    let type_at = at + name.len() + 4 + 2 * 8; // n_dims (u32), two dims (u64)
    bytes[type_at..type_at + 4].copy_from_slice(&16u32.to_le_bytes());
    std::fs::write(&path, &bytes).expect("write");
    let e = load(&path);
    assert!(matches!(e, ModelError::UnsupportedQuantization { .. }), "{e:?}");
    assert_names_file(&e, &path, "unsupported quantization");
}

#[test]
fn a_missing_tensor() {
    let path = tiny_with(|t| t.omit = Some("blk.1.ffn_up.weight".into()));
    let e = load(&path);
    assert!(matches!(&e, ModelError::MissingTensor { name, .. } if name == "blk.1.ffn_up.weight"), "{e:?}");
}

#[test]
fn a_tensor_of_the_wrong_shape() {
    let path = tiny_with(|t| t.metadata.push(("llama.feed_forward_length".into(), Value::U32(768))));
    let e = load(&path);
    assert!(matches!(&e, ModelError::TensorShape { name, .. } if name == "blk.0.ffn_gate.weight"), "{e:?}");
    assert_names_file(&e, &path, "expected [768, 256]");
}

#[test]
fn a_context_length_of_zero_and_a_missing_key() {
    let path = tiny_with(|t| t.metadata.push(("llama.context_length".into(), Value::U32(0))));
    let e = load(&path);
    assert!(matches!(&e, ModelError::Metadata { key, .. } if key == "llama.context_length"), "{e:?}");
    assert_names_file(&e, &path, "greater than zero");
    let path = tiny_with(|t| t.metadata.push(("llama.block_count".into(), Value::String("two".into()))));
    let e = load(&path);
    assert!(matches!(&e, ModelError::Metadata { key, .. } if key == "llama.block_count"), "{e:?}");
}

/// Found by the `gguf` fuzz target: a block count taken on trust was allocated for
/// before any tensor was read, and a corrupt file killed the process (out of memory).
#[test]
fn a_block_count_past_the_file_s_tensors_is_refused_before_anything_is_allocated() {
    let path = tiny_with(|t| t.metadata.push(("llama.block_count".into(), Value::U32(u32::MAX))));
    let e = load(&path);
    assert!(matches!(e, ModelError::Metadata { .. }), "{e:?}");
    assert_names_file(&e, &path, "block_count");
}
