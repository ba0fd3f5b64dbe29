//! `llama` (Llama, CodeLlama, DeepSeek-Coder 1.3B/6.7B, SmolLM2).
//!
//! GGUF stores llama's query and key weights permuted so that rotary embeddings pair
//! adjacent values ("interleaved", ggml's `rope` mode 0). No projection biases.

use super::ArchTraits;

/// llama's traits.
pub const TRAITS: ArchTraits = ArchTraits { rope_neox: false, qkv_bias: false };
