//! A preallocated key/value cache that knows which tokens it holds and can be cut back
//! to any shorter prefix, so a new prompt only pays for what differs from the last one.

use candle_core::{DType, Device, Tensor};

use crate::hparams::HParams;

/// Keys and values of every layer for the first `len()` tokens.
pub struct KvCache {
    /// Per layer: `[1, n_kv_head, capacity, head_dim]` keys and values.
    pub(crate) layers: Vec<(Tensor, Tensor)>,
    tokens: Vec<u32>,
    capacity: usize,
    /// Counts passes begun and cuts: a suspended pass may finish only if it is unchanged.
    epoch: u64,
}

impl KvCache {
    /// A cache for `capacity` positions. The memory is allocated zeroed and is only
    /// touched (and counted in the resident set) as positions are filled.
    pub fn new(hp: &HParams, capacity: usize, device: &Device) -> candle_core::Result<KvCache> {
        let shape = (1, hp.n_kv_head, capacity, hp.head_dim);
        let layers = (0..hp.n_layer)
            .map(|_| Ok((Tensor::zeros(shape, DType::F32, device)?, Tensor::zeros(shape, DType::F32, device)?)))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(KvCache { layers, tokens: Vec::with_capacity(capacity), capacity, epoch: 0 })
    }

    /// Bytes the keys and values take when every position is filled.
    pub fn bytes_at_capacity(&self) -> usize {
        self.layers.iter().map(|(k, v)| (k.elem_count() + v.elem_count()) * k.dtype().size_in_bytes()).sum()
    }

    /// Tokens whose keys and values are held.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Most positions it can hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The token ids held, in order.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Forgets every position from `len` on.
    pub fn truncate(&mut self, len: usize) {
        if len < self.tokens.len() {
            self.epoch += 1;
            self.tokens.truncate(len);
        }
    }

    /// Marks the start of a forward pass (which writes past `len()`): returns its epoch.
    pub(crate) fn begin_pass(&mut self) -> u64 {
        self.epoch += 1;
        self.epoch
    }

    /// The count of passes begun and cuts made.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Length of the longest common prefix of the held tokens and `prompt`.
    pub fn common_prefix(&self, prompt: &[u32]) -> usize {
        self.tokens.iter().zip(prompt).take_while(|(a, b)| a == b).count()
    }

    /// Records tokens whose keys and values the forward pass just wrote.
    pub(crate) fn push_tokens(&mut self, tokens: &[u32]) {
        self.tokens.extend_from_slice(tokens);
    }
}
