//! Our forward pass for decoder-only transformers (llama and qwen2), built from candle
//! ops and our quantized projections ([`crate::linear`]), over a preallocated
//! [`KvCache`].
//!
//! Why not candle-transformers' `quantized_llama`: its cache grows with `Tensor::cat`
//! on every token (a copy of the whole cache per step) and cannot be cut back to a
//! shared prefix. Here keys and values are written in place, attention reads the
//! filled part of the cache without copying it, and grouped-query heads share their
//! keys and values instead of repeating them.

use std::sync::Arc;

use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QTensor};
use candle_core::{DType, Device, IndexOp, Result as CResult, Tensor, D};

use crate::attention::Heads;
use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;
use crate::hparams::HParams;
use crate::kv_cache::{KvCache, LayerCache};
use crate::linear::Projections;

/// Token embeddings kept quantized; rows are dequantized when looked up (a
/// dequantized copy of a 49k x 576 table would cost 113 MB).
enum Embeddings {
    /// The file's table, in its file format.
    Table { table: Arc<QTensor>, row_bytes: usize, dtype: GgmlDType, width: usize },
    /// Tied to the output projection, which holds the table packed: rows come from there
    /// and the table is not kept twice.
    Tied { width: usize },
}

impl Embeddings {
    fn lookup(&self, tokens: &[u32], output: &Projections, device: &Device) -> CResult<Tensor> {
        let (table, row_bytes, dtype, width) = match self {
            Embeddings::Table { table, row_bytes, dtype, width } => (table, *row_bytes, *dtype, *width),
            Embeddings::Tied { width } => {
                let Some(matrix) = output.packed() else {
                    candle_core::bail!("tied embeddings without a packed output projection");
                };
                let mut values = vec![0f32; tokens.len() * width];
                for (&token, row) in tokens.iter().zip(values.chunks_exact_mut(*width)) {
                    if token as usize >= matrix.rows() {
                        candle_core::bail!("token id {token} is outside the vocabulary ({})", matrix.rows());
                    }
                    matrix.dequantize_row(token as usize, row);
                }
                return Tensor::from_vec(values, (1, tokens.len(), *width), device);
            }
        };
        let data = table.data()?;
        let rows = table.shape().dims()[0];
        let mut values = Vec::with_capacity(tokens.len() * width);
        for &token in tokens {
            let row = token as usize;
            if row >= rows {
                candle_core::bail!("token id {token} is outside the vocabulary ({rows})");
            }
            let bytes = &data[row * row_bytes..(row + 1) * row_bytes];
            let q = qtensor_from_ggml(dtype, bytes, vec![width], &Device::Cpu)?;
            values.extend(q.dequantize(&Device::Cpu)?.to_vec1::<f32>()?);
        }
        Tensor::from_vec(values, (1, tokens.len(), width), device)
    }
}

struct Layer {
    attn_norm: Tensor,
    /// Query, key and value projections, in that order.
    qkv: Projections,
    wo: Projections,
    /// Query, key and value biases (qwen2).
    bias: Option<(Tensor, Tensor, Tensor)>,
    /// The same biases as plain values, for the CPU path.
    bias_rows: Option<(Vec<f32>, Vec<f32>, Vec<f32>)>,
    ffn_norm: Tensor,
    /// Gate and up projections, in that order.
    gate_up: Projections,
    down: Projections,
}

/// The weights of one model and the rotary tables for `positions` positions.
pub struct Transformer {
    hp: HParams,
    rope_neox: bool,
    embeddings: Embeddings,
    layers: Vec<Layer>,
    norm: Tensor,
    output: Projections,
    cos: Tensor,
    sin: Tensor,
    /// The rotary tables as plain values (`[positions][head_dim / 2]`), for the CPU path.
    rope_rows: (Vec<f32>, Vec<f32>),
    device: Device,
}

impl Transformer {
    /// Loads the weights, checking each tensor's shape against the hyperparameters.
    /// Rotary tables cover `positions` positions (the KV cache capacity).
    pub fn load(gguf: &mut GgufFile, hp: &HParams, positions: usize, device: &Device) -> Result<Transformer> {
        let traits = hp.architecture.traits();
        let (embd, kv) = (hp.n_embd, hp.n_kv_head * hp.head_dim);
        let table = gguf.tensor("token_embd.weight", &[hp.vocab_size, embd], device)?;
        let dtype = table.dtype();
        let row_bytes = embd / dtype.block_size() * dtype.type_size();
        if embd % dtype.block_size() != 0 {
            return Err(ModelError::UnsupportedQuantization {
                path: gguf.path().to_owned(),
                reason: format!("token_embd rows of {embd} values do not fill whole {dtype:?} blocks"),
            });
        }
        let table = Arc::new(table);
        let output = if gguf.has_tensor("output.weight") {
            projections(gguf, &[("output.weight".into(), [hp.vocab_size, embd])], device)?
        } else {
            // Tied embeddings: the output projection is the embedding table.
            Projections::new(vec![table.clone()], device)
                .map_err(gguf.compute_error("preparing tied output weights"))?
        };
        let embeddings = if output.packed().is_some() && !gguf.has_tensor("output.weight") {
            // The file's table is not kept: dropped here, before the layers are packed,
            // so the load's peak memory never holds it beside them.
            drop(table);
            Embeddings::Tied { width: embd }
        } else {
            Embeddings::Table { table, row_bytes, dtype, width: embd }
        };
        let norm = dense(gguf, "output_norm.weight", &[embd], device)?;
        let mut layers = Vec::with_capacity(hp.n_layer);
        for i in 0..hp.n_layer {
            let name = |t: &str| format!("blk.{i}.{t}");
            let bias = if traits.qkv_bias {
                Some((
                    dense(gguf, &name("attn_q.bias"), &[embd], device)?,
                    dense(gguf, &name("attn_k.bias"), &[kv], device)?,
                    dense(gguf, &name("attn_v.bias"), &[kv], device)?,
                ))
            } else {
                None
            };
            let bias_rows = match &bias {
                Some((q, k, v)) => {
                    let rows = |t: &Tensor| t.to_vec1::<f32>();
                    Some((rows(q), rows(k), rows(v)))
                }
                None => None,
            };
            let bias_rows = match bias_rows {
                Some((Ok(q), Ok(k), Ok(v))) => Some((q, k, v)),
                Some(_) => {
                    return Err(ModelError::UnsupportedQuantization {
                        path: gguf.path().to_owned(),
                        reason: format!("layer {i}'s attention biases cannot be read"),
                    })
                }
                None => None,
            };
            layers.push(Layer {
                bias_rows,
                attn_norm: dense(gguf, &name("attn_norm.weight"), &[embd], device)?,
                qkv: projections(
                    gguf,
                    &[
                        (name("attn_q.weight"), [embd, embd]),
                        (name("attn_k.weight"), [kv, embd]),
                        (name("attn_v.weight"), [kv, embd]),
                    ],
                    device,
                )?,
                wo: projections(gguf, &[(name("attn_output.weight"), [embd, embd])], device)?,
                bias,
                ffn_norm: dense(gguf, &name("ffn_norm.weight"), &[embd], device)?,
                gate_up: projections(
                    gguf,
                    &[(name("ffn_gate.weight"), [hp.n_ff, embd]), (name("ffn_up.weight"), [hp.n_ff, embd])],
                    device,
                )?,
                down: projections(gguf, &[(name("ffn_down.weight"), [embd, hp.n_ff])], device)?,
            });
        }
        log_kernels(&layers, &output);
        let (cos, sin) = rope_tables(hp, positions, device).map_err(gguf.compute_error("building rotary tables"))?;
        let rope_rows = cos
            .flatten_all()
            .and_then(|c| c.to_vec1::<f32>())
            .and_then(|c| Ok((c, sin.flatten_all()?.to_vec1::<f32>()?)))
            .map_err(gguf.compute_error("building rotary tables"))?;
        Ok(Transformer {
            hp: hp.clone(),
            rope_neox: traits.rope_neox,
            embeddings,
            layers,
            norm,
            output,
            cos,
            sin,
            rope_rows,
            device: device.clone(),
        })
    }

    /// The hyperparameters.
    pub fn hparams(&self) -> &HParams {
        &self.hp
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Bytes of projection weights one decode step reads (every layer's matrices and
    /// the output projection): what bounds decode speed by memory bandwidth.
    pub fn projection_bytes(&self) -> usize {
        let layers: usize =
            self.layers.iter().map(|l| l.qkv.bytes() + l.wo.bytes() + l.gate_up.bytes() + l.down.bytes()).sum();
        layers + self.output.bytes()
    }

    /// Most positions the rotary tables cover.
    pub fn positions(&self) -> usize {
        self.cos.dims()[0]
    }

    /// Runs `tokens` at positions `cache.len()..`, writing their keys and values into
    /// the cache, and returns the logits after the last one (`[vocab]`).
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> CResult<Tensor> {
        let pass = self.start_pass(tokens, cache)?;
        match self.run_pass(pass, cache, &|| false)? {
            Pass::Done(logits) => Ok(logits),
            Pass::Suspended(_) => candle_core::bail!("the forward pass was interrupted"),
        }
    }

    /// [`Transformer::forward`] returning the logits after every token (`[tokens][vocab]`):
    /// the drafts of speculative decoding are checked with them.
    pub fn forward_rows(&self, tokens: &[u32], cache: &mut KvCache) -> CResult<Vec<Vec<f32>>> {
        let mut pass = self.start_pass(tokens, cache)?;
        pass.all_rows = true;
        match self.run_pass(pass, cache, &|| false)? {
            Pass::Done(logits) => logits.reshape((tokens.len(), ()))?.to_vec2::<f32>(),
            Pass::Suspended(_) => candle_core::bail!("the forward pass was interrupted"),
        }
    }

    /// Begins a forward pass over `tokens` at positions `cache.len()..` (the embedding
    /// lookup); [`Transformer::run_pass`] runs its layers.
    pub fn start_pass(&self, tokens: &[u32], cache: &mut KvCache) -> CResult<Suspended> {
        let (seq, pos) = (tokens.len(), cache.len());
        if seq == 0 {
            candle_core::bail!("forward needs at least one token");
        }
        let end = pos + seq;
        if end > cache.capacity() || end > self.positions() {
            candle_core::bail!("{end} positions do not fit the cache ({})", cache.capacity());
        }
        let x = self.embeddings.lookup(tokens, &self.output, &self.device)?;
        Ok(Suspended { tokens: tokens.to_vec(), pos, epoch: cache.begin_pass(), x, layer: 0, all_rows: false })
    }

    /// Runs the layers a pass has left, asking `interrupt` before each: when it says
    /// stop, the pass is handed back suspended (its layers' keys and values written so
    /// far stay in the cache, unseen until the pass completes); when the last layer is
    /// done, the tokens join the cache and the logits after the last one come back.
    pub fn run_pass(&self, mut pass: Suspended, cache: &mut KvCache, interrupt: &dyn Fn() -> bool) -> CResult<Pass> {
        if !pass.fits(cache) {
            candle_core::bail!("the suspended pass no longer fits the cache");
        }
        let (seq, pos) = (pass.tokens.len(), pass.pos);
        let mask = if seq > 1 && !self.device.is_cpu() { Some(causal_mask(seq, pos, &self.device)?) } else { None };
        let cos = self.cos.narrow(0, pos, seq)?;
        let sin = self.sin.narrow(0, pos, seq)?;
        while pass.layer < self.layers.len() {
            if interrupt() {
                return Ok(Pass::Suspended(pass));
            }
            let layer = &self.layers[pass.layer];
            let heads = cache.heads;
            let x = &pass.x;
            let h = candle_nn::ops::rms_norm(x, &layer.attn_norm, self.hp.rms_eps as f32)?;
            let attn = match &mut cache.layers[pass.layer] {
                LayerCache::Cpu { keys, values } => self.attention_cpu(layer, &h, pos, &heads, keys, values)?,
                LayerCache::CpuExact { keys, values } => self.attention_cpu(layer, &h, pos, &heads, keys, values)?,
                LayerCache::Device { keys, values } => {
                    self.attention(layer, &h, pos, mask.as_ref(), (&cos, &sin), (keys, values))?
                }
            };
            let x = (x + attn)?;
            let h = candle_nn::ops::rms_norm(&x, &layer.ffn_norm, self.hp.rms_eps as f32)?;
            let [gate, up] = two(layer.gate_up.forward(&h)?)?;
            let ff = layer.down.forward_one(&(candle_nn::ops::silu(&gate)? * up)?)?;
            pass.x = (x + ff)?;
            pass.layer += 1;
        }
        cache.push_tokens(&pass.tokens);
        let x = candle_nn::ops::rms_norm(&pass.x, &self.norm, self.hp.rms_eps as f32)?;
        let rows = if pass.all_rows { x } else { x.i((.., seq - 1, ..))? };
        self.output.forward_one(&rows)?.squeeze(0).map(Pass::Done)
    }

    /// Moves cached keys and values as `moves` say (all layers), rotating each key by
    /// the distance it moves. Returns false when the cache is not one it can move (on a
    /// GPU): nothing was moved then.
    pub(crate) fn apply_moves(&self, cache: &mut KvCache, moves: &[crate::kv_shift::Move]) -> bool {
        if moves.is_empty() {
            return true;
        }
        let heads = cache.heads;
        for layer in &mut cache.layers {
            match layer {
                LayerCache::Cpu { keys, values } => self.move_layer(&heads, keys, values, moves),
                LayerCache::CpuExact { keys, values } => self.move_layer(&heads, keys, values, moves),
                LayerCache::Device { .. } => return false,
            }
        }
        cache.begin_pass();
        true
    }

    /// [`Transformer::apply_moves`] for one layer: every moved position is read first,
    /// then written, so moves may overlap.
    fn move_layer<E: crate::attention::Element>(
        &self,
        h: &Heads,
        keys: &mut [E],
        values: &mut [E],
        moves: &[crate::kv_shift::Move],
    ) {
        use crate::attention::TILE;
        let tiles = h.capacity.div_ceil(TILE);
        let key_at = |kv: usize, pos: usize, d: usize| (kv * tiles + pos / TILE) * h.dim * TILE + d * TILE + pos % TILE;
        let value_at = |kv: usize, pos: usize| (kv * tiles * TILE + pos) * h.dim;
        let (cos, sin) = (&self.rope_rows.0, &self.rope_rows.1);
        let mut k = vec![0f32; h.dim];
        let mut one = [0f32; 1];
        let mut staged: Vec<(usize, usize, Vec<f32>, Vec<E>)> = Vec::new();
        for m in moves {
            for i in 0..m.len {
                for kv in 0..h.n_kv {
                    for (d, x) in k.iter_mut().enumerate() {
                        E::widen(&keys[key_at(kv, m.from + i, d)..][..1], &mut one);
                        *x = one[0];
                    }
                    crate::attention::rotate(&mut k, m.to as i64 - m.from as i64, cos, sin, self.rope_neox);
                    let v = values[value_at(kv, m.from + i)..][..h.dim].to_vec();
                    staged.push((kv, m.to + i, k.clone(), v));
                }
            }
        }
        for (kv, pos, k, v) in staged {
            for (d, x) in k.into_iter().enumerate() {
                keys[key_at(kv, pos, d)] = E::from_f32(x);
            }
            values[value_at(kv, pos)..][..h.dim].copy_from_slice(&v);
        }
    }

    /// Attention on the CPU: q, k and v as plain rows, rotated, k and v stored in the
    /// f16 cache, and [`crate::attention::attend`] over it.
    fn attention_cpu<E: crate::attention::Element>(
        &self,
        layer: &Layer,
        h: &Tensor,
        pos: usize,
        heads: &Heads,
        keys: &mut [E],
        values: &mut [E],
    ) -> CResult<Tensor> {
        let hp = &self.hp;
        let (_, seq, _) = h.dims3()?;
        let [q, k, v] = <[Tensor; 3]>::try_from(layer.qkv.forward(h)?)
            .map_err(|parts| candle_core::Error::Msg(format!("expected q, k, v; found {} projections", parts.len())))?;
        let rows = |t: Tensor| t.flatten_all()?.to_vec1::<f32>();
        let (mut q, mut k, mut v) = (rows(q)?, rows(k)?, rows(v)?);
        if let Some(bias) = &layer.bias_rows {
            for (x, b) in [(&mut q, &bias.0), (&mut k, &bias.1), (&mut v, &bias.2)] {
                for row in x.chunks_exact_mut(b.len()) {
                    for (a, b) in row.iter_mut().zip(b) {
                        *a += b;
                    }
                }
            }
        }
        let half = hp.head_dim / 2;
        let (cos, sin) = (&self.rope_rows.0[..(pos + seq) * half], &self.rope_rows.1[..(pos + seq) * half]);
        crate::attention::rope(&mut q, hp.n_head, hp.head_dim, pos, cos, sin, self.rope_neox);
        crate::attention::rope(&mut k, hp.n_kv_head, hp.head_dim, pos, cos, sin, self.rope_neox);
        crate::attention::store(heads, keys, values, &k, &v, pos);
        let y = crate::attention::attend(heads, &q, seq, pos, keys, values);
        layer.wo.forward_one(&Tensor::from_vec(y, (1, seq, hp.n_embd), &self.device)?)
    }

    /// Attention on a GPU with candle's operations over the cache tensors.
    fn attention(
        &self,
        layer: &Layer,
        h: &Tensor,
        pos: usize,
        mask: Option<&Tensor>,
        (cos, sin): (&Tensor, &Tensor),
        (k_cache, v_cache): (&Tensor, &Tensor),
    ) -> CResult<Tensor> {
        let hp = &self.hp;
        let (_, seq, _) = h.dims3()?;
        let [mut q, mut k, mut v] = <[Tensor; 3]>::try_from(layer.qkv.forward(h)?)
            .map_err(|parts| candle_core::Error::Msg(format!("expected q, k, v; found {} projections", parts.len())))?;
        if let Some((bq, bk, bv)) = &layer.bias {
            q = q.broadcast_add(bq)?;
            k = k.broadcast_add(bk)?;
            v = v.broadcast_add(bv)?;
        }
        let heads = |t: Tensor, n: usize| t.reshape((1, seq, n, hp.head_dim))?.transpose(1, 2)?.contiguous();
        let rope = |t: &Tensor| {
            if self.rope_neox {
                candle_nn::rotary_emb::rope(t, cos, sin)
            } else {
                candle_nn::rotary_emb::rope_i(t, cos, sin)
            }
        };
        let q = rope(&heads(q, hp.n_head)?)?;
        let k = rope(&heads(k, hp.n_kv_head)?)?;
        let v = heads(v, hp.n_kv_head)?;
        k_cache.slice_set(&k, 2, pos)?;
        v_cache.slice_set(&v, 2, pos)?;
        let len = pos + seq;
        let keys = k_cache.narrow(2, 0, len)?;
        let values = v_cache.narrow(2, 0, len)?;
        // Heads h*g..(h+1)*g read kv head h: fold them into the rows of one matmul.
        let groups = hp.n_head / hp.n_kv_head;
        let q = q.reshape((1, hp.n_kv_head, groups * seq, hp.head_dim))?;
        let mut att = (q.matmul(&keys.t()?)? / (hp.head_dim as f64).sqrt())?;
        if let Some(mask) = mask {
            att = att.reshape((1, hp.n_kv_head, groups, seq, len))?.broadcast_add(mask)?.reshape((
                1,
                hp.n_kv_head,
                groups * seq,
                len,
            ))?;
        }
        let att = candle_nn::ops::softmax_last_dim(&att)?;
        let y = att.matmul(&values)?;
        let y = y.reshape((1, hp.n_head, seq, hp.head_dim))?.transpose(1, 2)?.reshape((1, seq, hp.n_embd))?;
        layer.wo.forward_one(&y)
    }
}

/// A forward pass stopped between layers, to be finished later (by whichever job
/// next needs these tokens at these positions).
pub struct Suspended {
    tokens: Vec<u32>,
    pos: usize,
    /// The cache's pass count when this pass began: any later pass or cut invalidates it.
    epoch: u64,
    /// The hidden state after `layer` layers.
    x: Tensor,
    layer: usize,
    /// Whether the logits after every token are wanted (else after the last only).
    all_rows: bool,
}

impl Suspended {
    /// The tokens it evaluates.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Whether it can still finish on `cache`: nothing else was written there since it began.
    pub fn fits(&self, cache: &KvCache) -> bool {
        cache.epoch() == self.epoch && cache.len() == self.pos
    }
}

/// How a forward pass ended.
pub enum Pass {
    /// The logits after the last token (`[vocab]`).
    Done(Tensor),
    /// Interrupted between layers.
    Suspended(Suspended),
}

/// Says in the log which kernel runs each weight format: ours, or candle's (slower).
fn log_kernels(layers: &[Layer], output: &Projections) {
    let mut counts: Vec<(String, bool, usize)> = Vec::new();
    let all = layers.iter().flat_map(|l| [&l.qkv, &l.wo, &l.gate_up, &l.down]).chain([output]);
    for (dtype, ours) in all.flat_map(Projections::formats) {
        let name = format!("{dtype:?}");
        match counts.iter_mut().find(|(n, o, _)| *n == name && *o == ours) {
            Some(entry) => entry.2 += 1,
            None => counts.push((name, ours, 1)),
        }
    }
    let kernel = crate::kernels::Isa::selected().name();
    let said: Vec<String> = counts
        .iter()
        .map(|(name, ours, n)| format!("{name} x{n}: {}", if *ours { kernel } else { "candle (no kernel of ours)" }))
        .collect();
    tracing::info!("weight kernels: {}", said.join(", "));
}

/// The projections by the named weights (`[out, in]` each), checked against `dims`.
fn projections(gguf: &mut GgufFile, parts: &[(String, [usize; 2])], device: &Device) -> Result<Projections> {
    let mut tensors = Vec::with_capacity(parts.len());
    for (name, dims) in parts {
        tensors.push(Arc::new(gguf.tensor(name, dims, device)?));
    }
    let names: Vec<&str> = parts.iter().map(|(name, _)| name.as_str()).collect();
    Projections::new(tensors, device).map_err(gguf.compute_error(format!("preparing {}", names.join(", "))))
}

/// The two tensors of a two-part projection.
fn two(parts: Vec<Tensor>) -> CResult<[Tensor; 2]> {
    <[Tensor; 2]>::try_from(parts)
        .map_err(|parts| candle_core::Error::Msg(format!("expected two projections, found {}", parts.len())))
}

fn dense(gguf: &mut GgufFile, name: &str, dims: &[usize], device: &Device) -> Result<Tensor> {
    let t = gguf.tensor(name, dims, device)?;
    t.dequantize(device).map_err(gguf.compute_error(format!("reading `{name}`")))
}

/// `cos` and `sin` of position x frequency, `[positions, head_dim / 2]`.
fn rope_tables(hp: &HParams, positions: usize, device: &Device) -> CResult<(Tensor, Tensor)> {
    let d = hp.head_dim;
    let theta: Vec<f32> = (0..d).step_by(2).map(|i| 1f32 / hp.rope_base.powf(i as f32 / d as f32)).collect();
    let theta = Tensor::new(theta.as_slice(), device)?;
    let idx = Tensor::arange(0, positions as u32, device)?.to_dtype(DType::F32)?.reshape((positions, 1))?;
    let angles = idx.matmul(&theta.reshape((1, theta.elem_count()))?)?;
    Ok((angles.cos()?, angles.sin()?))
}

/// Additive mask `[seq, pos + seq]`: query i (at position pos + i) sees keys up to pos + i.
fn causal_mask(seq: usize, pos: usize, device: &Device) -> CResult<Tensor> {
    let len = pos + seq;
    let mask: Vec<f32> =
        (0..seq).flat_map(|i| (0..len).map(move |j| if j > pos + i { f32::NEG_INFINITY } else { 0.0 })).collect();
    Tensor::from_vec(mask, (seq, len), device)
}

/// Index of the largest logit (greedy choice).
pub fn argmax(logits: &Tensor) -> CResult<u32> {
    logits.argmax(D::Minus1)?.to_scalar::<u32>()
}
