//! Our forward pass for decoder-only transformers (every architecture of
//! [`crate::arch`]; a block's weights and shared parts in `transformer/layer.rs`), built from candle
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
use candle_core::{Device, IndexOp, Result as CResult, Tensor, D};

use crate::arch::ArchTraits;
use crate::attention::{Heads, Scores};
use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;
use crate::hparams::HParams;
use crate::kv_cache::{KvCache, LayerCache};
use crate::linear::Projections;

mod gelu;
mod layer;
mod rope;

use layer::{Layer, NormWeights};
use rope::Rope;

/// Token embeddings kept quantized; rows are dequantized when looked up (a
/// dequantized copy of a 49k x 576 table would cost 113 MB).
enum Embeddings {
    /// The file's table, in its file format.
    Table { table: Arc<QTensor>, row_bytes: usize, dtype: GgmlDType, width: usize },
    /// Tied to the output projection, which holds the table for our kernels: rows come
    /// from there and the table is not kept twice.
    Tied { width: usize },
}

impl Embeddings {
    fn lookup(&self, tokens: &[u32], output: &Projections, device: &Device) -> CResult<Tensor> {
        let (table, row_bytes, dtype, width) = match self {
            Embeddings::Table { table, row_bytes, dtype, width } => (table, *row_bytes, *dtype, *width),
            Embeddings::Tied { width } => {
                let Some(rows) = output.readable_rows() else {
                    candle_core::bail!("tied embeddings without an output projection of our kernels");
                };
                let mut values = vec![0f32; tokens.len() * width];
                for (&token, row) in tokens.iter().zip(values.chunks_exact_mut(*width)) {
                    if token as usize >= rows {
                        candle_core::bail!("token id {token} is outside the vocabulary ({rows})");
                    }
                    output.read_row(token as usize, row)?;
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

/// The weights of one model and its rotary tables for `positions` positions.
pub struct Transformer {
    hp: HParams,
    traits: ArchTraits,
    embeddings: Embeddings,
    layers: Vec<Layer>,
    norm: NormWeights,
    output: Projections,
    /// The rotations: the model's, then (where windowed layers rotate otherwise) theirs.
    ropes: Vec<Rope>,
    /// Which of `ropes` each layer uses.
    layer_rope: Vec<usize>,
    device: Device,
}

impl Transformer {
    /// Loads the weights, checking each tensor's shape against the hyperparameters.
    /// Rotary tables cover `positions` positions (the KV cache capacity).
    pub fn load(gguf: &mut GgufFile, hp: &HParams, positions: usize, device: &Device) -> Result<Transformer> {
        let traits = hp.architecture.traits();
        let embd = hp.n_embd;
        let table = gguf.tensor("token_embd.weight", &[hp.vocab_size, embd], device)?;
        let dtype = table.dtype();
        let row_bytes = embd / dtype.block_size() * dtype.type_size();
        if !embd.is_multiple_of(dtype.block_size()) {
            return Err(ModelError::UnsupportedQuantization {
                path: gguf.path().to_owned(),
                reason: format!("token_embd rows of {embd} values do not fill whole {dtype:?} blocks"),
            });
        }
        let table = Arc::new(table);
        let output = if gguf.has_tensor("output.weight") {
            layer::projections(gguf, &[("output.weight".into(), [hp.vocab_size, embd])], device)?
        } else {
            // Tied embeddings: the output projection is the embedding table.
            Projections::new(vec![table.clone()], device)
                .map_err(gguf.compute_error("preparing tied output weights"))?
        };
        let embeddings = if output.readable_rows().is_some() && !gguf.has_tensor("output.weight") {
            // The file's table is not kept: dropped here, before the layers are packed,
            // so the load's peak memory never holds it beside them.
            drop(table);
            Embeddings::Tied { width: embd }
        } else {
            Embeddings::Table { table, row_bytes, dtype, width: embd }
        };
        let norm = NormWeights::read(gguf, "output_norm", traits.norm, embd, device)?;
        let mut layers = Vec::with_capacity(hp.n_layer);
        for i in 0..hp.n_layer {
            layers.push(Layer::read(gguf, hp, &traits, i, device)?);
        }
        log_kernels(&layers, &output);
        let divisors = if gguf.has_tensor("rope_freqs.weight") {
            let t = layer::dense(gguf, "rope_freqs.weight", &[hp.head_dim / 2], device)?;
            Some(t.to_vec1::<f32>().map_err(gguf.compute_error("reading `rope_freqs.weight`"))?)
        } else {
            None
        };
        let rope = |base: f32, scale: f32, divisors: Option<&[f32]>| {
            Rope::new(hp.head_dim, base, scale, divisors, positions, device)
                .map_err(gguf.compute_error("building rotary tables"))
        };
        let mut ropes = vec![rope(hp.rope_base, hp.rope_scale, divisors.as_deref())?];
        let mut layer_rope = vec![0; hp.n_layer];
        if let Some(window) = &hp.window {
            ropes.push(rope(window.rope_base, 1.0, None)?);
            for (at, &windowed) in layer_rope.iter_mut().zip(&window.layers) {
                *at = usize::from(windowed);
            }
        }
        Ok(Transformer {
            hp: hp.clone(),
            traits,
            embeddings,
            layers,
            norm,
            output,
            ropes,
            layer_rope,
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
        let layers: usize = self.layers.iter().flat_map(Layer::projections).map(Projections::bytes).sum();
        layers + self.output.bytes()
    }

    /// Most positions the rotary tables cover.
    pub fn positions(&self) -> usize {
        self.ropes.iter().map(Rope::positions).min().unwrap_or(0)
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
        let mut x = self.embeddings.lookup(tokens, &self.output, &self.device)?;
        if self.traits.embed_scale {
            x = (x * (self.hp.n_embd as f64).sqrt())?;
        }
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
        let eps = self.hp.norm_eps;
        while pass.layer < self.layers.len() {
            if interrupt() {
                return Ok(Pass::Suspended(pass));
            }
            let i = pass.layer;
            let layer = &self.layers[i];
            let heads = cache.heads;
            let x = &pass.x;
            let h = layer.attn_norm.apply(x, eps)?;
            let rule =
                Scores { scale: self.hp.attn_scale, softcap: self.hp.attn_softcap, window: self.hp.window_of(i) };
            let rope = &self.ropes[self.layer_rope[i]];
            let attn = match &mut cache.layers[i] {
                LayerCache::Cpu { keys, values } => {
                    self.attention_cpu(layer, rope, &rule, &h, pos, &heads, keys, values)?
                }
                LayerCache::CpuExact { keys, values } => {
                    self.attention_cpu(layer, rope, &rule, &h, pos, &heads, keys, values)?
                }
                LayerCache::Device { keys, values } => self.attention(layer, rope, &rule, &h, pos, (keys, values))?,
            };
            let x = layer::residual(x, attn, layer.post_attn_norm.as_ref(), eps)?;
            let h = layer.ffn_norm.apply(&x, eps)?;
            let ff = layer.feed_forward(&h, self.traits.ffn)?;
            pass.x = layer::residual(&x, ff, layer.post_ffn_norm.as_ref(), eps)?;
            pass.layer += 1;
        }
        cache.push_tokens(&pass.tokens);
        let x = self.norm.apply(&pass.x, eps)?;
        let rows = if pass.all_rows { x } else { x.i((.., seq - 1, ..))? };
        let logits = self.output.forward_one(&rows)?.squeeze(0)?;
        let logits = match self.hp.final_softcap {
            Some(cap) => ((logits / f64::from(cap))?.tanh()? * f64::from(cap))?,
            None => logits,
        };
        Ok(Pass::Done(logits))
    }

    /// Moves cached keys and values as `moves` say (all layers), rotating each key by
    /// the distance it moves. Returns false when the cache is not one it can move (on a
    /// GPU): nothing was moved then.
    pub(crate) fn apply_moves(&self, cache: &mut KvCache, moves: &[crate::kv_shift::Move]) -> bool {
        if moves.is_empty() {
            return true;
        }
        let heads = cache.heads;
        for (i, layer) in cache.layers.iter_mut().enumerate() {
            let rope = &self.ropes[self.layer_rope[i]];
            match layer {
                LayerCache::Cpu { keys, values } => self.move_layer(&heads, rope, keys, values, moves),
                LayerCache::CpuExact { keys, values } => self.move_layer(&heads, rope, keys, values, moves),
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
        rope: &Rope,
        keys: &mut [E],
        values: &mut [E],
        moves: &[crate::kv_shift::Move],
    ) {
        use crate::attention::TILE;
        let tiles = h.capacity.div_ceil(TILE);
        let key_at = |kv: usize, pos: usize, d: usize| (kv * tiles + pos / TILE) * h.dim * TILE + d * TILE + pos % TILE;
        let value_at = |kv: usize, pos: usize| (kv * tiles * TILE + pos) * h.dim;
        let (cos, sin) = (&rope.cos_rows, &rope.sin_rows);
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
                    crate::attention::rotate(&mut k, m.to as i64 - m.from as i64, cos, sin, self.traits.rope_neox);
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

    /// Attention on the CPU: q, k and v as plain rows, biased, normed and rotated, k and
    /// v stored in the cache, and [`crate::attention::attend`] over it.
    #[allow(clippy::too_many_arguments, reason = "one layer's weights, rule, input and cache")]
    fn attention_cpu<E: crate::attention::Element>(
        &self,
        layer: &Layer,
        rope: &Rope,
        rule: &Scores,
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
        if let Some(bias) = &layer.qkv_bias {
            let (bq, rest) = bias.split_at(hp.q_width());
            let (bk, bv) = rest.split_at(hp.kv_width());
            for (x, b) in [(&mut q, bq), (&mut k, bk), (&mut v, bv)] {
                for row in x.chunks_exact_mut(b.len()) {
                    for (a, b) in row.iter_mut().zip(b) {
                        *a += b;
                    }
                }
            }
        }
        if let Some((qn, kn)) = &layer.qk_norm {
            layer::rms_norm_chunks(&mut q, &qn.to_vec1::<f32>()?, hp.norm_eps);
            layer::rms_norm_chunks(&mut k, &kn.to_vec1::<f32>()?, hp.norm_eps);
        }
        let half = hp.head_dim / 2;
        let (cos, sin) = (&rope.cos_rows[..(pos + seq) * half], &rope.sin_rows[..(pos + seq) * half]);
        let neox = self.traits.rope_neox;
        crate::attention::rope(&mut q, hp.n_head, hp.head_dim, pos, cos, sin, neox);
        crate::attention::rope(&mut k, hp.n_kv_head, hp.head_dim, pos, cos, sin, neox);
        crate::attention::store(heads, keys, values, &k, &v, pos);
        let y = crate::attention::attend(heads, rule, &q, seq, pos, keys, values);
        layer.wo.forward(&Tensor::from_vec(y, (1, seq, hp.q_width()), &self.device)?)
    }

    /// Attention on a GPU with candle's operations over the cache tensors.
    fn attention(
        &self,
        layer: &Layer,
        rope: &Rope,
        rule: &Scores,
        h: &Tensor,
        pos: usize,
        (k_cache, v_cache): (&Tensor, &Tensor),
    ) -> CResult<Tensor> {
        let hp = &self.hp;
        let (_, seq, _) = h.dims3()?;
        let [mut q, mut k, mut v] = <[Tensor; 3]>::try_from(layer.qkv.forward(h)?)
            .map_err(|parts| candle_core::Error::Msg(format!("expected q, k, v; found {} projections", parts.len())))?;
        if let Some(bias) = &layer.qkv_bias {
            let (bq, rest) = bias.split_at(hp.q_width());
            let (bk, bv) = rest.split_at(hp.kv_width());
            q = q.broadcast_add(&Tensor::new(bq, &self.device)?)?;
            k = k.broadcast_add(&Tensor::new(bk, &self.device)?)?;
            v = v.broadcast_add(&Tensor::new(bv, &self.device)?)?;
        }
        let heads = |t: Tensor, n: usize| t.reshape((1, seq, n, hp.head_dim));
        let (mut q, mut k) = (heads(q, hp.n_head)?, heads(k, hp.n_kv_head)?);
        if let Some((qn, kn)) = &layer.qk_norm {
            q = candle_nn::ops::rms_norm(&q, qn, hp.norm_eps as f32)?;
            k = candle_nn::ops::rms_norm(&k, kn, hp.norm_eps as f32)?;
        }
        let (cos, sin) = (rope.cos.narrow(0, pos, seq)?, rope.sin.narrow(0, pos, seq)?);
        let rotate = |t: Tensor| {
            let t = t.transpose(1, 2)?.contiguous()?;
            if self.traits.rope_neox {
                candle_nn::rotary_emb::rope(&t, &cos, &sin)
            } else {
                candle_nn::rotary_emb::rope_i(&t, &cos, &sin)
            }
        };
        let q = rotate(q)?;
        let k = rotate(k)?;
        let v = heads(v, hp.n_kv_head)?.transpose(1, 2)?.contiguous()?;
        k_cache.slice_set(&k, 2, pos)?;
        v_cache.slice_set(&v, 2, pos)?;
        let len = pos + seq;
        let keys = k_cache.narrow(2, 0, len)?;
        let values = v_cache.narrow(2, 0, len)?;
        // Heads h*g..(h+1)*g read kv head h: fold them into the rows of one matmul.
        let groups = hp.n_head / hp.n_kv_head;
        let q = q.reshape((1, hp.n_kv_head, groups * seq, hp.head_dim))?;
        let mut att = (q.matmul(&keys.t()?)? * f64::from(rule.scale))?;
        if let Some(cap) = rule.softcap {
            att = ((att / f64::from(cap))?.tanh()? * f64::from(cap))?;
        }
        if seq > 1 || rule.window.is_some_and(|w| w < len) {
            let mask = causal_mask(seq, pos, rule.window, &self.device)?;
            att = att.reshape((1, hp.n_kv_head, groups, seq, len))?.broadcast_add(&mask)?.reshape((
                1,
                hp.n_kv_head,
                groups * seq,
                len,
            ))?;
        }
        let att = candle_nn::ops::softmax_last_dim(&att)?;
        let y = att.matmul(&values)?;
        let y = y.reshape((1, hp.n_head, seq, hp.head_dim))?.transpose(1, 2)?.reshape((1, seq, hp.q_width()))?;
        layer.wo.forward(&y)
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
    let all = layers.iter().flat_map(Layer::projections).chain([output]);
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
        .map(|(name, ours, n)| {
            let by = match (*ours, name.as_str()) {
                (false, _) => "candle (no kernel of ours)",
                (true, "F16" | "BF16") => "ours (two-byte rows)",
                (true, _) => kernel,
            };
            format!("{name} x{n}: {by}")
        })
        .collect();
    tracing::info!("weight kernels: {}", said.join(", "));
}

/// Additive mask `[seq, pos + seq]`: query i (at position pos + i) sees keys up to
/// pos + i, and within `window` of it.
fn causal_mask(seq: usize, pos: usize, window: Option<usize>, device: &Device) -> CResult<Tensor> {
    let len = pos + seq;
    let hidden = |i: usize, j: usize| j > pos + i || window.is_some_and(|w| pos + i - j >= w);
    let mask: Vec<f32> =
        (0..seq).flat_map(|i| (0..len).map(move |j| if hidden(i, j) { f32::NEG_INFINITY } else { 0.0 })).collect();
    Tensor::from_vec(mask, (seq, len), device)
}

/// Index of the largest logit (greedy choice).
pub fn argmax(logits: &Tensor) -> CResult<u32> {
    logits.argmax(D::Minus1)?.to_scalar::<u32>()
}
