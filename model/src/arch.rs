//! The architectures we run and how they differ. Both are decoder-only transformers
//! with RMS norm, rotary positions, grouped-query attention and a SwiGLU feed-forward
//! (`transformer.rs`); each file under `arch/` says what is particular to one.

mod llama;
mod qwen2;

/// A supported `general.architecture`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// `llama`: Llama, CodeLlama, DeepSeek-Coder, SmolLM2.
    Llama,
    /// `qwen2`: Qwen2 and Qwen2.5-Coder.
    Qwen2,
}

/// What the shared transformer needs to know about an architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchTraits {
    /// Rotary embedding pairs halves of a head (NeoX) rather than adjacent values.
    pub rope_neox: bool,
    /// The query, key and value projections have biases.
    pub qkv_bias: bool,
}

impl Architecture {
    /// The architecture named `name` in `general.architecture`, if supported.
    pub fn from_name(name: &str) -> Option<Architecture> {
        match name {
            "llama" => Some(Architecture::Llama),
            "qwen2" => Some(Architecture::Qwen2),
            _ => None,
        }
    }

    /// The name used in GGUF metadata keys.
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Llama => "llama",
            Architecture::Qwen2 => "qwen2",
        }
    }

    /// What sets this architecture apart.
    pub fn traits(self) -> ArchTraits {
        match self {
            Architecture::Llama => llama::TRAITS,
            Architecture::Qwen2 => qwen2::TRAITS,
        }
    }
}
