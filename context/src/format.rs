//! Prompt formats: one row per model family, saying whether it fills in the middle
//! and how other files and the current file's path are written around the code.
//! The row for a model is picked from the model's facts; users may name another.

use crate::tokens::SpecialTokens;

/// A prompt layout.
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
pub(crate) enum FileLayout {
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

/// One row of the format table.
pub(crate) struct FormatRow {
    pub(crate) format: PromptFormat,
    /// The name users write in settings.
    pub(crate) name: &'static str,
    /// Whether the suffix is part of the prompt.
    pub(crate) fim: bool,
    /// How files are written when the vocabulary has the tokens; path comments otherwise.
    pub(crate) layout: FileLayout,
}

/// Every format (facts from each family's model card and tokenizer configuration).
const FORMATS: &[FormatRow] = &[
    FormatRow { format: PromptFormat::QwenCoder, name: "qwen", fim: true, layout: FileLayout::RepoBeforeFim },
    FormatRow { format: PromptFormat::StarCoder, name: "starcoder", fim: true, layout: FileLayout::RepoInsideFim },
    FormatRow { format: PromptFormat::DeepSeekCoder, name: "deepseek", fim: true, layout: FileLayout::PathComments },
    FormatRow { format: PromptFormat::CodeLlama, name: "codellama", fim: true, layout: FileLayout::PathComments },
    FormatRow { format: PromptFormat::CodeGemma, name: "codegemma", fim: true, layout: FileLayout::PathComments },
    FormatRow { format: PromptFormat::Fim, name: "fim", fim: true, layout: FileLayout::PathComments },
    FormatRow { format: PromptFormat::PrefixOnly, name: "prefix", fim: false, layout: FileLayout::HeaderTokens },
];

impl PromptFormat {
    /// Every format, in table order.
    pub fn all() -> impl Iterator<Item = PromptFormat> {
        FORMATS.iter().map(|row| row.format)
    }

    /// The format a settings name (`"qwen"`, `"starcoder"`, `"deepseek"`, `"codellama"`,
    /// `"codegemma"`, `"fim"`, `"prefix"`) stands for.
    pub fn from_name(name: &str) -> Option<PromptFormat> {
        FORMATS.iter().find(|row| row.name.eq_ignore_ascii_case(name.trim())).map(|row| row.format)
    }

    /// The name users write in settings.
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// Whether the prompt carries the text after the cursor.
    pub fn is_fim(self) -> bool {
        self.row().fim
    }

    pub(crate) fn row(self) -> &'static FormatRow {
        // The table has one row per variant (checked by a test).
        FORMATS.iter().find(|row| row.format == self).unwrap_or(&FORMATS[FORMATS.len() - 1])
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

    /// The file layout the vocabulary allows: path comments when the format's tokens are missing.
    pub(crate) fn layout(self, tokens: &SpecialTokens) -> FileLayout {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_has_one_row_and_a_name_that_reads_back() {
        for format in PromptFormat::all() {
            assert_eq!(FORMATS.iter().filter(|row| row.format == format).count(), 1);
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
}
