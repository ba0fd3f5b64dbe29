//! `qwen2` (Qwen2, Qwen2.5-Coder 0.5B to 7B).
//!
//! Rotary embeddings pair the two halves of a head (NeoX style, ggml's `rope` mode 2),
//! and the query, key and value projections carry biases (`attn_{q,k,v}.bias`, read
//! wherever a file has them).

use super::{ArchTraits, PLAIN};

/// qwen2's traits.
pub const TRAITS: ArchTraits = ArchTraits { rope_neox: true, ..PLAIN };
