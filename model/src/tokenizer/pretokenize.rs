//! Pre-tokenization rules by `tokenizer.ggml.pre`, and GPT-2's byte-to-symbol table.
//!
//! Each family splits text with its own regular expressions before BPE runs; the
//! patterns are the ones the families' own `tokenizer.json` files and llama.cpp use
//! (facts carried over, applied in order, matches kept as separate pieces).

use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::SplitDelimiterBehavior;

/// GPT-2's word splitter.
const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
/// Llama 3 (`llama-bpe`): numbers in groups of up to three.
const LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen2 / Qwen2.5-Coder: as Llama 3 but one digit at a time.
const QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Digits, one at a time.
const DIGIT: &str = r"\p{N}";

/// How one family pre-tokenizes.
pub struct Rules {
    /// Regular expressions applied in order; every match becomes its own piece.
    pub patterns: &'static [&'static str],
    /// Whether a word found whole in the vocabulary skips the merges (Llama 3).
    pub ignore_merges: bool,
}

/// The rules for a `tokenizer.ggml.pre` value; unknown names get GPT-2's.
pub fn rules_for(pre: &str) -> Rules {
    match pre {
        "qwen2" | "deepseek-r1-qwen" => Rules { patterns: &[QWEN2], ignore_merges: false },
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" => Rules { patterns: &[LLAMA3], ignore_merges: true },
        "starcoder" | "smollm" | "refact" | "codeshell" => Rules { patterns: &[DIGIT, GPT2], ignore_merges: false },
        "deepseek-coder" => Rules {
            patterns: &[r"[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", r"[一-龥ࠀ-一가-퟿]+", DIGIT],
            ignore_merges: false,
        },
        _ => Rules { patterns: &[GPT2], ignore_merges: false },
    }
}

/// The pre-tokenizer for `rules`: the splits, then the byte-to-symbol mapping.
pub fn pre_tokenizer(rules: &Rules) -> tokenizers::Result<PreTokenizerWrapper> {
    let mut steps: Vec<PreTokenizerWrapper> = Vec::new();
    for pattern in rules.patterns {
        steps.push(
            Split::new(SplitPattern::Regex((*pattern).to_owned()), SplitDelimiterBehavior::Isolated, false)?.into(),
        );
    }
    steps.push(ByteLevel::new(false, false, false).into());
    Ok(Sequence::new(steps).into())
}

/// Whether GPT-2 maps byte `b` to itself (printable, not space).
fn printable(b: u32) -> bool {
    matches!(b, 33..=126 | 161..=172 | 174..=255)
}

/// GPT-2's symbol for byte `b`: printable bytes stand for themselves, the others for
/// code points from U+0100 on, in byte order.
pub fn byte_symbol(b: u8) -> char {
    let b = u32::from(b);
    if printable(b) {
        return char::from_u32(b).unwrap_or('?');
    }
    let rank = (0..b).filter(|&c| !printable(c)).count() as u32;
    char::from_u32(256 + rank).unwrap_or('?')
}

/// The byte GPT-2's symbol `c` stands for, if it is one.
pub fn symbol_byte(c: char) -> Option<u8> {
    let c = c as u32;
    if c < 256 {
        return printable(c).then_some(c as u8);
    }
    let rank = c.checked_sub(256)? as usize;
    (0u32..256).filter(|&b| !printable(b)).nth(rank).map(|b| b as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_symbols_round_trip_and_match_gpt2() {
        for b in 0..=255u8 {
            assert_eq!(symbol_byte(byte_symbol(b)), Some(b));
        }
        assert_eq!(byte_symbol(b' '), 'Ġ');
        assert_eq!(byte_symbol(b'\n'), 'Ċ');
        assert_eq!(byte_symbol(b'a'), 'a');
        assert_eq!(symbol_byte('é'), Some(0xe9));
        assert_eq!(symbol_byte('漢'), None);
    }

    #[test]
    fn every_family_pattern_compiles() {
        for pre in ["default", "qwen2", "llama-bpe", "smollm", "deepseek-coder"] {
            assert!(pre_tokenizer(&rules_for(pre)).is_ok(), "{pre}");
        }
    }
}
