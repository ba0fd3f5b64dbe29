//! Hyperparameters read from GGUF metadata (`<arch>.block_count`, ...).

use crate::arch::Architecture;
use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;

/// The shape of a decoder-only transformer.
#[derive(Debug, Clone, PartialEq)]
pub struct HParams {
    /// Which architecture the file declares.
    pub architecture: Architecture,
    /// Transformer blocks.
    pub n_layer: usize,
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads (grouped-query attention when fewer than `n_head`).
    pub n_kv_head: usize,
    /// Model width.
    pub n_embd: usize,
    /// Feed-forward width.
    pub n_ff: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Vocabulary size (rows of `token_embd`).
    pub vocab_size: usize,
    /// Positions the model was trained for.
    pub context_length: usize,
    /// RMS-norm epsilon.
    pub rms_eps: f64,
    /// RoPE base frequency.
    pub rope_base: f32,
}

impl HParams {
    /// Reads and checks the hyperparameters; errors name the missing or bad key.
    pub fn read(gguf: &GgufFile) -> Result<HParams> {
        let arch_name = gguf
            .opt_str("general.architecture")
            .ok_or_else(|| gguf.metadata_error("general.architecture", "is missing"))?;
        let architecture = Architecture::from_name(arch_name).ok_or_else(|| ModelError::UnsupportedArchitecture {
            path: gguf.path().to_owned(),
            architecture: arch_name.to_owned(),
        })?;
        let key = |k: &str| format!("{arch_name}.{k}");
        let n_layer = gguf.positive(&key("block_count"))?;
        let n_head = gguf.positive(&key("attention.head_count"))?;
        let n_kv_head = match gguf.opt_u64(&key("attention.head_count_kv"))? {
            None => n_head,
            Some(0) => return Err(gguf.metadata_error(&key("attention.head_count_kv"), "must be greater than zero")),
            Some(n) => n as usize,
        };
        let n_embd = gguf.positive(&key("embedding_length"))?;
        let n_ff = gguf.positive(&key("feed_forward_length"))?;
        let context_length = gguf.positive(&key("context_length"))?;
        if n_embd % n_head != 0 {
            return Err(gguf.metadata_error(
                &key("embedding_length"),
                format!("({n_embd}) must be a multiple of the head count ({n_head})"),
            ));
        }
        if n_head % n_kv_head != 0 {
            return Err(gguf.metadata_error(
                &key("attention.head_count_kv"),
                format!("({n_kv_head}) must divide the head count ({n_head})"),
            ));
        }
        let head_dim = n_embd / n_head;
        if let Some(rope_dim) = gguf.opt_u64(&key("rope.dimension_count"))? {
            if rope_dim as usize != head_dim {
                return Err(gguf.metadata_error(
                    &key("rope.dimension_count"),
                    format!("is {rope_dim}; partial rotary embeddings (head width {head_dim}) are not supported"),
                ));
            }
        }
        let rms_eps = gguf
            .opt_f64(&key("attention.layer_norm_rms_epsilon"))?
            .ok_or_else(|| gguf.metadata_error(&key("attention.layer_norm_rms_epsilon"), "is missing"))?;
        let rope_base = gguf.opt_f64(&key("rope.freq_base"))?.unwrap_or(10_000.0) as f32;
        let embd_dims = gguf.tensor_dims("token_embd.weight")?;
        let vocab_size = match gguf.opt_u64(&key("vocab_size"))? {
            Some(n) => n as usize,
            None => embd_dims.first().copied().unwrap_or(0),
        };
        Ok(HParams {
            architecture,
            n_layer,
            n_head,
            n_kv_head,
            n_embd,
            n_ff,
            head_dim,
            vocab_size,
            context_length,
            rms_eps,
            rope_base,
        })
    }
}
