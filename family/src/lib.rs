//! Model families, one row each: how the family spells its fill-in-the-middle tokens,
//! which tokens end its answers, and how its prompts write other files and the path.
//! The model crate reads a vocabulary through this table ([`SpecialTokens::read`]); the
//! prompt builder writes prompts from it; adding a family is a `PromptFormat` variant,
//! its row and its spellings, here only.

/// A prompt layout: one per model family, plus the two generic ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PromptFormat {
    /// Qwen2.5-Coder: `<|fim_prefix|>`..., files as `<|repo_name|>` / `<|file_sep|>` sections.
    QwenCoder,
    /// StarCoder2: `<fim_prefix>`..., files as `<repo_name>` / `<file_sep>` sections, path inside the prefix.
    StarCoder,
    /// DeepSeek-Coder: `<｜fim▁begin｜>`..., other files as path comments.
    DeepSeekCoder,
    /// CodeLlama: `▁<PRE>`..., other files as path comments.
    CodeLlama,
    /// CodeGemma: `<|fim_prefix|>`..., other files as path comments.
    CodeGemma,
    /// Any other model with fill-in-the-middle tokens: prefix, suffix, middle.
    Fim,
    /// Models without fill-in-the-middle tokens: the text before the cursor only,
    /// under file-header tokens (`<filename>`, `<file_sep>`) when the vocabulary has them.
    PrefixOnly,
}

/// How files (other buffers' snippets, and the current file's path) are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileLayout {
    /// `<repo_name>repo\n`, then `<file_sep>path\ntext\n` per file, then
    /// `<file_sep>path\n` before the fill-in-the-middle tokens.
    RepoBeforeFim,
    /// `<repo_name>repo`, `<file_sep>path\ntext\n` per file, then `<file_sep>` and the
    /// current path as the prefix's first line.
    RepoInsideFim,
    /// A path comment and commented-out snippets at the top of the prefix.
    PathComments,
    /// `<header>path\ntext\n` per file, then `<header>path\n` and the prefix; the
    /// header is `<filename>`, else `<file_sep>`.
    HeaderTokens,
}

/// How a family spells its fill-in-the-middle tokens.
struct Spelling {
    /// Prefix, suffix and middle.
    fim: [&'static str; 3],
    pad: Option<&'static str>,
    /// Tells apart families that share the three FIM spellings.
    marker: Option<&'static str>,
    /// Tokens that end the family's answers, besides the file's end tokens.
    stops: &'static [&'static str],
}

/// One row of the family table.
struct Row {
    format: PromptFormat,
    /// The name users write in settings.
    name: &'static str,
    /// How files are written when the vocabulary has the tokens; path comments otherwise.
    layout: FileLayout,
    /// The family's token spellings, for the families that have their own.
    spelling: Option<&'static Spelling>,
}

/// Every format (facts from each family's model card and tokenizer configuration).
/// Families sharing FIM spellings are told apart by a marker token.
const ROWS: &[Row] = {
    use FileLayout::*;
    use PromptFormat::*;
    &[
        Row { format: QwenCoder, name: "qwen", layout: RepoBeforeFim, spelling: Some(&QWEN) },
        Row { format: StarCoder, name: "starcoder", layout: RepoInsideFim, spelling: Some(&STAR) },
        Row { format: DeepSeekCoder, name: "deepseek", layout: PathComments, spelling: Some(&DEEP) },
        Row { format: CodeLlama, name: "codellama", layout: PathComments, spelling: Some(&LLAMA) },
        Row { format: CodeGemma, name: "codegemma", layout: PathComments, spelling: Some(&GEMMA) },
        Row { format: Fim, name: "fim", layout: PathComments, spelling: None },
        Row { format: PrefixOnly, name: "prefix", layout: HeaderTokens, spelling: None },
    ]
};

const GEMMA: Spelling = Spelling {
    fim: ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"],
    pad: None,
    marker: Some("<|file_separator|>"),
    stops: &["<|file_separator|>", "<eos>", "<end_of_turn>"],
};
const QWEN: Spelling = Spelling {
    fim: ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"],
    pad: Some("<|fim_pad|>"),
    marker: None,
    stops: &["<|endoftext|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<|im_end|>"],
};
const STAR: Spelling = Spelling {
    fim: ["<fim_prefix>", "<fim_suffix>", "<fim_middle>"],
    pad: Some("<fim_pad>"),
    marker: None,
    stops: &["<|endoftext|>", "<file_sep>", "<fim_pad>"],
};
const DEEP: Spelling = Spelling {
    fim: ["<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"],
    pad: None,
    marker: None,
    stops: &["<｜end▁of▁sentence｜>", "<|EOT|>"],
};
const LLAMA: Spelling =
    Spelling { fim: ["▁<PRE>", "▁<SUF>", "▁<MID>"], pad: None, marker: None, stops: &["▁<EOT>", "</s>"] };

/// How vocabularies spell the repository-name header, first match wins.
const REPO_NAME: &[&str] = &["<|repo_name|>", "<repo_name>"];
/// How vocabularies spell the separator between files, first match wins.
const FILE_SEP: &[&str] = &["<|file_sep|>", "<file_sep>", "<|file_separator|>"];
/// How vocabularies spell the header before a file's path.
const FILENAME: &[&str] = &["<filename>"];

impl PromptFormat {
    /// Every format, in table order.
    pub fn all() -> impl Iterator<Item = PromptFormat> {
        ROWS.iter().map(|row| row.format)
    }

    /// The format a settings name (`"qwen"`, `"starcoder"`, `"deepseek"`, `"codellama"`,
    /// `"codegemma"`, `"fim"`, `"prefix"`) stands for.
    pub fn from_name(name: &str) -> Option<PromptFormat> {
        ROWS.iter().find(|row| row.name.eq_ignore_ascii_case(name.trim())).map(|row| row.format)
    }

    /// The name users write in settings.
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// Whether the prompt carries the text after the cursor: all but `PrefixOnly`.
    pub fn is_fim(self) -> bool {
        self != PromptFormat::PrefixOnly
    }

    fn row(self) -> &'static Row {
        // The table has one row per variant (checked by a test).
        ROWS.iter().find(|row| row.format == self).unwrap_or(&ROWS[ROWS.len() - 1])
    }

    /// The format a model can really use: a fill-in-the-middle format needs the three
    /// FIM tokens, else prefix-only.
    pub fn usable_with(self, tokens: &SpecialTokens) -> PromptFormat {
        if self.is_fim() && !tokens.has_fim() {
            PromptFormat::PrefixOnly
        } else {
            self
        }
    }

    /// The family's prefix, suffix and middle tokens as text (SentencePiece's `▁` as the
    /// space it stands for), for prompts written as text to a server; `None` for the
    /// formats without spellings of their own.
    pub fn fim_text(self) -> Option<[String; 3]> {
        let spelling = self.row().spelling?;
        Some(spelling.fim.map(|s| s.replace('\u{2581}', " ")))
    }

    /// The file layout the vocabulary allows: path comments when the format's tokens are missing.
    pub fn layout(self, tokens: &SpecialTokens) -> FileLayout {
        match self.row().layout {
            FileLayout::RepoBeforeFim | FileLayout::RepoInsideFim if tokens.file_sep.is_none() => {
                FileLayout::PathComments
            }
            FileLayout::HeaderTokens if tokens.filename.is_none() && tokens.file_sep.is_none() => {
                FileLayout::PathComments
            }
            layout => layout,
        }
    }
}

/// The special tokens a prompt may use, as the model's vocabulary has them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpecialTokens {
    /// Beginning of sequence, written first when `add_bos`.
    pub bos: Option<u32>,
    /// Whether prompts start with `bos`.
    pub add_bos: bool,
    /// Fill-in-the-middle: before the prefix.
    pub fim_prefix: Option<u32>,
    /// Fill-in-the-middle: before the suffix.
    pub fim_suffix: Option<u32>,
    /// Fill-in-the-middle: asks for the middle.
    pub fim_middle: Option<u32>,
    /// Repository name header (`<|repo_name|>`, `<repo_name>`).
    pub repo_name: Option<u32>,
    /// Between files (`<|file_sep|>`, `<file_sep>`, `<|file_separator|>`).
    pub file_sep: Option<u32>,
    /// Before a file's path (`<filename>`).
    pub filename: Option<u32>,
}

/// What a model file says of itself besides its vocabulary: token ids its metadata names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Declared {
    /// Beginning of sequence.
    pub bos: Option<u32>,
    /// Whether prompts start with `bos`.
    pub add_bos: bool,
    /// The fill-in-the-middle prefix, suffix and middle tokens the metadata names
    /// (all three, or none).
    pub fim: Option<[u32; 3]>,
    /// The pad token the metadata names.
    pub fim_pad: Option<u32>,
}

/// A model's family as its vocabulary shows it: its format, the tokens prompts use and
/// the tokens that end an answer (besides the file's own end tokens).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocabulary {
    /// The family's format; `Fim` for FIM tokens of no known family, `PrefixOnly` without.
    pub format: PromptFormat,
    /// Token ids for prompts.
    pub tokens: SpecialTokens,
    /// The family's end tokens, and the FIM pad.
    pub stops: Vec<u32>,
}

impl SpecialTokens {
    /// Whether all three fill-in-the-middle tokens are present.
    pub fn has_fim(&self) -> bool {
        self.fim_prefix.is_some() && self.fim_suffix.is_some() && self.fim_middle.is_some()
    }

    /// Reads a vocabulary (`id_of` gives a token's id from its spelling) and what the
    /// file's metadata declares: ids the metadata names win over spellings.
    pub fn read(declared: Declared, id_of: &dyn Fn(&str) -> Option<u32>) -> Vocabulary {
        let ids = |s: &Spelling| Some([id_of(s.fim[0])?, id_of(s.fim[1])?, id_of(s.fim[2])?]);
        // Rows with a marker are tried first: they share their spellings with one without.
        let mut spelled: Vec<(PromptFormat, &Spelling)> =
            ROWS.iter().filter_map(|row| Some((row.format, row.spelling?))).collect();
        spelled.sort_by_key(|(_, s)| s.marker.is_none());
        let spelled =
            spelled.into_iter().find(|(_, s)| ids(s).is_some() && s.marker.is_none_or(|m| id_of(m).is_some()));
        let from_spelling = spelled.and_then(|(_, s)| ids(s));
        let fim = declared.fim.or(from_spelling);
        let pad = match declared.fim {
            Some(_) => declared.fim_pad,
            None => spelled.and_then(|(_, s)| s.pad.and_then(id_of)),
        };
        let format = match (fim, spelled) {
            (None, _) => PromptFormat::PrefixOnly,
            (Some([prefix, ..]), Some((format, s))) if id_of(s.fim[0]) == Some(prefix) => format,
            (Some(_), _) => PromptFormat::Fim,
        };
        let mut stops: Vec<u32> = match spelled {
            Some((_, s)) if fim.is_some() => s.stops.iter().filter_map(|t| id_of(t)).collect(),
            _ => Vec::new(),
        };
        stops.extend(fim.and(pad));
        stops.sort_unstable();
        stops.dedup();
        let first = |names: &[&str]| names.iter().find_map(|n| id_of(n));
        let tokens = SpecialTokens {
            bos: declared.bos,
            add_bos: declared.add_bos && declared.bos.is_some(),
            fim_prefix: fim.map(|f| f[0]),
            fim_suffix: fim.map(|f| f[1]),
            fim_middle: fim.map(|f| f[2]),
            repo_name: first(REPO_NAME),
            file_sep: first(FILE_SEP),
            filename: first(FILENAME),
        };
        Vocabulary { format, tokens, stops }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_has_one_row_and_a_name_that_reads_back() {
        for format in PromptFormat::all() {
            assert_eq!(ROWS.iter().filter(|row| row.format == format).count(), 1);
            assert_eq!(PromptFormat::from_name(format.name()), Some(format));
        }
        assert_eq!(PromptFormat::all().count(), 7);
        assert_eq!(PromptFormat::from_name(" Qwen "), Some(PromptFormat::QwenCoder));
        assert_eq!(PromptFormat::from_name("gpt"), None);
    }

    #[test]
    fn formats_degrade_to_what_the_vocabulary_has() {
        let none = SpecialTokens::default();
        assert_eq!(PromptFormat::QwenCoder.usable_with(&none), PromptFormat::PrefixOnly);
        assert_eq!(PromptFormat::PrefixOnly.layout(&none), FileLayout::PathComments);
        let fim = SpecialTokens { fim_prefix: Some(1), fim_suffix: Some(2), fim_middle: Some(3), ..none };
        assert_eq!(PromptFormat::QwenCoder.usable_with(&fim), PromptFormat::QwenCoder);
        assert_eq!(PromptFormat::QwenCoder.layout(&fim), FileLayout::PathComments);
        let repo = SpecialTokens { file_sep: Some(4), ..fim };
        assert_eq!(PromptFormat::QwenCoder.layout(&repo), FileLayout::RepoBeforeFim);
        assert_eq!(PromptFormat::PrefixOnly.layout(&repo), FileLayout::HeaderTokens);
    }

    /// A vocabulary of the given spellings, ids in order.
    fn read(spellings: &[&str], declared: Declared) -> Vocabulary {
        SpecialTokens::read(declared, &|text| spellings.iter().position(|s| *s == text).map(|i| i as u32))
    }

    #[test]
    fn a_vocabulary_is_read_as_its_family() {
        let qwen =
            ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|fim_pad|>", "<|file_sep|>", "<|endoftext|>"];
        let vocab = read(&qwen, Declared::default());
        assert_eq!(vocab.format, PromptFormat::QwenCoder);
        assert_eq!((vocab.tokens.fim_prefix, vocab.tokens.file_sep, vocab.tokens.repo_name), (Some(0), Some(4), None));
        assert_eq!(vocab.stops, [3, 4, 5]);
        let gemma = ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|file_separator|>"];
        assert_eq!(read(&gemma, Declared::default()).format, PromptFormat::CodeGemma);
        let declared = Declared { fim: Some([7, 8, 9]), ..Declared::default() };
        assert_eq!(read(&qwen, declared).format, PromptFormat::Fim, "ids the metadata names win");
        let prefix_only =
            read(&["<filename>", "<|endoftext|>"], Declared { bos: Some(1), add_bos: true, ..Declared::default() });
        assert_eq!(prefix_only.format, PromptFormat::PrefixOnly);
        assert!(prefix_only.stops.is_empty(), "a family's stops count only with its FIM tokens");
        assert_eq!((prefix_only.tokens.filename, prefix_only.tokens.add_bos), (Some(0), true));
    }
}
