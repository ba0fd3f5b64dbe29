//! Protocol shapes lsp-types 0.94 does not have: LSP 3.18 inline completion, and our
//! own `infill/didComplete` timing notification.
//!
//! Field names follow the 3.18 specification, section "Inline Completion Request".

use serde::{Deserialize, Serialize};
use tower_lsp::lsp_types::{Position, Range, TextDocumentIdentifier};

use crate::engine::Timings;

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

/// The notification our editor clients send when the cursor rests somewhere.
pub const CURSOR_METHOD: &str = "infill/cursor";

/// `infill/cursor`: where the cursor is in a document.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CursorParams {
    /// The document.
    pub text_document: TextDocumentIdentifier,
    /// The cursor.
    pub position: Position,
}

/// `infill/didComplete`: sent when a completion request ends (answered or not; a
/// request the client cancels ends unheard) with what came of it and where its time
/// went, for the editor's status line and the log.
pub enum DidComplete {}

impl tower_lsp::lsp_types::notification::Notification for DidComplete {
    type Params = DidCompleteParams;
    const METHOD: &'static str = "infill/didComplete";
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AnswerSource {
    /// The model ran.
    Model,
    /// The same state was answered before (or speculated).
    Cache,
    /// The user typed the start of an earlier suggestion: its rest.
    TypedAhead,
    /// No model work was needed (mid-identifier, nothing to say).
    NoWork,
    /// The remote backend wrote it.
    Remote,
}

/// Why a completion request got no suggestion computed for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NoAnswer {
    /// Completions are turned off in the settings.
    Disabled,
    /// The document is not open.
    NotOpen,
    /// A newer request or an edit of the document came first.
    Superseded,
    /// The document changed while the answer was computed.
    Stale,
    /// The engine failed (the log says why).
    Failed,
}

/// The breakdown of one request: its answer and where the time went.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DidCompleteParams {
    /// The document.
    pub uri: tower_lsp::lsp_types::Url,
    /// Its version when answered (absent when it is not open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// Where the answer came from; absent when there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<AnswerSource>,
    /// Why there is no answer, when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_answer: Option<NoAnswer>,
    /// Characters suggested (0: nothing shown).
    pub suggestion_chars: usize,
    /// Waiting before model work (the adaptive delay), ms.
    pub delay_ms: f64,
    /// From the request's arrival to the answer, ms.
    pub total_ms: f64,
    /// The model's part, when it ran.
    #[serde(flatten)]
    pub timings: Option<Timings>,
    /// What the confidence filter made of the answer (`shown: false`: hidden).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<crate::confidence::Verdict>,
    /// Which backend answered and why (absent for answers from the cache).
    #[serde(default, skip_serializing_if = "Option::is_none", flatten)]
    pub routed: Option<crate::router::Routed>,
}
