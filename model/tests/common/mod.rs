//! Helpers shared by the model crate's integration tests.
#![allow(dead_code)]

pub mod peer;
pub mod reference;
pub mod tiny;

use std::path::PathBuf;

/// Path of the real test model (see `infill_tests::test_model`).
pub fn test_model() -> PathBuf {
    infill_tests::test_model()
}

/// Largest absolute difference between two equally long vectors.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}
