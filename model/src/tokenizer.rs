//! The tokenizer, built from the GGUF's own vocabulary (`tokenizer.ggml.*`) as a
//! `tokenizers::Tokenizer`, or read from a `tokenizer.json` beside the model.
//!
//! Two vocabulary kinds are supported: byte-level BPE (`gpt2`: Qwen2.5-Coder,
//! StarCoder2, DeepSeek-Coder, SmolLM2), pre-tokenized by the rules that
//! `tokenizer.ggml.pre` names, and SentencePiece (`llama`: CodeLlama), whose merges are
//! derived from the piece scores. Control tokens are never produced from user text:
//! the caller places them by id, and `encode` splits any that a merge produced.

mod pretokenize;
mod stream;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::normalizers::{Prepend, Replace, Sequence as NormalizerSequence};
use tokenizers::{AddedToken, Tokenizer};

use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;

pub use stream::StreamDecoder;

/// GGUF `token_type` of control tokens.
const TOKEN_TYPE_CONTROL: i64 = 3;
/// GGUF `token_type` of user-defined tokens: pieces matched in the raw text before the
/// vocabulary's own rules run (Gemma's runs of spaces and newlines).
const TOKEN_TYPE_USER_DEFINED: i64 = 4;
/// SentencePiece's word-boundary marker.
const SPM_SPACE: char = '\u{2581}';

/// How the vocabulary turns text into pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VocabKind {
    /// Byte-level BPE (GPT-2 style).
    ByteLevel,
    /// SentencePiece BPE with byte fallback.
    SentencePiece,
}

/// A model's tokenizer and the byte string of every token.
pub struct ModelTokenizer {
    inner: Tokenizer,
    kind: VocabKind,
    tokens: Vec<String>,
    token_bytes: Vec<Vec<u8>>,
    control: Vec<bool>,
    ids: HashMap<String, u32>,
    /// Bytes the vocabulary cannot spell (byte-level vocabularies that lack some of the
    /// 256 byte symbols: SmolLM2 has no token for most ASCII control characters).
    unspellable: [bool; 256],
    /// Where it came from (for errors).
    source: PathBuf,
}

/// What stands in for a character the vocabulary cannot spell: one byte per byte, so
/// offsets into the text stay offsets into what the tokens spell.
pub const UNSPELLABLE: char = '?';

impl ModelTokenizer {
    /// Builds the tokenizer for `gguf`, preferring a `tokenizer.json` beside the model.
    pub fn load(gguf: &GgufFile) -> Result<ModelTokenizer> {
        let tokens = gguf
            .opt_strings("tokenizer.ggml.tokens")?
            .ok_or_else(|| gguf.metadata_error("tokenizer.ggml.tokens", "is missing"))?
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        if tokens.is_empty() {
            return Err(gguf.metadata_error("tokenizer.ggml.tokens", "is empty"));
        }
        let types = gguf.opt_ints("tokenizer.ggml.token_type")?.unwrap_or_default();
        let control: Vec<bool> = (0..tokens.len()).map(|i| types.get(i) == Some(&TOKEN_TYPE_CONTROL)).collect();
        let user_defined: Vec<&str> = tokens
            .iter()
            .zip(&types)
            .filter(|(_, &t)| t == TOKEN_TYPE_USER_DEFINED)
            .map(|(text, _)| text.as_str())
            .collect();
        let model = gguf.opt_str("tokenizer.ggml.model").unwrap_or("gpt2");
        let kind = match model {
            "gpt2" => VocabKind::ByteLevel,
            "llama" => VocabKind::SentencePiece,
            other => {
                return Err(ModelError::Tokenizer {
                    path: gguf.path().to_owned(),
                    reason: format!("vocabulary type `{other}` is not supported (supported: gpt2, llama)"),
                })
            }
        };
        let beside = gguf.path().with_file_name("tokenizer.json");
        let (inner, source) = if beside.is_file() {
            let t = Tokenizer::from_file(&beside).map_err(|e| tokenizer_error(&beside, e))?;
            (t, beside)
        } else {
            let mut t = match kind {
                VocabKind::ByteLevel => byte_level_bpe(gguf, &tokens)?,
                VocabKind::SentencePiece => sentencepiece_bpe(gguf, &tokens)?,
            };
            // Matched in the text as it is, longest first, as llama.cpp does.
            let added: Vec<AddedToken> =
                user_defined.iter().map(|text| AddedToken::from(*text, false).normalized(false)).collect();
            t.add_tokens(&added);
            (t, gguf.path().to_owned())
        };
        Ok(Self::assemble(inner, kind, tokens, control, source))
    }

    fn assemble(
        mut inner: Tokenizer,
        kind: VocabKind,
        tokens: Vec<String>,
        control: Vec<bool>,
        source: PathBuf,
    ) -> Self {
        // Text that spells a special token is encoded as text, never as the token.
        inner.set_encode_special_tokens(true);
        let token_bytes = tokens.iter().map(|t| piece_bytes(kind, t)).collect();
        let ids: HashMap<String, u32> = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        let mut unspellable = [false; 256];
        if kind == VocabKind::ByteLevel {
            for (byte, missing) in unspellable.iter_mut().enumerate() {
                *missing = !ids.contains_key(pretokenize::byte_symbol(byte as u8).to_string().as_str());
            }
        }
        ModelTokenizer { inner, kind, tokens, token_bytes, control, ids, unspellable, source }
    }

    /// `text` as the vocabulary can spell it: each character with a byte it has no
    /// token for becomes [`UNSPELLABLE`], once per byte (the BPE model would silently
    /// drop it, and the prompt would no longer say what the buffer says).
    pub fn spellable<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        if !text.bytes().any(|b| self.unspellable[usize::from(b)]) {
            return std::borrow::Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            let mut buf = [0u8; 4];
            let bytes = c.encode_utf8(&mut buf).as_bytes();
            if bytes.iter().any(|&b| self.unspellable[usize::from(b)]) {
                out.extend(std::iter::repeat_n(UNSPELLABLE, bytes.len()));
            } else {
                out.push(c);
            }
        }
        std::borrow::Cow::Owned(out)
    }

    /// Token ids for `text`; control tokens never appear. The tokens spell
    /// [`ModelTokenizer::spellable`]`(text)`: the text itself, unless the vocabulary lacks a byte.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let text = self.spellable(text);
        let encoding = self.inner.encode_fast(text.as_ref(), false).map_err(|e| tokenizer_error(&self.source, e))?;
        let ids = encoding.get_ids();
        if !ids.iter().any(|&id| self.is_control(id)) {
            return Ok(ids.to_vec());
        }
        // A merge built a control token out of plain text: spell it out byte by byte.
        let mut out = Vec::with_capacity(ids.len() + 8);
        for &id in ids {
            if self.is_control(id) {
                // `token_bytes` is empty for control tokens: spell the piece itself.
                let piece = self.tokens.get(id as usize).map_or("", String::as_str);
                out.extend(self.bytes_as_tokens(&piece_bytes(self.kind, piece))?);
            } else {
                out.push(id);
            }
        }
        Ok(out)
    }

    fn bytes_as_tokens(&self, bytes: &[u8]) -> Result<Vec<u32>> {
        bytes
            .iter()
            .map(|&b| {
                let piece = match self.kind {
                    VocabKind::ByteLevel => pretokenize::byte_symbol(b).to_string(),
                    VocabKind::SentencePiece => format!("<0x{b:02X}>"),
                };
                self.ids.get(&piece).copied().ok_or_else(|| ModelError::Tokenizer {
                    path: self.source.clone(),
                    reason: format!("no token for byte {b:#04x}"),
                })
            })
            .collect()
    }

    /// The bytes token `id` stands for (empty for unknown ids and control tokens).
    pub fn token_bytes(&self, id: u32) -> &[u8] {
        self.token_bytes.get(id as usize).map_or(&[], Vec::as_slice)
    }

    /// Whether `id` is a control token (never part of text).
    pub fn is_control(&self, id: u32) -> bool {
        self.control.get(id as usize).copied().unwrap_or(false)
    }

    /// The id of the token spelled exactly `text`, if the vocabulary has one.
    pub fn id_of(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    /// The spelling of token `id` in the vocabulary.
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// The vocabulary kind.
    pub fn kind(&self) -> VocabKind {
        self.kind
    }

    /// The text of `ids`, with invalid UTF-8 replaced (for logs and tests).
    pub fn decode(&self, ids: &[u32]) -> String {
        let bytes: Vec<u8> = ids.iter().flat_map(|&id| self.token_bytes(id).iter().copied()).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// The bytes a vocabulary piece stands for.
fn piece_bytes(kind: VocabKind, piece: &str) -> Vec<u8> {
    match kind {
        VocabKind::ByteLevel => {
            let mut out = Vec::with_capacity(piece.len());
            for c in piece.chars() {
                match pretokenize::symbol_byte(c) {
                    Some(b) => out.push(b),
                    // Added tokens are stored as plain text.
                    None => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                }
            }
            out
        }
        VocabKind::SentencePiece => {
            if let Some(hex) = piece.strip_prefix("<0x").and_then(|p| p.strip_suffix('>')) {
                if let Ok(b) = u8::from_str_radix(hex, 16) {
                    return vec![b];
                }
            }
            piece.replace(SPM_SPACE, " ").into_bytes()
        }
    }
}

fn tokenizer_error(path: &Path, e: impl std::fmt::Display) -> ModelError {
    ModelError::Tokenizer { path: path.to_owned(), reason: e.to_string() }
}

fn vocab_map(tokens: &[String]) -> Vocab {
    let mut vocab = Vocab::default();
    for (i, t) in tokens.iter().enumerate() {
        // The first spelling wins, as in llama.cpp, if a vocabulary repeats a piece.
        vocab.entry(t.clone()).or_insert(i as u32);
    }
    vocab
}

fn byte_level_bpe(gguf: &GgufFile, tokens: &[String]) -> Result<Tokenizer> {
    let merges = gguf
        .opt_strings("tokenizer.ggml.merges")?
        .ok_or_else(|| gguf.metadata_error("tokenizer.ggml.merges", "is missing (a gpt2 vocabulary needs merges)"))?;
    let merges = merges
        .iter()
        .map(|m| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .ok_or_else(|| gguf.metadata_error("tokenizer.ggml.merges", format!("has a malformed merge {m:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let pre = gguf.opt_str("tokenizer.ggml.pre").unwrap_or("default");
    let rules = pretokenize::rules_for(pre);
    let bpe = BPE::builder()
        .vocab_and_merges(vocab_map(tokens), merges)
        .ignore_merges(rules.ignore_merges)
        .build()
        .map_err(|e| tokenizer_error(gguf.path(), e))?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer
        .with_pre_tokenizer(Some(pretokenize::pre_tokenizer(&rules).map_err(|e| tokenizer_error(gguf.path(), e))?));
    Ok(tokenizer)
}

fn sentencepiece_bpe(gguf: &GgufFile, tokens: &[String]) -> Result<Tokenizer> {
    let scores = gguf.opt_f32s("tokenizer.ggml.scores")?.unwrap_or_default();
    let vocab = vocab_map(tokens);
    let merges = merges_from_scores(tokens, &scores, &vocab);
    let mut builder = BPE::builder().vocab_and_merges(vocab, merges).byte_fallback(true).fuse_unk(true);
    if let Some(unk) = gguf.opt_u64("tokenizer.ggml.unknown_token_id")?.and_then(|id| tokens.get(id as usize)) {
        builder = builder.unk_token(unk.clone());
    }
    let bpe = builder.build().map_err(|e| tokenizer_error(gguf.path(), e))?;
    let mut tokenizer = Tokenizer::new(bpe);
    let add_prefix = gguf.value("tokenizer.ggml.add_space_prefix").and_then(|v| v.to_bool().ok()).unwrap_or(true);
    let replace = Replace::new(" ", SPM_SPACE.to_string()).map_err(|e| tokenizer_error(gguf.path(), e))?;
    let normalizer = if add_prefix {
        NormalizerSequence::new(vec![Prepend::new(SPM_SPACE.to_string()).into(), replace.into()])
    } else {
        NormalizerSequence::new(vec![replace.into()])
    };
    tokenizer.with_normalizer(Some(normalizer));
    Ok(tokenizer)
}

/// SentencePiece vocabularies have scores, not merges: every split of a piece into two
/// pieces of the vocabulary is a merge, ranked by the score of the merged piece (the
/// order the `transformers` converters use, so results agree with them).
fn merges_from_scores(tokens: &[String], scores: &[f32], vocab: &Vocab) -> Vec<(String, String)> {
    let mut merges: Vec<(String, String, f32)> = Vec::new();
    for (i, piece) in tokens.iter().enumerate() {
        let score = scores.get(i).copied().unwrap_or(0.0);
        let mut local: Vec<(String, String, f32)> = piece
            .char_indices()
            .skip(1)
            .filter_map(|(at, _)| {
                let (l, r) = piece.split_at(at);
                (vocab.contains_key(l) && vocab.contains_key(r)).then(|| (l.to_owned(), r.to_owned(), score))
            })
            .collect();
        local.sort_by_key(|(l, r, _)| (vocab.get(l).copied(), vocab.get(r).copied()));
        merges.extend(local);
    }
    merges.sort_by(|a, b| b.2.total_cmp(&a.2));
    merges.into_iter().map(|(l, r, _)| (l, r)).collect()
}
