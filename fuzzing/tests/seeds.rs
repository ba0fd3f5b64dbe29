//! Writes the `gguf` target's seeds: tiny models in the real file format (random
//! weights, a 271-token vocabulary), small enough for libFuzzer to mutate. Run once with
//! `cargo test -p infill-fuzzing --test seeds -- --ignored`; the files are committed.

// The tiny-model writer of the model crate's tests: one writer for both.
#[path = "../../model/tests/common/tiny.rs"]
#[allow(dead_code)]
mod tiny;

use candle_core::quantized::GgmlDType;

#[test]
#[ignore = "writes the committed seed files"]
fn write_gguf_seeds() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/gguf");
    std::fs::create_dir_all(&dir).expect("corpus folder");
    for (arch, dtype) in [("llama", GgmlDType::Q8_0), ("qwen2", GgmlDType::F32), ("gemma3", GgmlDType::Q8_0)] {
        let spec =
            tiny::Tiny { n_layer: 1, n_embd: 32, n_ff: 64, n_head: 2, n_kv_head: 1, ..tiny::Tiny::new(arch, dtype) };
        let scratch = std::env::temp_dir().join(format!("infill-seed-{arch}"));
        std::fs::create_dir_all(&scratch).expect("scratch folder");
        let path = tiny::write(&spec, &scratch);
        std::fs::copy(&path, dir.join(format!("seed-tiny-{arch}-{dtype:?}").to_lowercase())).expect("copy");
    }
}
