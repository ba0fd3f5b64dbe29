//! Which language a buffer is in, from the editor's language id or the file's name,
//! and the facts prompts need about it. The facts are data: one row per language in
//! [`crate::language_table`], tree-sitter queries per grammar under `queries/<lang>/`.

use crate::language_table::{LanguageSpec, LANGUAGES, PLAIN_TEXT};

/// A language as far as prompts are concerned: a row of the language table. Cheap to
/// copy; two values are equal when they are the same row.
#[derive(Clone, Copy)]
pub struct Language(&'static LanguageSpec);

/// How a language's blocks are delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Blocks {
    /// By brackets: a closing bracket at the depth a block was opened ends it.
    Brackets,
    /// By indentation alone (Python).
    Indentation,
}

/// Which way a grammar-less buffer or a grammar-backed one is read (shown by `infill-ls prompt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyntaxSource {
    /// Parsed with this tree-sitter grammar.
    Grammar(&'static str),
    /// No grammar: text rules only.
    TextRules,
}

impl std::fmt::Display for SyntaxSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyntaxSource::Grammar(name) => f.write_str(name),
            SyntaxSource::TextRules => f.write_str("text rules"),
        }
    }
}

impl PartialEq for Language {
    fn eq(&self, other: &Language) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Language {}

impl std::hash::Hash for Language {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.name.hash(state);
    }
}

impl std::fmt::Debug for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Language({})", self.0.name)
    }
}

impl Language {
    /// Rust.
    pub const RUST: Language = Language(&crate::language_table::RUST);
    /// Python.
    pub const PYTHON: Language = Language(&crate::language_table::PYTHON);
    /// Text with `//` comments and no grammar: what an unknown language is read as.
    pub const PLAIN_TEXT: Language = Language(&PLAIN_TEXT);

    /// The language of a buffer: the editor's language id when it names one we know,
    /// else the path's extension, else plain text.
    pub fn detect(language_id: &str, path: &str) -> Language {
        let file_name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let extension = file_name.rsplit_once('.').map(|(_, ext)| ext).unwrap_or("");
        let id = language_id.to_ascii_lowercase();
        let extension = extension.to_ascii_lowercase();
        LANGUAGES
            .iter()
            .find(|spec| spec.ids.contains(&id.as_str()))
            .or_else(|| {
                LANGUAGES.iter().find(|spec| !extension.is_empty() && spec.extensions.contains(&extension.as_str()))
            })
            .map_or(Language::PLAIN_TEXT, |spec| Language(spec))
    }

    /// Every language of the table, grammar-backed ones first.
    pub fn all() -> impl Iterator<Item = Language> {
        LANGUAGES.iter().map(|spec| Language(spec))
    }

    /// The languages with a tree-sitter grammar here.
    pub fn parsed() -> impl Iterator<Item = Language> {
        Language::all().filter(|l| l.0.grammar.is_some())
    }

    /// The row's name (`typescript`, `text (#)`).
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// The row itself.
    pub(crate) fn spec(self) -> &'static LanguageSpec {
        self.0
    }

    /// The tree-sitter grammar, for the languages that have one here.
    pub fn grammar(self) -> Option<tree_sitter::Language> {
        self.0.grammar.as_ref().map(|g| g.language.into())
    }

    /// Whether the buffer is parsed, and with which grammar.
    pub fn syntax_source(self) -> SyntaxSource {
        self.0.grammar.as_ref().map_or(SyntaxSource::TextRules, |g| SyntaxSource::Grammar(g.name))
    }

    /// What starts a line comment (the first marker where a language has several).
    pub fn line_comment(self) -> &'static str {
        self.0.lexical.line_comments.first().copied().unwrap_or("//")
    }

    /// Whether blocks are delimited by indentation alone (Python) rather than brackets.
    pub fn indentation_blocks(self) -> bool {
        self.0.blocks == Blocks::Indentation
    }

    /// Whether a line (its code up to the cursor) opens a block: it ends in one of the
    /// language's block openers (an open bracket; Python's colon).
    pub fn opens_block(self, line: &str) -> bool {
        let code = line.trim_end();
        self.0.block_openers.iter().any(|opener| code.ends_with(opener))
    }
}

#[cfg(test)]
mod tests {
    use super::{Language, SyntaxSource};

    #[test]
    fn ids_win_over_extensions_and_unknowns_fall_back() {
        assert_eq!(Language::detect("rust", "x.txt"), Language::RUST);
        assert_eq!(Language::detect("", "src/a.py"), Language::PYTHON);
        assert_eq!(Language::detect("plaintext", "a.rs"), Language::RUST);
        assert_eq!(Language::detect("lua", "a").line_comment(), "--");
        assert_eq!(Language::detect("klingon", "dir.v2/file"), Language::PLAIN_TEXT);
        assert_eq!(Language::detect("", "Makefile.sh").line_comment(), "#");
        assert_eq!(Language::detect("typescriptreact", "a.js").name(), "tsx");
        assert_eq!(Language::detect("plaintext", "src/App.TSX").name(), "tsx");
        assert_eq!(Language::detect("javascriptreact", "a").name(), "javascript");
        assert_eq!(Language::detect("cpp", "a.h").name(), "cpp");
        assert_eq!(Language::detect("plaintext", "a.h").name(), "c");
        assert_eq!(Language::detect("", "main.go").syntax_source(), SyntaxSource::Grammar("tree-sitter-go"));
        assert_eq!(Language::detect("kotlin", "a.kt").syntax_source(), SyntaxSource::TextRules);
    }

    #[test]
    fn every_id_and_extension_names_one_row() {
        let mut seen = std::collections::HashMap::new();
        for language in Language::all() {
            for key in language
                .spec()
                .ids
                .iter()
                .map(|i| ("id", *i))
                .chain(language.spec().extensions.iter().map(|e| ("ext", *e)))
            {
                if let Some(before) = seen.insert(key, language.name()) {
                    panic!("{key:?} is claimed by both {before} and {}", language.name());
                }
            }
        }
    }

    #[test]
    fn every_node_kind_a_row_names_is_its_grammars() {
        let mut unknown = Vec::new();
        for language in Language::parsed() {
            let grammar = language.grammar().expect("a grammar");
            let kinds = &language.spec().kinds;
            let lists = kinds.lists.iter().flat_map(|group| group.iter());
            for kind in kinds.strings.iter().chain(kinds.comments).chain(lists).chain(kinds.blocks) {
                if grammar.id_for_node_kind(kind, true) == 0 {
                    unknown.push(format!("{}: {kind}", language.name()));
                }
            }
        }
        assert!(unknown.is_empty(), "node kinds no grammar has:\n{}", unknown.join("\n"));
    }

    #[test]
    fn every_grammar_loads() {
        for language in Language::parsed() {
            let grammar = language.grammar().expect("a grammar");
            let mut parser = tree_sitter::Parser::new();
            assert!(parser.set_language(&grammar).is_ok(), "{} does not load", language.name());
        }
    }
}
