//! Infill's prompt builder: turns a buffer and a cursor into the best prompt for the
//! loaded model, decides what kind of completion fits, and shapes the model's answer
//! into what the editor shows.
//!
//! - [`Language`] is a row of the language table (`language_table.rs`): ids, extensions,
//!   grammar, comment and string syntax, block rules; what its trees mean for scopes,
//!   definitions and imports is in query files, `context/queries/<lang>/*.scm`.
//! - [`Syntax`] keeps an incremental tree-sitter tree per buffer of a language with a
//!   grammar (Rust, Python, JavaScript, TypeScript, TSX, Go, Java, C, C++, C#, PHP,
//!   Ruby, Bash); other
//!   languages work from text alone.
//! - [`build`] makes a [`Prompt`] from a [`PromptInput`] (buffer, cursor, tree, other
//!   open buffers) and [`PromptOptions`] (the [`PromptFormat`] from the format table,
//!   the model's [`SpecialTokens`], the token budget), counting tokens exactly with the
//!   model's tokenizer through [`Tokenize`].
//! - The prompt carries the [`ShapeDecision`] (nothing, one line, a block) and a
//!   [`Finisher`], the stop check the engine runs as tokens stream and the final tidy-up.
//!
//! This crate knows nothing of LSP, tokio or the model's internals, and never fails on
//! the text it is given: when parsing fails or runs out of time it falls back to a
//! plain prefix/suffix prompt.

mod brackets;
mod budget;
mod cross_file;
mod finish;
mod language;
mod language_table;
mod prompt;
mod queries;
mod scopes;
mod shape;
mod syntax;
mod text;
mod token_cache;
mod tokens;

pub use budget::prompt_budget;
pub use cross_file::{OtherFile, Snippet, SnippetKind};
pub use finish::Finisher;
pub use infill_family::{FileLayout, PromptFormat, SpecialTokens};
pub use language::{Language, SyntaxSource};
pub use prompt::{build, MiddleAnchor, PartCounts, PrefixAnchor, Prompt, PromptInput, PromptOptions};
pub use shape::{decide as decide_shape, Shape, ShapeDecision};
pub use syntax::{ParseStats, Parsed, Syntax, SyntaxEdit, SyntaxSnapshot};
pub use text::{ceil_char, ceil_char_str, floor_char, is_word, word_start, IndentStyle};
pub use token_cache::{Boundary, CachedTokenizer, TokenCache};
pub use tokens::{Tokenize, TokenizeError};
/// The syntax tree type (tree-sitter's), re-exported so callers need no tree-sitter dependency.
pub use tree_sitter::Tree;

/// What can go wrong building a prompt: only the model's tokenizer can fail.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The tokenizer refused the text.
    #[error("tokenizing the prompt")]
    Tokenizer(#[from] TokenizeError),
}
