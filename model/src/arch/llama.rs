//! `llama` (Llama 2/3.x, CodeLlama, DeepSeek-Coder 1.3B/6.7B, SmolLM2).
//!
//! GGUF stores llama's query and key weights permuted so that rotary embeddings pair
//! adjacent values ("interleaved", ggml's `rope` mode 0). No projection biases; Llama
//! 3.x files carry `rope_freqs.weight`, per-frequency divisors the transformer reads.

use super::{ArchTraits, PLAIN};

/// llama's traits.
pub const TRAITS: ArchTraits = PLAIN;
