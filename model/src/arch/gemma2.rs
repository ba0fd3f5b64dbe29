//! `gemma2` (Gemma 2 2B/9B/27B).
//!
//! gemma plus: the attention and feed-forward outputs RMS-normed before the residual,
//! every other layer (even ones) attending to a window of 4,096 positions, attention
//! scores soft-capped at 50 and output logits at 30 (unless the file says otherwise),
//! and the 27B model (46 layers) scaling queries by its `n_embd / n_head`.

use super::{ArchTraits, Ffn, Sliding, PLAIN};

/// gemma2's traits.
pub const TRAITS: ArchTraits = ArchTraits {
    rope_neox: true,
    ffn: Ffn::GeluGated,
    embed_scale: true,
    post_norms: true,
    sliding: Some(Sliding { pattern: 2, default_window: Some(4096), swa_base_is_global: true }),
    attn_softcap: Some(50.0),
    final_softcap: Some(30.0),
    wide_scale_at_layers: Some(46),
    ..PLAIN
};
