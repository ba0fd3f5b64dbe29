//! The architectures we run and how they differ. All are decoder-only transformers
//! with rotary positions and grouped-query attention (`transformer.rs`); each file under
//! `arch/` says, as an [`ArchTraits`] value, what is particular to one. Adding an
//! architecture is a file there and a row in [`Architecture::ALL`].

mod gemma;
mod gemma2;
mod gemma3;
mod llama;
mod phi3;
mod qwen2;
mod qwen3;
mod starcoder2;

/// A supported `general.architecture`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// `llama`: Llama 2/3.x, CodeLlama, DeepSeek-Coder, SmolLM2.
    Llama,
    /// `qwen2`: Qwen2 and Qwen2.5-Coder.
    Qwen2,
    /// `qwen3`: Qwen3.
    Qwen3,
    /// `gemma`: Gemma and CodeGemma.
    Gemma,
    /// `gemma2`: Gemma 2.
    Gemma2,
    /// `gemma3`: Gemma 3 (text).
    Gemma3,
    /// `starcoder2`: StarCoder2.
    Starcoder2,
    /// `phi3`: Phi-3 and Phi-4-mini.
    Phi3,
}

/// The normalization before attention and before the feed-forward network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    /// RMS norm with a weight (`attention.layer_norm_rms_epsilon`).
    Rms,
    /// Layer norm with a weight and a bias (`attention.layer_norm_epsilon`).
    Layer,
}

impl Norm {
    /// The metadata key (after `<arch>.`) of its epsilon.
    pub fn epsilon_key(self) -> &'static str {
        match self {
            Norm::Rms => "attention.layer_norm_rms_epsilon",
            Norm::Layer => "attention.layer_norm_epsilon",
        }
    }
}

/// The feed-forward network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ffn {
    /// `down(silu(gate(x)) * up(x))`; the gate may be the first half of a fused `ffn_up`.
    SiluGated,
    /// `down(gelu(gate(x)) * up(x))`, GELU in its tanh form.
    GeluGated,
    /// `down(gelu(up(x)))`, no gate.
    Gelu,
}

/// Layers that attend to a window of recent positions only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sliding {
    /// Every `pattern`-th layer (the last of each group) sees everything; the others
    /// see the window (`attention.sliding_window_pattern` overrides it).
    pub pattern: usize,
    /// The window when `attention.sliding_window` is absent; `None`: no sliding layers then.
    pub default_window: Option<usize>,
    /// Whether windowed layers rotate with the global RoPE base (else with 10,000)
    /// when `rope.freq_base_swa` is absent.
    pub swa_base_is_global: bool,
}

/// What the shared transformer needs to know about an architecture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArchTraits {
    /// Rotary embedding pairs halves of a head (NeoX) rather than adjacent values.
    pub rope_neox: bool,
    /// The normalization.
    pub norm: Norm,
    /// The feed-forward network.
    pub ffn: Ffn,
    /// Token embeddings are multiplied by `sqrt(n_embd)`.
    pub embed_scale: bool,
    /// Queries and keys are RMS-normed per head (`attn_q_norm`, `attn_k_norm`).
    pub qk_norm: bool,
    /// The attention and feed-forward outputs are RMS-normed before the residual
    /// (`post_attention_norm`, `post_ffw_norm`).
    pub post_norms: bool,
    /// Sliding-window layers, if the architecture has them.
    pub sliding: Option<Sliding>,
    /// Attention scores are soft-capped (`c * tanh(s / c)`) at this value unless
    /// `attn_logit_softcapping` says otherwise; `None`: only when the key is present.
    pub attn_softcap: Option<f32>,
    /// Output logits are soft-capped at this value unless `final_logit_softcapping`
    /// says otherwise; `None`: only when the key is present.
    pub final_softcap: Option<f32>,
    /// The model with this many layers scales queries by `1/sqrt(n_embd / n_head)`
    /// rather than `1/sqrt(head width)` (Gemma 2 and 3 27B).
    pub wide_scale_at_layers: Option<usize>,
}

/// The traits most architectures share: llama's, NeoX rotation apart.
const PLAIN: ArchTraits = ArchTraits {
    rope_neox: false,
    norm: Norm::Rms,
    ffn: Ffn::SiluGated,
    embed_scale: false,
    qk_norm: false,
    post_norms: false,
    sliding: None,
    attn_softcap: None,
    final_softcap: None,
    wide_scale_at_layers: None,
};

impl Architecture {
    /// Every supported architecture.
    pub const ALL: [Architecture; 8] = [
        Architecture::Llama,
        Architecture::Qwen2,
        Architecture::Qwen3,
        Architecture::Gemma,
        Architecture::Gemma2,
        Architecture::Gemma3,
        Architecture::Starcoder2,
        Architecture::Phi3,
    ];

    /// The architecture named `name` in `general.architecture`, if supported.
    pub fn from_name(name: &str) -> Option<Architecture> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The name used in GGUF metadata keys.
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Llama => "llama",
            Architecture::Qwen2 => "qwen2",
            Architecture::Qwen3 => "qwen3",
            Architecture::Gemma => "gemma",
            Architecture::Gemma2 => "gemma2",
            Architecture::Gemma3 => "gemma3",
            Architecture::Starcoder2 => "starcoder2",
            Architecture::Phi3 => "phi3",
        }
    }

    /// What sets this architecture apart.
    pub fn traits(self) -> ArchTraits {
        match self {
            Architecture::Llama => llama::TRAITS,
            Architecture::Qwen2 => qwen2::TRAITS,
            Architecture::Qwen3 => qwen3::TRAITS,
            Architecture::Gemma => gemma::TRAITS,
            Architecture::Gemma2 => gemma2::TRAITS,
            Architecture::Gemma3 => gemma3::TRAITS,
            Architecture::Starcoder2 => starcoder2::TRAITS,
            Architecture::Phi3 => phi3::TRAITS,
        }
    }
}

/// The supported architectures' names, comma-separated (for error messages).
pub fn supported_names() -> String {
    Architecture::ALL.map(Architecture::name).join(", ")
}
