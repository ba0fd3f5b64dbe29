//! candle-transformers' implementations (`quantized_llama`, `quantized_qwen2`) as the
//! reference our forward pass is compared with.

use std::fs::File;
use std::path::Path;

use candle_core::quantized::gguf_file;
use candle_core::{Device, Tensor};
use candle_transformers::models::{quantized_llama, quantized_qwen2};

/// A reference model of the file's architecture.
pub enum Reference {
    Llama(quantized_llama::ModelWeights),
    Qwen2(quantized_qwen2::ModelWeights),
}

impl Reference {
    /// Loads `path`. candle decides between quantized and dequantized products when a
    /// model is built, from `CANDLE_DEQUANTIZE_ALL` as the building thread first saw it.
    pub fn load(path: &Path) -> Reference {
        let mut file = File::open(path).expect("open");
        let content = gguf_file::Content::read(&mut file).expect("read gguf");
        let arch = content.metadata["general.architecture"].to_string().expect("arch").clone();
        match arch.as_str() {
            "llama" => Reference::Llama(
                quantized_llama::ModelWeights::from_gguf(content, &mut file, &Device::Cpu).expect("ref llama"),
            ),
            "qwen2" => Reference::Qwen2(
                quantized_qwen2::ModelWeights::from_gguf(content, &mut file, &Device::Cpu).expect("ref qwen2"),
            ),
            other => panic!("no reference for {other}"),
        }
    }

    /// Loads `path` on a fresh thread, with dequantized weights and f32 products when
    /// `exact` (candle reads `CANDLE_DEQUANTIZE_ALL` once per thread). Callers must not
    /// race another thread on the variable.
    pub fn load_on_fresh_thread(path: &Path, exact: bool) -> Reference {
        if exact {
            std::env::set_var("CANDLE_DEQUANTIZE_ALL", "1");
        } else {
            std::env::remove_var("CANDLE_DEQUANTIZE_ALL");
        }
        let model = std::thread::scope(|s| s.spawn(|| Reference::load(path)).join().expect("reference"));
        std::env::remove_var("CANDLE_DEQUANTIZE_ALL");
        model
    }

    /// Logits after the last of `tokens`, placed at positions `pos..`.
    pub fn forward(&mut self, tokens: &[u32], pos: usize) -> Vec<f32> {
        let input = Tensor::new(tokens, &Device::Cpu).expect("ids").unsqueeze(0).expect("batch");
        let logits = match self {
            Reference::Llama(m) => m.forward(&input, pos),
            Reference::Qwen2(m) => m.forward(&input, pos),
        }
        .expect("reference forward");
        logits.squeeze(0).expect("squeeze").to_vec1().expect("vec")
    }
}
