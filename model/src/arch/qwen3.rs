//! `qwen3` (Qwen3 0.6B to 8B).
//!
//! qwen2 without the projection biases and with queries and keys RMS-normed per head
//! before rotation (`attn_q_norm`, `attn_k_norm`). The head width is
//! `attention.key_length` (128), so queries are wider than the model (0.6B: 16 x 128
//! against 1,024).

use super::{ArchTraits, PLAIN};

/// qwen3's traits.
pub const TRAITS: ArchTraits = ArchTraits { rope_neox: true, qk_norm: true, ..PLAIN };
