//! A small deterministic tokenizer for fixtures: words in pieces of up to 6 characters,
//! spaces in runs of up to 4, every other character alone, and the special tokens of
//! every format spelled as their families spell them.

use std::collections::HashMap;
use std::sync::Mutex;

use infill_context::{PromptFormat, SpecialTokens, Tokenize};

const SPECIALS: &[&str] = &[
    "<s>",
    "<|fim_prefix|>",
    "<|fim_suffix|>",
    "<|fim_middle|>",
    "<|repo_name|>",
    "<|file_sep|>",
    "<fim_prefix>",
    "<fim_suffix>",
    "<fim_middle>",
    "<repo_name>",
    "<file_sep>",
    "<｜fim▁begin｜>",
    "<｜fim▁hole｜>",
    "<｜fim▁end｜>",
    "▁<PRE>",
    "▁<SUF>",
    "▁<MID>",
    "<|file_separator|>",
    "<filename>",
    "<PRE>",
    "<SUF>",
    "<MID>",
];

/// Ids by piece, and each id's bytes.
type Vocab = (HashMap<String, u32>, Vec<&'static [u8]>);

pub struct ToyTokenizer {
    vocab: Mutex<Vocab>,
}

impl ToyTokenizer {
    pub fn new() -> ToyTokenizer {
        let specials: Vec<&'static [u8]> = SPECIALS.iter().map(|s| s.as_bytes()).collect();
        ToyTokenizer { vocab: Mutex::new((HashMap::new(), specials)) }
    }

    fn id(&self, piece: &str) -> u32 {
        let mut vocab = self.vocab.lock().expect("not poisoned");
        if let Some(&id) = vocab.0.get(piece) {
            return id;
        }
        let id = vocab.1.len() as u32;
        vocab.1.push(Box::leak(piece.as_bytes().to_vec().into_boxed_slice()));
        vocab.0.insert(piece.to_owned(), id);
        id
    }

    fn special(name: &str) -> Option<u32> {
        SPECIALS.iter().position(|s| *s == name).map(|i| i as u32)
    }

    /// The special tokens a model of `format`'s family would have.
    pub fn special_tokens(&self, format: PromptFormat) -> SpecialTokens {
        let s = Self::special;
        let fim = |p, q, m| SpecialTokens {
            fim_prefix: s(p),
            fim_suffix: s(q),
            fim_middle: s(m),
            ..SpecialTokens::default()
        };
        match format {
            PromptFormat::QwenCoder => SpecialTokens {
                repo_name: s("<|repo_name|>"),
                file_sep: s("<|file_sep|>"),
                ..fim("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>")
            },
            PromptFormat::StarCoder => SpecialTokens {
                repo_name: s("<repo_name>"),
                file_sep: s("<file_sep>"),
                ..fim("<fim_prefix>", "<fim_suffix>", "<fim_middle>")
            },
            PromptFormat::DeepSeekCoder => fim("<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"),
            PromptFormat::CodeLlama => {
                SpecialTokens { bos: s("<s>"), add_bos: true, ..fim("▁<PRE>", "▁<SUF>", "▁<MID>") }
            }
            PromptFormat::CodeGemma => SpecialTokens {
                file_sep: s("<|file_separator|>"),
                ..fim("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>")
            },
            PromptFormat::Fim => fim("<PRE>", "<SUF>", "<MID>"),
            PromptFormat::PrefixOnly => SpecialTokens {
                filename: s("<filename>"),
                file_sep: s("<file_sep>"),
                repo_name: s("<repo_name>"),
                ..SpecialTokens::default()
            },
        }
    }

    /// The text of `ids`.
    pub fn render(&self, ids: &[u32]) -> String {
        ids.iter().map(|&id| self.spelling(id)).collect()
    }
}

impl Tokenize for ToyTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>, infill_context::TokenizeError> {
        let mut ids = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let run = |limit: usize, same: &dyn Fn(char) -> bool| {
                let mut j = i;
                while j < chars.len() && j - i < limit && same(chars[j]) {
                    j += 1;
                }
                j
            };
            let end = if c.is_alphanumeric() || c == '_' {
                run(6, &|c| c.is_alphanumeric() || c == '_')
            } else if c == ' ' {
                run(4, &|c| c == ' ')
            } else {
                i + 1
            };
            let piece: String = chars[i..end].iter().collect();
            ids.push(self.id(&piece));
            i = end;
        }
        Ok(ids)
    }

    fn token_bytes(&self, id: u32) -> &[u8] {
        let vocab = self.vocab.lock().expect("not poisoned");
        vocab.1.get(id as usize).copied().unwrap_or(&[])
    }
}
