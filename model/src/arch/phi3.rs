//! `phi3` (Phi-3 mini and medium; Phi-4-mini rotates part of each head, which the
//! hyperparameters refuse by name).
//!
//! llama's layer with fused tensors: `attn_qkv` holds the query, key and value
//! projections one after the other, `ffn_up` the gate and up projections (gate first);
//! NeoX rotation. A sliding window in the metadata is ignored, as llama.cpp does.

use super::{ArchTraits, PLAIN};

/// phi3's traits.
pub const TRAITS: ArchTraits = ArchTraits { rope_neox: true, ..PLAIN };
