//! What prompt builders need to know about a model, read from its file: the
//! fill-in-the-middle tokens and family, repository-level tokens, end and stop tokens,
//! context length. One plain struct, so `context/` needs nothing else from here.

use crate::arch::Architecture;
use crate::error::Result;
use crate::gguf::GgufFile;
use crate::hparams::HParams;
use crate::tokenizer::ModelTokenizer;

/// A family of fill-in-the-middle prompt formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FimFamily {
    /// Qwen2.5-Coder: `<|fim_prefix|>`, `<|repo_name|>`, `<|file_sep|>`.
    QwenCoder,
    /// StarCoder and StarCoder2: `<fim_prefix>`, `<repo_name>`, `<file_sep>`.
    StarCoder,
    /// DeepSeek-Coder: `<｜fim▁begin｜>`, `<｜fim▁hole｜>`, `<｜fim▁end｜>`.
    DeepSeekCoder,
    /// CodeLlama: `▁<PRE>`, `▁<SUF>`, `▁<MID>`.
    CodeLlama,
    /// CodeGemma: `<|fim_prefix|>` with `<|file_separator|>`.
    CodeGemma,
    /// FIM token ids given by the file, spellings of no family we know.
    Other,
}

/// One row of the family table: how the family spells its tokens.
struct FamilySpelling {
    family: FimFamily,
    prefix: &'static str,
    suffix: &'static str,
    middle: &'static str,
    pad: Option<&'static str>,
    /// Distinguishes families that share the three FIM spellings.
    marker: Option<&'static str>,
    stops: &'static [&'static str],
}

/// Model families and their special tokens (from each family's published vocabulary).
const FAMILIES: &[FamilySpelling] = &[
    FamilySpelling {
        family: FimFamily::CodeGemma,
        prefix: "<|fim_prefix|>",
        suffix: "<|fim_suffix|>",
        middle: "<|fim_middle|>",
        pad: None,
        marker: Some("<|file_separator|>"),
        stops: &["<|file_separator|>", "<eos>", "<end_of_turn>"],
    },
    FamilySpelling {
        family: FimFamily::QwenCoder,
        prefix: "<|fim_prefix|>",
        suffix: "<|fim_suffix|>",
        middle: "<|fim_middle|>",
        pad: Some("<|fim_pad|>"),
        marker: None,
        stops: &["<|endoftext|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<|im_end|>"],
    },
    FamilySpelling {
        family: FimFamily::StarCoder,
        prefix: "<fim_prefix>",
        suffix: "<fim_suffix>",
        middle: "<fim_middle>",
        pad: Some("<fim_pad>"),
        marker: None,
        stops: &["<|endoftext|>", "<file_sep>", "<fim_pad>"],
    },
    FamilySpelling {
        family: FimFamily::DeepSeekCoder,
        prefix: "<｜fim▁begin｜>",
        suffix: "<｜fim▁hole｜>",
        middle: "<｜fim▁end｜>",
        pad: None,
        marker: None,
        stops: &["<｜end▁of▁sentence｜>", "<|EOT|>"],
    },
    FamilySpelling {
        family: FimFamily::CodeLlama,
        prefix: "▁<PRE>",
        suffix: "▁<SUF>",
        middle: "▁<MID>",
        pad: None,
        marker: None,
        stops: &["▁<EOT>", "</s>"],
    },
];

/// Token ids of a fill-in-the-middle format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FimTokens {
    /// Precedes the text before the cursor.
    pub prefix: u32,
    /// Precedes the text after the cursor.
    pub suffix: u32,
    /// Asks for the middle.
    pub middle: u32,
    /// Padding, which some families also emit to end.
    pub pad: Option<u32>,
}

/// Facts about a loaded model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFacts {
    /// `general.name`, or the file name.
    pub name: String,
    /// The architecture.
    pub architecture: Architecture,
    /// Positions the model was trained for.
    pub context_length: usize,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Fill-in-the-middle tokens; `None` for a prefix-completion model.
    pub fim: Option<FimTokens>,
    /// Which FIM format family, when `fim` is set.
    pub family: Option<FimFamily>,
    /// `<|repo_name|>` or `<repo_name>`, for repository-level prompts.
    pub repo_name: Option<u32>,
    /// `<|file_sep|>`, `<file_sep>` or `<|file_separator|>`, between files.
    pub file_sep: Option<u32>,
    /// `<filename>`, before a file's path (StarCoder-style vocabularies, SmolLM2).
    pub filename: Option<u32>,
    /// Beginning-of-sequence token.
    pub bos: Option<u32>,
    /// Whether prompts start with `bos`.
    pub add_bos: bool,
    /// End-of-sequence token.
    pub eos: Option<u32>,
    /// Tokens that end a completion (besides any control token).
    pub stop_tokens: Vec<u32>,
}

impl ModelFacts {
    /// Reads the facts from the file's metadata and vocabulary.
    pub fn read(gguf: &GgufFile, hp: &HParams, tokenizer: &ModelTokenizer) -> Result<ModelFacts> {
        let id = |key: &str| -> Result<Option<u32>> {
            Ok(gguf
                .opt_u64(key)?
                .and_then(|v| u32::try_from(v).ok())
                .filter(|&v| (v as usize) < tokenizer.vocab_size()))
        };
        let by_text = |text: &str| tokenizer.id_of(text);
        let spelled = FAMILIES.iter().find(|f| {
            by_text(f.prefix).is_some()
                && by_text(f.suffix).is_some()
                && by_text(f.middle).is_some()
                && f.marker.is_none_or(|m| by_text(m).is_some())
        });
        let keyed = match (
            id("tokenizer.ggml.fim_pre_token_id")?.or(id("tokenizer.ggml.prefix_token_id")?),
            id("tokenizer.ggml.fim_suf_token_id")?.or(id("tokenizer.ggml.suffix_token_id")?),
            id("tokenizer.ggml.fim_mid_token_id")?.or(id("tokenizer.ggml.middle_token_id")?),
        ) {
            (Some(prefix), Some(suffix), Some(middle)) => {
                Some(FimTokens { prefix, suffix, middle, pad: id("tokenizer.ggml.fim_pad_token_id")? })
            }
            _ => None,
        };
        let from_table = spelled.and_then(|f| {
            Some(FimTokens {
                prefix: by_text(f.prefix)?,
                suffix: by_text(f.suffix)?,
                middle: by_text(f.middle)?,
                pad: f.pad.and_then(by_text),
            })
        });
        let fim = keyed.or(from_table);
        let family = fim.map(|fim| match spelled {
            Some(f) if by_text(f.prefix) == Some(fim.prefix) => f.family,
            _ => FimFamily::Other,
        });
        let first = |names: &[&str]| names.iter().find_map(|n| by_text(n));
        let eos = id("tokenizer.ggml.eos_token_id")?;
        let mut stop_tokens: Vec<u32> = [eos, id("tokenizer.ggml.eot_token_id")?, id("tokenizer.ggml.eom_token_id")?]
            .into_iter()
            .flatten()
            .collect();
        if let Some(f) = spelled.filter(|_| fim.is_some()) {
            stop_tokens.extend(f.stops.iter().filter_map(|s| by_text(s)));
        }
        if let Some(pad) = fim.and_then(|f| f.pad) {
            stop_tokens.push(pad);
        }
        stop_tokens.sort_unstable();
        stop_tokens.dedup();
        let bos = id("tokenizer.ggml.bos_token_id")?;
        let add_bos = gguf.value("tokenizer.ggml.add_bos_token").and_then(|v| v.to_bool().ok()).unwrap_or(false);
        let name = gguf
            .opt_str("general.name")
            .map(str::to_owned)
            .or_else(|| gguf.path().file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_default();
        Ok(ModelFacts {
            name,
            architecture: hp.architecture,
            context_length: hp.context_length,
            vocab_size: tokenizer.vocab_size(),
            fim,
            family,
            repo_name: first(&["<|repo_name|>", "<repo_name>"]),
            file_sep: first(&["<|file_sep|>", "<file_sep>", "<|file_separator|>"]),
            filename: first(&["<filename>"]),
            bos,
            add_bos: add_bos && bos.is_some(),
            eos,
            stop_tokens,
        })
    }
}
