//! `starcoder2` (StarCoder2 3B/7B/15B).
//!
//! Layer norms with biases, biases on every projection, a feed-forward of
//! `down(gelu(up(x)))` without a gate, NeoX rotation.

use super::{ArchTraits, Ffn, Norm, PLAIN};

/// starcoder2's traits.
pub const TRAITS: ArchTraits = ArchTraits { rope_neox: true, norm: Norm::Layer, ffn: Ffn::Gelu, ..PLAIN };
