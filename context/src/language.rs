//! Which language a buffer is in, from the editor's language id or the file's name,
//! and the little each language needs here: a grammar (Rust, Python) and how to write
//! a line comment.

/// A language as far as prompts are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    /// Rust: parsed with tree-sitter-rust.
    Rust,
    /// Python: parsed with tree-sitter-python.
    Python,
    /// Anything else: no syntax tree, text rules only. Holds the line-comment marker.
    Other(&'static str),
}

/// Language ids (LSP's list) and file extensions of languages without a grammar here,
/// with their line-comment marker (for path comments in prompts).
const COMMENT_MARKERS: &[(&[&str], &str)] = &[
    (
        &[
            "c",
            "cpp",
            "h",
            "hpp",
            "cc",
            "csharp",
            "cs",
            "go",
            "java",
            "javascript",
            "js",
            "jsx",
            "javascriptreact",
            "typescript",
            "ts",
            "tsx",
            "typescriptreact",
            "kotlin",
            "kt",
            "scala",
            "swift",
            "dart",
            "zig",
            "php",
            "objective-c",
            "groovy",
        ],
        "//",
    ),
    (
        &[
            "shellscript",
            "sh",
            "bash",
            "zsh",
            "fish",
            "ruby",
            "rb",
            "perl",
            "pl",
            "r",
            "yaml",
            "yml",
            "toml",
            "dockerfile",
            "makefile",
            "elixir",
            "ex",
            "exs",
            "julia",
            "jl",
            "nim",
            "powershell",
            "ps1",
            "cmake",
        ],
        "#",
    ),
    (&["lua", "sql", "haskell", "hs", "elm", "ada"], "--"),
    (&["lisp", "clojure", "clj", "scheme", "el", "emacs-lisp"], ";;"),
];

impl Language {
    /// The language of a buffer: the editor's language id when it names one we know,
    /// else the path's extension; `Other("//")` for anything unknown.
    pub fn detect(language_id: &str, path: &str) -> Language {
        let extension = path.rsplit_once('.').map(|(_, ext)| ext).filter(|ext| !ext.contains('/')).unwrap_or("");
        Self::from_name(&language_id.to_ascii_lowercase())
            .or_else(|| Self::from_name(&extension.to_ascii_lowercase()))
            .unwrap_or(Language::Other("//"))
    }

    fn from_name(name: &str) -> Option<Language> {
        match name {
            "rust" | "rs" => Some(Language::Rust),
            "python" | "py" | "pyi" | "pyw" => Some(Language::Python),
            "" => None,
            _ => COMMENT_MARKERS
                .iter()
                .find(|(names, _)| names.contains(&name))
                .map(|(_, marker)| Language::Other(marker)),
        }
    }

    /// The tree-sitter grammar, for the languages that have one here.
    pub fn grammar(self) -> Option<tree_sitter::Language> {
        match self {
            Language::Rust => Some(tree_sitter_rust::LANGUAGE.into()),
            Language::Python => Some(tree_sitter_python::LANGUAGE.into()),
            Language::Other(_) => None,
        }
    }

    /// What starts a line comment.
    pub fn line_comment(self) -> &'static str {
        match self {
            Language::Rust => "//",
            Language::Python => "#",
            Language::Other(marker) => marker,
        }
    }

    /// Whether blocks are delimited by indentation alone (Python) rather than brackets.
    pub fn indentation_blocks(self) -> bool {
        self == Language::Python
    }

    /// Whether a line (its code up to the cursor) opens a block: an open bracket, or a
    /// colon where blocks are indentation.
    pub fn opens_block(self, line: &str) -> bool {
        let code = line.trim_end();
        code.ends_with(['{', '(', '[']) || (self.indentation_blocks() && code.ends_with(':'))
    }

    /// Whether `'` opens a string in this language (not in Rust, where it also starts
    /// lifetimes and labels).
    pub(crate) fn single_quote_strings(self) -> bool {
        !matches!(self, Language::Rust)
    }
}

#[cfg(test)]
mod tests {
    use super::Language;

    #[test]
    fn ids_win_over_extensions_and_unknowns_fall_back() {
        assert_eq!(Language::detect("rust", "x.txt"), Language::Rust);
        assert_eq!(Language::detect("", "src/a.py"), Language::Python);
        assert_eq!(Language::detect("plaintext", "a.rs"), Language::Rust);
        assert_eq!(Language::detect("lua", "a"), Language::Other("--"));
        assert_eq!(Language::detect("klingon", "dir.v2/file"), Language::Other("//"));
        assert_eq!(Language::detect("", "Makefile.sh"), Language::Other("#"));
    }
}
