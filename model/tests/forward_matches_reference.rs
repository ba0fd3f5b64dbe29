//! Our forward pass against candle-transformers' reference implementations
//! (`quantized_llama`, `quantized_qwen2`): the same logits within a tight tolerance,
//! on the real test model and on tiny random models of each architecture and
//! quantization; and KV-cache reuse is exact.
//!
//! These run with `CANDLE_DEQUANTIZE_ALL=1`: weights are dequantized once with
//! candle's own routines of each format, and matrix products run in f32 in both
//! implementations. With quantized matmuls the activations are rounded to 8 bits
//! before every product, which makes the network discontinuous: a last-bit
//! difference in a sum (our attention reads the cache in another order than gemm)
//! can flip one rounding and move a logit by tenths. `quantized_drift.rs` covers that
//! mode with a bound suited to it.

mod common;

use std::path::Path;

use candle_core::quantized::GgmlDType;
use candle_core::Device;
use common::reference::Reference;
use common::tiny::{self, Tiny};
use infill_model::{GgufFile, HParams, KvCache, ModelTokenizer, Transformer};

/// Logits are O(10); gemm blocking may reorder sums, nothing more.
const TOLERANCE: f32 = 1e-3;

/// Dequantized weights, f32 products (see the module docs). Every test calls it first.
fn exact_mode() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| std::env::set_var("CANDLE_DEQUANTIZE_ALL", "1"));
}

fn ours(path: &Path, capacity: usize) -> (Transformer, KvCache) {
    let mut gguf = GgufFile::open(path).expect("open");
    let hp = HParams::read(&gguf).expect("hparams");
    let model = Transformer::load(&mut gguf, &hp, capacity, &Device::Cpu).expect("load");
    let cache = KvCache::new(&hp, capacity, &Device::Cpu).expect("cache");
    (model, cache)
}

fn logits(model: &Transformer, cache: &mut KvCache, tokens: &[u32]) -> Vec<f32> {
    model.forward(tokens, cache).expect("forward").to_vec1().expect("vec")
}

/// Prefill of `prompt`, then `steps` greedy decode steps, compared at every step.
fn compare(path: &Path, prompt: &[u32], steps: usize) {
    let mut reference = Reference::load(path);
    let (model, mut cache) = ours(path, 256);
    let mut expected = reference.forward(prompt, 0);
    let mut got = logits(&model, &mut cache, prompt);
    for (step, pos) in (0..=steps).zip(prompt.len()..) {
        let diff = common::max_abs_diff(&expected, &got);
        assert!(diff < TOLERANCE, "{}: step {step}: max |logit diff| {diff}", path.display());
        if step == steps {
            break;
        }
        let next = argmax(&expected);
        expected = reference.forward(&[next], pos);
        got = logits(&model, &mut cache, &[next]);
    }
}

fn argmax(v: &[f32]) -> u32 {
    v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i as u32)
}

fn random_tokens(seed: u64, n: usize, vocab: u32) -> Vec<u32> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n).map(|_| rng.u32(0..vocab)).collect()
}

#[test]
fn real_model_logits_match_quantized_llama() {
    exact_mode();
    let path = common::test_model();
    let gguf = GgufFile::open(&path).expect("open");
    let tokenizer = ModelTokenizer::load(&gguf).expect("tokenizer");
    let code = "import os\n\ndef list_python_files(root):\n    \"\"\"Every .py file under root.\"\"\"\n    found = []\n    for dirpath, _, names in os.walk(root):\n";
    compare(&path, &tokenizer.encode(code).expect("encode"), 8);
}

#[test]
fn tiny_models_of_every_architecture_and_quantization_match_the_reference() {
    exact_mode();
    let dir = tempdir();
    let dtypes = [
        GgmlDType::F32,
        GgmlDType::F16,
        GgmlDType::Q4_0,
        GgmlDType::Q4_1,
        GgmlDType::Q5_0,
        GgmlDType::Q5_1,
        GgmlDType::Q8_0,
        GgmlDType::Q2K,
        GgmlDType::Q3K,
        GgmlDType::Q4K,
        GgmlDType::Q5K,
        GgmlDType::Q6K,
    ];
    for arch in ["llama", "qwen2"] {
        for (i, dtype) in dtypes.into_iter().enumerate() {
            let spec = Tiny { tied_output: i % 2 == 0, seed: i as u64, ..Tiny::new(arch, dtype) };
            let path = tiny::write(&spec, &dir);
            compare(&path, &random_tokens(i as u64, 11, tiny::vocab().0.len() as u32), 3);
        }
    }
}

#[test]
fn reusing_a_truncated_cache_gives_the_logits_of_a_cold_run() {
    exact_mode();
    let dir = tempdir();
    for arch in ["llama", "qwen2"] {
        let path = tiny::write(&Tiny::new(arch, GgmlDType::Q8_0), &dir);
        let (model, mut warm) = ours(&path, 128);
        let vocab = tiny::vocab().0.len() as u32;
        let mut rng = fastrand::Rng::with_seed(3);
        let mut held = random_tokens(11, 40, vocab);
        logits(&model, &mut warm, &held);
        for round in 0..25 {
            // Keep a random prefix, then extend with fresh tokens (in one or two chunks).
            let k = rng.usize(0..=held.len());
            warm.truncate(k);
            held.truncate(k);
            let extra = random_tokens(100 + round, rng.usize(1..20), vocab);
            let split = rng.usize(0..extra.len());
            if split > 0 {
                logits(&model, &mut warm, &extra[..split]);
            }
            let got = logits(&model, &mut warm, &extra[split..]);
            held.extend_from_slice(&extra);
            assert_eq!(warm.tokens(), held.as_slice());
            let (_, mut cold) = ours(&path, 128);
            let expected = logits(&model, &mut cold, &held);
            let diff = common::max_abs_diff(&expected, &got);
            assert!(diff < TOLERANCE, "{arch} round {round} (kept {k}): max |logit diff| {diff}");
            if held.len() > 100 {
                warm.truncate(10);
                held.truncate(10);
            }
        }
    }
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("infill-model-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
