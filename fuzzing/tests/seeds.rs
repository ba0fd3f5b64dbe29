//! The `gguf` target's tiny-model seeds are what the model crate's tiny-model writer
//! writes today (random weights, a 271-token vocabulary, small enough for libFuzzer to
//! mutate), and they load: the fuzzer starts from valid models. After a deliberate
//! change to the writer, `INFILL_UPDATE_SEEDS=1 cargo test -p infill-fuzzing --test seeds`
//! rewrites them.

// The tiny-model writer of the model crate's tests: one writer for both.
#[path = "../../model/tests/common/tiny.rs"]
#[allow(dead_code)]
mod tiny;

use candle_core::quantized::GgmlDType;
use infill_model::{EngineOptions, Model};

#[test]
fn gguf_seeds_are_todays_tiny_models_and_load() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/gguf");
    let update = std::env::var_os("INFILL_UPDATE_SEEDS").is_some();
    for (arch, dtype) in [("llama", GgmlDType::Q8_0), ("qwen2", GgmlDType::F32), ("gemma3", GgmlDType::Q8_0)] {
        let spec =
            tiny::Tiny { n_layer: 1, n_embd: 32, n_ff: 64, n_head: 2, n_kv_head: 1, ..tiny::Tiny::new(arch, dtype) };
        let scratch = std::env::temp_dir().join(format!("infill-seed-{}-{arch}", std::process::id()));
        std::fs::create_dir_all(&scratch).expect("scratch folder");
        let written = std::fs::read(tiny::write(&spec, &scratch)).expect("the tiny model");
        let seed = dir.join(format!("seed-tiny-{arch}-{dtype:?}").to_lowercase());
        if update {
            std::fs::write(&seed, &written).expect("write the seed");
        }
        let committed = std::fs::read(&seed).unwrap_or_else(|e| panic!("{}: {e}", seed.display()));
        assert!(committed == written, "{} is stale: rerun with INFILL_UPDATE_SEEDS=1", seed.display());
        let options = EngineOptions { threads: 1, max_context: 64, prefill_chunk: 16, kv_memory: 1 << 20 };
        Model::load(&seed, &options).unwrap_or_else(|e| panic!("{}: {e}", seed.display()));
        let _ = std::fs::remove_dir_all(&scratch);
    }
}
