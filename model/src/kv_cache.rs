//! A preallocated key/value cache that knows which tokens it holds and can be cut back
//! to any shorter prefix, so a new prompt only pays for what differs from the last one.
//! On the CPU keys and values are f16 in the layout [`crate::attention`] reads in
//! place (half the memory and the reads of f32); on a GPU they are candle tensors.

use candle_core::{DType, Device, Tensor};

use crate::attention::Heads;
use crate::hparams::HParams;

/// One layer's keys and values.
pub(crate) enum LayerCache {
    /// f16 bits in [`crate::attention`]'s layout: keys `[kv head][tile][dim][position
    /// in tile]`, values `[kv head][position][dim]`.
    Cpu {
        /// Keys.
        keys: Vec<u16>,
        /// Values.
        values: Vec<u16>,
    },
    /// The same layout in f32, for the exact mode of the reference tests
    /// (`CANDLE_DEQUANTIZE_ALL`), where f16 rounding would hide real differences.
    CpuExact {
        /// Keys.
        keys: Vec<f32>,
        /// Values.
        values: Vec<f32>,
    },
    /// `[1, n_kv_head, capacity, head_dim]` f32 tensors on the model's device.
    Device {
        /// Keys.
        keys: Tensor,
        /// Values.
        values: Tensor,
    },
}

/// Keys and values of every layer for the first `len()` tokens.
pub struct KvCache {
    pub(crate) layers: Vec<LayerCache>,
    pub(crate) heads: Heads,
    tokens: Vec<u32>,
    capacity: usize,
    /// Counts passes begun and cuts: a suspended pass may finish only if it is unchanged.
    epoch: u64,
}

impl KvCache {
    /// A cache for `capacity` positions. The memory is allocated zeroed and is only
    /// touched (and counted in the resident set) as positions are filled.
    pub fn new(hp: &HParams, capacity: usize, device: &Device) -> candle_core::Result<KvCache> {
        let heads = Heads { n_head: hp.n_head, n_kv: hp.n_kv_head, dim: hp.head_dim, capacity };
        let exact = std::env::var_os("CANDLE_DEQUANTIZE_ALL").is_some();
        let layers = (0..hp.n_layer)
            .map(|_| {
                if device.is_cpu() && exact {
                    Ok(LayerCache::CpuExact {
                        keys: vec![0.0; heads.layer_len()],
                        values: vec![0.0; heads.layer_len()],
                    })
                } else if device.is_cpu() {
                    Ok(LayerCache::Cpu { keys: vec![0; heads.layer_len()], values: vec![0; heads.layer_len()] })
                } else {
                    let shape = (1, hp.n_kv_head, capacity, hp.head_dim);
                    Ok(LayerCache::Device {
                        keys: Tensor::zeros(shape, DType::F32, device)?,
                        values: Tensor::zeros(shape, DType::F32, device)?,
                    })
                }
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(KvCache { layers, heads, tokens: Vec::with_capacity(capacity), capacity, epoch: 0 })
    }

    /// Bytes the keys and values take when every position is filled.
    pub fn bytes_at_capacity(&self) -> usize {
        self.layers
            .iter()
            .map(|layer| match layer {
                LayerCache::Cpu { keys, values } => 2 * (keys.len() + values.len()),
                LayerCache::CpuExact { keys, values } => 4 * (keys.len() + values.len()),
                LayerCache::Device { keys, values } => (keys.elem_count() + values.elem_count()) * 4,
            })
            .sum()
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
