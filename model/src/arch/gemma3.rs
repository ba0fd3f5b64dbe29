//! `gemma3` (Gemma 3 270M to 27B, text).
//!
//! gemma2 with queries and keys RMS-normed per head instead of soft-capped scores:
//! five of every six layers attend to a window (`attention.sliding_window`, 512 for
//! 270M) and rotate with base 10,000, the sixth sees everything and rotates with the
//! file's base (1,000,000). The 27B model (62 layers) scales queries by `n_embd / n_head`.

use super::{ArchTraits, Ffn, Sliding, PLAIN};

/// gemma3's traits.
pub const TRAITS: ArchTraits = ArchTraits {
    rope_neox: true,
    ffn: Ffn::GeluGated,
    embed_scale: true,
    qk_norm: true,
    post_norms: true,
    sliding: Some(Sliding { pattern: 6, default_window: None, swa_base_is_global: false }),
    wide_scale_at_layers: Some(62),
    ..PLAIN
};
