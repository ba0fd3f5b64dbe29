//! Our forward pass with quantized matrix products, as users run it, against the
//! exact result (candle-transformers' reference with every weight dequantized and f32
//! products) and against candle's own quantized products.
//!
//! Quantized products round the activations to 8 bits before each product, so both
//! implementations drift from the exact logits; ours (f32 activation scales where
//! ggml's are f16) must drift no more than candle's, and choose the same greedy tokens.
//! One test in this file: the tests switch `CANDLE_DEQUANTIZE_ALL`, which is
//! process-wide.

mod common;

use std::path::Path;

use candle_core::quantized::GgmlDType;
use candle_core::Device;
use common::reference::Reference;
use common::tiny::{self, Tiny};
use infill_model::{GgufFile, HParams, KvCache, ModelTokenizer, Transformer};

/// Summed over the steps: max |logit - exact| of ours and of candle's quantized path.
struct Drift {
    ours: f32,
    candle: f32,
}

/// Prefill of `prompt`, then greedy steps (following the exact model), comparing at
/// each step; the greedy tokens of ours and candle's quantized path must agree.
fn drift(path: &Path, prompt: &[u32], steps: usize) -> Drift {
    let mut exact = Reference::load_on_fresh_thread(path, true);
    let mut stock = Reference::load_on_fresh_thread(path, false);
    let mut gguf = GgufFile::open(path).expect("open");
    let hp = HParams::read(&gguf).expect("hparams");
    let ours = Transformer::load(&mut gguf, &hp, 256, &Device::Cpu).expect("load");
    let mut cache = KvCache::new(&hp, 256, &Device::Cpu).expect("cache");
    let (mut input, mut pos) = (prompt.to_vec(), 0);
    let mut total = Drift { ours: 0.0, candle: 0.0 };
    for step in 0..steps {
        let want = exact.forward(&input, pos);
        let theirs = stock.forward(&input, pos);
        let got: Vec<f32> = ours.forward(&input, &mut cache).expect("ours").to_vec1().expect("vec");
        let (d_ours, d_candle) = (common::max_abs_diff(&want, &got), common::max_abs_diff(&want, &theirs));
        eprintln!("{} step {step}: max |logit - exact|: ours {d_ours:.4}, candle {d_candle:.4}", path.display());
        assert_eq!(argmax(&got), argmax(&theirs), "{}: step {step}: the greedy token differs", path.display());
        total.ours += d_ours;
        total.candle += d_candle;
        pos += input.len();
        input = vec![argmax(&want)];
    }
    total
}

#[test]
fn quantized_products_drift_no_more_than_candles_and_agree_on_tokens() {
    // The real model: Q4_1 layers, Q8_0 embeddings tied to the output.
    let path = common::test_model();
    let tokenizer = ModelTokenizer::load(&GgufFile::open(&path).expect("open")).expect("tokenizer");
    let code =
        "fn parse_header(line: &str) -> Option<(String, String)> {\n    let (name, value) = line.split_once(':')?;\n";
    let real = drift(&path, &tokenizer.encode(code).expect("encode"), 12);
    assert!(
        real.ours <= 1.25 * real.candle,
        "real model: drift ours {} vs candle {} (sum of 12)",
        real.ours,
        real.candle
    );
    // Tiny random models of each architecture and each format our kernels take, tied
    // and untied.
    let dir = std::env::temp_dir().join(format!("infill-drift-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let vocab = tiny::vocab().0.len() as u32;
    for arch in ["llama", "qwen2"] {
        for (i, dtype) in [GgmlDType::Q4_0, GgmlDType::Q4_1, GgmlDType::Q4K, GgmlDType::Q8_0].into_iter().enumerate() {
            for tied in [true, false] {
                let spec = Tiny { tied_output: tied, seed: 10 + i as u64, ..Tiny::new(arch, dtype) };
                let path = tiny::write(&spec, &dir);
                let mut rng = fastrand::Rng::with_seed(i as u64);
                let prompt: Vec<u32> = (0..13).map(|_| rng.u32(0..vocab)).collect();
                let d = drift(&path, &prompt, 4);
                assert!(
                    d.ours <= 1.5 * d.candle + 1e-3,
                    "{arch} {dtype:?} tied={tied}: drift ours {} vs candle {}",
                    d.ours,
                    d.candle
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn argmax(v: &[f32]) -> u32 {
    v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i as u32)
}
