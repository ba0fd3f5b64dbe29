//! Loading a model from arbitrary bytes (and mutations of a tiny real model, the seed
//! corpus): a clear error or a model, never a panic, an abort or a huge allocation.

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use infill_model::{EngineOptions, Model};

/// Where each run's bytes are written (one file per process, in memory when it can be).
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let shm = PathBuf::from("/dev/shm");
        let dir = if shm.is_dir() { shm } else { std::env::temp_dir() };
        dir.join(format!("infill-fuzz-{}.gguf", std::process::id()))
    })
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let path = scratch();
    let written = std::fs::File::create(path).and_then(|mut f| f.write_all(data));
    if written.is_err() {
        return;
    }
    let options = EngineOptions { threads: 1, max_context: 64, prefill_chunk: 16, kv_memory: 1 << 20 };
    if let Ok(model) = Model::load(path, &options) {
        // A model that loads has a tokenizer that works.
        let _ = model.tokenizer.encode("fn main() {}");
    }
}
