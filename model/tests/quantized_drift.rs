//! Our forward pass against candle-transformers' `quantized_llama` with quantized
//! matrix products, as users run it. Activations are rounded to 8 bits before each
//! product, so last-bit differences in attention sums can flip a rounding; the
//! outputs must still agree on every greedy token and stay within a small bound.

mod common;

use std::fs::File;

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama;
use infill_model::{GgufFile, HParams, KvCache, ModelTokenizer, Transformer};

/// Observed: at most 0.39 on the test model; a wrong attention gives several units.
const BOUND: f32 = 1.0;

#[test]
fn the_real_model_agrees_with_quantized_llama_token_for_token() {
    let path = common::test_model();
    let mut gguf = GgufFile::open(&path).expect("open");
    let hp = HParams::read(&gguf).expect("hparams");
    let tokenizer = ModelTokenizer::load(&gguf).expect("tokenizer");
    let ours = Transformer::load(&mut gguf, &hp, 256, &Device::Cpu).expect("load");
    let mut cache = KvCache::new(&hp, 256, &Device::Cpu).expect("cache");
    let mut file = File::open(&path).expect("open");
    let content = gguf_file::Content::read(&mut file).expect("gguf");
    let mut reference = quantized_llama::ModelWeights::from_gguf(content, &mut file, &Device::Cpu).expect("reference");
    let code = "fn parse_header(line: &str) -> Option<(String, String)> {\n    let (name, value) = line.split_once(':')?;\n";
    let mut input = tokenizer.encode(code).expect("encode");
    let mut pos = 0;
    for step in 0..12 {
        let ids = Tensor::new(input.as_slice(), &Device::Cpu).expect("ids").unsqueeze(0).expect("batch");
        let expected: Vec<f32> = reference.forward(&ids, pos).expect("reference").squeeze(0).expect("squeeze").to_vec1().expect("vec");
        let got: Vec<f32> = ours.forward(&input, &mut cache).expect("ours").to_vec1().expect("vec");
        let diff = common::max_abs_diff(&expected, &got);
        let (a, b) = (argmax(&expected), argmax(&got));
        assert_eq!(a, b, "step {step}: the greedy token differs (max |logit diff| {diff})");
        assert!(diff < BOUND, "step {step}: max |logit diff| {diff}");
        pos += input.len();
        input = vec![a];
    }
}

fn argmax(v: &[f32]) -> u32 {
    v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i as u32)
}
