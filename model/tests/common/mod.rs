//! Helpers shared by the model crate's integration tests.
#![allow(dead_code)]

pub mod tiny;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Path of the real test model (SmolLM2-135M-Instruct Q4_1), fetched once and cached
/// by `model/scripts/fetch-test-model.sh`; `INFILL_TEST_MODEL` overrides it.
pub fn test_model() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(path) = std::env::var_os("INFILL_TEST_MODEL") {
            return PathBuf::from(path);
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/fetch-test-model.sh");
        let out = Command::new("bash").arg(script).output().expect("run fetch-test-model.sh");
        assert!(out.status.success(), "fetch-test-model.sh failed:\n{}", String::from_utf8_lossy(&out.stderr));
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    })
    .clone()
}

/// Largest absolute difference between two equally long vectors.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}
