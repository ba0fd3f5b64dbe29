//! One transformer block's weights, read by the names llama.cpp's converters give
//! them (`blk.N.*`), and the parts of its forward pass every architecture shares: the
//! norms, the projections with their optional biases, and the feed-forward network.
//!
//! As llama.cpp does, a fused `attn_qkv` (phi3) is used where the file has one, and
//! biases wherever the file has them; what an architecture requires beyond that (q/k
//! norms, post norms, layer-norm biases) comes from its [`ArchTraits`].

use std::sync::Arc;

use candle_core::{Device, Result as CResult, Tensor};

use crate::arch::{ArchTraits, Ffn, Norm};
use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;
use crate::hparams::HParams;
use crate::linear::Projections;

/// A norm's weight and, for layer norms, its bias.
pub(crate) struct NormWeights {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl NormWeights {
    /// Reads `<name>.weight` (and `<name>.bias` for layer norms).
    pub(crate) fn read(gguf: &mut GgufFile, name: &str, kind: Norm, width: usize, device: &Device) -> Result<Self> {
        let weight = dense(gguf, &format!("{name}.weight"), &[width], device)?;
        let bias = match kind {
            Norm::Rms => None,
            Norm::Layer => Some(dense(gguf, &format!("{name}.bias"), &[width], device)?),
        };
        Ok(NormWeights { weight, bias })
    }

    /// The norm of `x` over its last dimension.
    pub(crate) fn apply(&self, x: &Tensor, eps: f64) -> CResult<Tensor> {
        match &self.bias {
            None => candle_nn::ops::rms_norm(x, &self.weight, eps as f32),
            Some(bias) => candle_nn::ops::layer_norm(x, &self.weight, bias, eps as f32),
        }
    }
}

/// A projection and its bias, if the file has one.
pub(crate) struct Linear {
    pub(crate) proj: Projections,
    pub(crate) bias: Option<Tensor>,
}

impl Linear {
    /// `x` projected, the bias added.
    pub(crate) fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        let y = self.proj.forward_one(x)?;
        match &self.bias {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }
}

/// One block's weights.
pub(crate) struct Layer {
    pub(crate) attn_norm: NormWeights,
    /// Query, key and value projections, in that order (three tensors or one fused).
    pub(crate) qkv: Projections,
    /// The query, key and value biases one after the other, where the file has them.
    pub(crate) qkv_bias: Option<Vec<f32>>,
    /// Per-head RMS-norm weights of queries and keys (qwen3, gemma3).
    pub(crate) qk_norm: Option<(Tensor, Tensor)>,
    pub(crate) wo: Linear,
    /// RMS norm of the attention output before the residual (gemma2, gemma3).
    pub(crate) post_attn_norm: Option<Tensor>,
    pub(crate) ffn_norm: NormWeights,
    /// Gate and up projections (gated networks: two tensors or one fused), or up alone.
    pub(crate) up: Projections,
    pub(crate) up_bias: Option<Tensor>,
    pub(crate) down: Linear,
    /// RMS norm of the feed-forward output before the residual (gemma2, gemma3).
    pub(crate) post_ffn_norm: Option<Tensor>,
}

impl Layer {
    /// Reads block `i`, checking every shape against the hyperparameters.
    pub(crate) fn read(
        gguf: &mut GgufFile,
        hp: &HParams,
        traits: &ArchTraits,
        i: usize,
        device: &Device,
    ) -> Result<Self> {
        let name = |t: &str| format!("blk.{i}.{t}");
        let (embd, q, kv, ff) = (hp.n_embd, hp.q_width(), hp.kv_width(), hp.n_ff);
        let fused_qkv = gguf.has_tensor(&name("attn_qkv.weight"));
        let qkv = if fused_qkv {
            let t = Arc::new(gguf.tensor(&name("attn_qkv.weight"), &[q + 2 * kv, embd], device)?);
            Projections::split(t, vec![q, kv, kv], device)
                .map_err(gguf.compute_error(format!("preparing {}", name("attn_qkv.weight"))))?
        } else {
            projections(
                gguf,
                &[
                    (name("attn_q.weight"), [q, embd]),
                    (name("attn_k.weight"), [kv, embd]),
                    (name("attn_v.weight"), [kv, embd]),
                ],
                device,
            )?
        };
        let qkv_bias = if gguf.has_tensor(&name("attn_qkv.bias")) {
            Some(rows(gguf, &name("attn_qkv.bias"), q + 2 * kv, device)?)
        } else if gguf.has_tensor(&name("attn_q.bias")) {
            let mut all = rows(gguf, &name("attn_q.bias"), q, device)?;
            all.extend(rows(gguf, &name("attn_k.bias"), kv, device)?);
            all.extend(rows(gguf, &name("attn_v.bias"), kv, device)?);
            Some(all)
        } else {
            None
        };
        let qk_norm = if traits.qk_norm {
            Some((
                dense(gguf, &name("attn_q_norm.weight"), &[hp.head_dim], device)?,
                dense(gguf, &name("attn_k_norm.weight"), &[hp.head_dim], device)?,
            ))
        } else {
            None
        };
        let post = |gguf: &mut GgufFile, t: &str| -> Result<Option<Tensor>> {
            if traits.post_norms {
                dense(gguf, &name(t), &[embd], device).map(Some)
            } else {
                Ok(None)
            }
        };
        let post_attn_norm = post(gguf, "post_attention_norm.weight")?;
        let post_ffn_norm = post(gguf, "post_ffw_norm.weight")?;
        let up = match traits.ffn {
            Ffn::Gelu => projections(gguf, &[(name("ffn_up.weight"), [ff, embd])], device)?,
            Ffn::SiluGated | Ffn::GeluGated
                if !gguf.has_tensor(&name("ffn_gate.weight"))
                    && gguf.tensor_dims(&name("ffn_up.weight")).ok() == Some(vec![2 * ff, embd]) =>
            {
                // The gate is the first half of a fused `ffn_up` (phi3).
                let t = Arc::new(gguf.tensor(&name("ffn_up.weight"), &[2 * ff, embd], device)?);
                Projections::split(t, vec![ff, ff], device)
                    .map_err(gguf.compute_error(format!("preparing {}", name("ffn_up.weight"))))?
            }
            Ffn::SiluGated | Ffn::GeluGated => projections(
                gguf,
                &[(name("ffn_gate.weight"), [ff, embd]), (name("ffn_up.weight"), [ff, embd])],
                device,
            )?,
        };
        Ok(Layer {
            attn_norm: NormWeights::read(gguf, &name("attn_norm"), traits.norm, embd, device)?,
            qkv,
            qkv_bias,
            qk_norm,
            wo: linear(gguf, &name("attn_output"), [embd, q], device)?,
            post_attn_norm,
            ffn_norm: NormWeights::read(gguf, &name("ffn_norm"), traits.norm, embd, device)?,
            up_bias: optional_dense(gguf, &name("ffn_up.bias"), ff, device)?,
            up,
            down: linear(gguf, &name("ffn_down"), [embd, ff], device)?,
            post_ffn_norm,
        })
    }

    /// Every projection of the block (for sizes and the kernel log).
    pub(crate) fn projections(&self) -> [&Projections; 4] {
        [&self.qkv, &self.wo.proj, &self.up, &self.down.proj]
    }

    /// The feed-forward network on the normed `h`.
    pub(crate) fn feed_forward(&self, h: &Tensor, ffn: Ffn) -> CResult<Tensor> {
        let inner = match ffn {
            Ffn::Gelu => {
                let up = self.up.forward_one(h)?;
                let up = match &self.up_bias {
                    Some(b) => up.broadcast_add(b)?,
                    None => up,
                };
                super::gelu::gelu_times(&up, None)?
            }
            Ffn::SiluGated | Ffn::GeluGated => {
                let [gate, up] = <[Tensor; 2]>::try_from(self.up.forward(h)?).map_err(|parts| {
                    candle_core::Error::Msg(format!("expected gate and up projections, found {}", parts.len()))
                })?;
                if ffn == Ffn::SiluGated {
                    (candle_nn::ops::silu(&gate)? * up)?
                } else {
                    super::gelu::gelu_times(&gate, Some(&up))?
                }
            }
        };
        self.down.forward(&inner)
    }
}

/// Adds `post`'s RMS norm of `y` (when there is one) to the residual `x`.
pub(crate) fn residual(x: &Tensor, y: Tensor, post: Option<&Tensor>, eps: f64) -> CResult<Tensor> {
    match post {
        Some(w) => x + candle_nn::ops::rms_norm(&y, w, eps as f32)?,
        None => x + y,
    }
}

/// The projections by the named weights (`[out, in]` each), checked against `dims`.
pub(crate) fn projections(gguf: &mut GgufFile, parts: &[(String, [usize; 2])], device: &Device) -> Result<Projections> {
    let mut tensors = Vec::with_capacity(parts.len());
    for (name, dims) in parts {
        tensors.push(Arc::new(gguf.tensor(name, dims, device)?));
    }
    let names: Vec<&str> = parts.iter().map(|(name, _)| name.as_str()).collect();
    Projections::new(tensors, device).map_err(gguf.compute_error(format!("preparing {}", names.join(", "))))
}

/// `<name>.weight` (`dims`) and `<name>.bias` when the file has it.
fn linear(gguf: &mut GgufFile, name: &str, dims: [usize; 2], device: &Device) -> Result<Linear> {
    let proj = projections(gguf, &[(format!("{name}.weight"), dims)], device)?;
    Ok(Linear { proj, bias: optional_dense(gguf, &format!("{name}.bias"), dims[0], device)? })
}

/// A dense vector that may be absent.
fn optional_dense(gguf: &mut GgufFile, name: &str, width: usize, device: &Device) -> Result<Option<Tensor>> {
    if gguf.has_tensor(name) {
        dense(gguf, name, &[width], device).map(Some)
    } else {
        Ok(None)
    }
}

/// A dense tensor, dequantized.
pub(crate) fn dense(gguf: &mut GgufFile, name: &str, dims: &[usize], device: &Device) -> Result<Tensor> {
    let t = gguf.tensor(name, dims, device)?;
    t.dequantize(device).map_err(gguf.compute_error(format!("reading `{name}`")))
}

/// A dense vector as plain values.
fn rows(gguf: &mut GgufFile, name: &str, width: usize, device: &Device) -> Result<Vec<f32>> {
    dense(gguf, name, &[width], device)?.to_vec1::<f32>().map_err(|_| ModelError::UnsupportedQuantization {
        path: gguf.path().to_owned(),
        reason: format!("`{name}` cannot be read as values"),
    })
}

/// RMS-norms each `width`-value chunk of `x` in place and scales it by `weight`
/// (per-head query and key norms on the CPU path).
pub(crate) fn rms_norm_chunks(x: &mut [f32], weight: &[f32], eps: f64) {
    let width = weight.len();
    for chunk in x.chunks_exact_mut(width) {
        let mean = chunk.iter().map(|v| f64::from(*v) * f64::from(*v)).sum::<f64>() / width as f64;
        let inv = (1.0 / (mean + eps).sqrt()) as f32;
        for (v, w) in chunk.iter_mut().zip(weight) {
            *v *= inv * w;
        }
    }
}
