//! Protocol shapes lsp-types 0.94 does not have: LSP 3.18 inline completion.
//!
//! Field names follow the 3.18 specification, section "Inline Completion Request".

use serde::{Deserialize, Serialize};
use tower_lsp::lsp_types::{Range, TextDocumentIdentifier, Position};

/// The request method for ghost-text completions.
pub const INLINE_COMPLETION_METHOD: &str = "textDocument/inlineCompletion";

/// `InlineCompletionParams`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InlineCompletionParams {
    /// The document.
    pub text_document: TextDocumentIdentifier,
    /// The cursor.
    pub position: Position,
    /// How the request was triggered (absent from some clients; treated as automatic).
    #[serde(default)]
    pub context: Option<InlineCompletionContext>,
}

/// `InlineCompletionContext`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InlineCompletionContext {
    /// 1 = invoked by the user, 2 = automatic while typing.
    pub trigger_kind: u8,
    /// The popup item selected when the request was made, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_completion_info: Option<SelectedCompletionInfo>,
}

/// `SelectedCompletionInfo`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectedCompletionInfo {
    /// The range the popup item would replace.
    pub range: Range,
    /// The popup item's text.
    pub text: String,
}

/// `InlineCompletionList`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct InlineCompletionList {
    /// The suggestions, best first.
    pub items: Vec<InlineCompletionItem>,
}

/// `InlineCompletionItem` (plain-text `insertText`; we never send snippets).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InlineCompletionItem {
    /// The text that replaces `range`.
    pub insert_text: String,
    /// What the client filters with; defaults to `insert_text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_text: Option<String>,
    /// The range to replace; the cursor alone when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
}
