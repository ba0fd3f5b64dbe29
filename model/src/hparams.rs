//! Hyperparameters read from GGUF metadata (`<arch>.block_count`, ...), with the
//! defaults each architecture's [`ArchTraits`] gives where a key is optional.

use crate::arch::{ArchTraits, Architecture};
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
    /// Width of one head (`attention.key_length`, else `n_embd / n_head`).
    pub head_dim: usize,
    /// Vocabulary size (rows of `token_embd`).
    pub vocab_size: usize,
    /// Positions the model was trained for.
    pub context_length: usize,
    /// The norms' epsilon (RMS or layer norm, as the architecture has it).
    pub norm_eps: f64,
    /// RoPE base frequency.
    pub rope_base: f32,
    /// RoPE position scale of the layers that see everything (`1 / rope.scaling.factor`
    /// with linear scaling, else 1).
    pub rope_scale: f32,
    /// Sliding-window attention, where the model has it.
    pub window: Option<Window>,
    /// Queries are multiplied by this before attention.
    pub attn_scale: f32,
    /// Attention scores soft-capped at this value (`c * tanh(s / c)`).
    pub attn_softcap: Option<f32>,
    /// Output logits soft-capped at this value.
    pub final_softcap: Option<f32>,
}

/// Which layers attend to a window of recent positions, and how they rotate.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Positions a windowed layer sees: its own and the `size - 1` before it.
    pub size: usize,
    /// For each layer, whether it is windowed.
    pub layers: Vec<bool>,
    /// The RoPE base of windowed layers.
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
        let traits = architecture.traits();
        let key = |k: &str| format!("{arch_name}.{k}");
        let n_layer = gguf.positive(&key("block_count"))?;
        // Every layer has tensors of its own, and per-layer tables are allocated before
        // any tensor is read: a count past the file's tensors is corrupt, not a reason to
        // ask for terabytes (found by the `gguf` fuzz target: the process was killed).
        if n_layer > gguf.tensor_count() {
            let problem = format!("is {n_layer}, but the file has only {} tensors", gguf.tensor_count());
            return Err(gguf.metadata_error(&key("block_count"), problem));
        }
        let n_head = gguf.positive(&key("attention.head_count"))?;
        let n_kv_head = match gguf.opt_u64(&key("attention.head_count_kv"))? {
            None => n_head,
            Some(0) => return Err(gguf.metadata_error(&key("attention.head_count_kv"), "must be greater than zero")),
            Some(n) => n as usize,
        };
        let n_embd = gguf.positive(&key("embedding_length"))?;
        let n_ff = gguf.positive(&key("feed_forward_length"))?;
        let context_length = gguf.positive(&key("context_length"))?;
        if n_head % n_kv_head != 0 {
            return Err(gguf.metadata_error(
                &key("attention.head_count_kv"),
                format!("({n_kv_head}) must divide the head count ({n_head})"),
            ));
        }
        let head_dim = match gguf.opt_u64(&key("attention.key_length"))? {
            Some(0) => return Err(gguf.metadata_error(&key("attention.key_length"), "must be greater than zero")),
            Some(n) => n as usize,
            None if n_embd % n_head != 0 => {
                return Err(gguf.metadata_error(
                    &key("embedding_length"),
                    format!("({n_embd}) must be a multiple of the head count ({n_head})"),
                ))
            }
            None => n_embd / n_head,
        };
        if let Some(v) = gguf.opt_u64(&key("attention.value_length"))? {
            if v as usize != head_dim {
                return Err(gguf.metadata_error(
                    &key("attention.value_length"),
                    format!("is {v}; values as wide as keys ({head_dim}) are supported"),
                ));
            }
        }
        if head_dim % 2 != 0 {
            return Err(gguf.metadata_error(&key("attention.key_length"), format!("({head_dim}) must be even")));
        }
        if let Some(rope_dim) = gguf.opt_u64(&key("rope.dimension_count"))? {
            if rope_dim as usize != head_dim {
                return Err(gguf.metadata_error(
                    &key("rope.dimension_count"),
                    format!("is {rope_dim}; partial rotary embeddings (head width {head_dim}) are not supported"),
                ));
            }
        }
        let eps_key = key(traits.norm.epsilon_key());
        let norm_eps = gguf.opt_f64(&eps_key)?.ok_or_else(|| gguf.metadata_error(&eps_key, "is missing"))?;
        let rope_base = gguf.opt_f64(&key("rope.freq_base"))?.unwrap_or(10_000.0) as f32;
        let rope_scale = match gguf.opt_str(&key("rope.scaling.type")) {
            None | Some("none") => 1.0,
            Some("linear") => match gguf.opt_f64(&key("rope.scaling.factor"))? {
                Some(f) if f > 0.0 => 1.0 / f as f32,
                _ => 1.0,
            },
            // YaRN and others change rotation only past the trained context (as we use it).
            Some(_) => 1.0,
        };
        let embd_dims = gguf.tensor_dims("token_embd.weight")?;
        let vocab_size = match gguf.opt_u64(&key("vocab_size"))? {
            Some(n) => n as usize,
            None => embd_dims.first().copied().unwrap_or(0),
        };
        let window = read_window(gguf, &traits, arch_name, n_layer, rope_base)?;
        let wide = traits.wide_scale_at_layers == Some(n_layer);
        let attn_scale = 1.0 / (if wide { (n_embd / n_head) as f32 } else { head_dim as f32 }).sqrt();
        let softcap = |k: &str, default: Option<f32>| -> Result<Option<f32>> {
            Ok(match gguf.opt_f64(&key(k))? {
                Some(c) if c > 0.0 => Some(c as f32),
                Some(_) => None,
                None => default,
            })
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
            norm_eps,
            rope_base,
            rope_scale,
            window,
            attn_scale,
            attn_softcap: softcap("attn_logit_softcapping", traits.attn_softcap)?,
            final_softcap: softcap("final_logit_softcapping", traits.final_softcap)?,
        })
    }

    /// Width of all query heads together.
    pub fn q_width(&self) -> usize {
        self.n_head * self.head_dim
    }

    /// Width of all key (or value) heads together.
    pub fn kv_width(&self) -> usize {
        self.n_kv_head * self.head_dim
    }

    /// The window layer `layer` attends within, if it is windowed.
    pub fn window_of(&self, layer: usize) -> Option<usize> {
        let w = self.window.as_ref()?;
        w.layers.get(layer).copied().unwrap_or(false).then_some(w.size)
    }
}

/// The sliding window as the architecture and the file say (`None`: every layer sees
/// everything).
fn read_window(
    gguf: &GgufFile,
    traits: &ArchTraits,
    arch: &str,
    n_layer: usize,
    rope_base: f32,
) -> Result<Option<Window>> {
    let Some(sliding) = traits.sliding else { return Ok(None) };
    let key = |k: &str| format!("{arch}.{k}");
    let size = match gguf.opt_u64(&key("attention.sliding_window"))? {
        Some(n) => n as usize,
        None => sliding.default_window.unwrap_or(0),
    };
    if size == 0 {
        return Ok(None);
    }
    let pattern_key = key("attention.sliding_window_pattern");
    let layers = match gguf.value(&pattern_key) {
        Some(v) if v.to_vec().is_ok() => {
            let flags = gguf.opt_ints(&pattern_key).ok().flatten();
            let bools: Option<Vec<bool>> = match flags {
                Some(ints) => Some(ints.iter().map(|&i| i != 0).collect()),
                None => v.to_vec().ok().and_then(|items| items.iter().map(|i| i.to_bool().ok()).collect()),
            };
            match bools {
                Some(b) if b.len() == n_layer => b,
                _ => return Err(gguf.metadata_error(&pattern_key, format!("must be {n_layer} flags, one per layer"))),
            }
        }
        _ => {
            let pattern = gguf.opt_u64(&pattern_key)?.map_or(sliding.pattern, |p| p as usize);
            (0..n_layer).map(|il| pattern == 0 || il % pattern < pattern - 1).collect()
        }
    };
    let swa_default = if sliding.swa_base_is_global { rope_base } else { 10_000.0 };
    let swa_base = gguf.opt_f64(&key("rope.freq_base_swa"))?.map_or(swa_default, |b| b as f32);
    Ok(Some(Window { size, layers, rope_base: swa_base }))
}
