//! What prompt builders need to know about a model, read from its file: its family's
//! format and special tokens (through the family table of `infill-family`), end and stop
//! tokens, context length. One plain struct, so `context/` needs nothing else from here.

use crate::arch::Architecture;
use crate::error::Result;
use crate::gguf::GgufFile;
use crate::hparams::HParams;
use crate::tokenizer::ModelTokenizer;
use infill_family::{Declared, PromptFormat, SpecialTokens};

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
    /// The family's prompt format (`PrefixOnly` without fill-in-the-middle tokens).
    pub format: PromptFormat,
    /// The special tokens prompts may use.
    pub tokens: SpecialTokens,
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
        let fim = match (
            id("tokenizer.ggml.fim_pre_token_id")?.or(id("tokenizer.ggml.prefix_token_id")?),
            id("tokenizer.ggml.fim_suf_token_id")?.or(id("tokenizer.ggml.suffix_token_id")?),
            id("tokenizer.ggml.fim_mid_token_id")?.or(id("tokenizer.ggml.middle_token_id")?),
        ) {
            (Some(prefix), Some(suffix), Some(middle)) => Some([prefix, suffix, middle]),
            _ => None,
        };
        let declared = Declared {
            bos: id("tokenizer.ggml.bos_token_id")?,
            add_bos: gguf.value("tokenizer.ggml.add_bos_token").and_then(|v| v.to_bool().ok()).unwrap_or(false),
            fim,
            // Read only beside declared FIM tokens, as the family table's pad is otherwise.
            fim_pad: if fim.is_some() { id("tokenizer.ggml.fim_pad_token_id")? } else { None },
        };
        let vocabulary = SpecialTokens::read(declared, &|text| tokenizer.id_of(text));
        let mut stop_tokens = vocabulary.stops;
        let ends = ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"];
        for key in ends {
            stop_tokens.extend(id(key)?);
        }
        stop_tokens.sort_unstable();
        stop_tokens.dedup();
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
            format: vocabulary.format,
            tokens: vocabulary.tokens,
            stop_tokens,
        })
    }
}
