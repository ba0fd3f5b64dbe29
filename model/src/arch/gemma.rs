//! `gemma` (Gemma 2B/7B, CodeGemma 2B/7B).
//!
//! Embeddings scaled by `sqrt(n_embd)`, a gated GELU feed-forward, NeoX rotation, heads
//! of `attention.key_length` (256) values; the output projection is the embedding
//! table. GGUF converters add Gemma's `1 +` to the norm weights, so the norms are plain.

use super::{ArchTraits, Ffn, PLAIN};

/// gemma's traits.
pub const TRAITS: ArchTraits = ArchTraits { rope_neox: true, ffn: Ffn::GeluGated, embed_scale: true, ..PLAIN };
