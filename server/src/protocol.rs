//! Protocol shapes lsp-types 0.94 does not have: LSP 3.18 inline completion, and our
//! own `infill/didComplete` timing notification.
//!
//! Field names follow the 3.18 specification, section "Inline Completion Request".

use serde::{Deserialize, Serialize};
use tower_lsp::lsp_types::{Position, Range, TextDocumentIdentifier};

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

/// `infill/didComplete`: sent after each answered completion request with where its
/// time went, for the editor's status line and the log.
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
}

/// The breakdown of one answer.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DidCompleteParams {
    /// The document.
    pub uri: tower_lsp::lsp_types::Url,
    /// Its version when answered.
    pub version: i32,
    /// Where the answer came from.
    pub source: AnswerSource,
    /// Characters suggested (0: nothing shown).
    pub suggestion_chars: usize,
    /// Prompt tokens whose keys and values were reused.
    pub reused_tokens: usize,
    /// Prompt tokens evaluated.
    pub evaluated_tokens: usize,
    /// Tokens generated.
    pub generated_tokens: usize,
    /// Of those, tokens an earlier answer to the same prompt (cut short) had computed.
    pub resumed_tokens: usize,
    /// Prompt tokens still to evaluate when the answer was given (the time limit came
    /// first); their evaluation goes on in the background.
    pub pending_tokens: usize,
    /// Prompt tokens whose cached keys and values were moved to new positions instead
    /// of being evaluated (see the `cacheReuse` setting).
    pub shifted_tokens: usize,
    /// Draft tokens (taken from the text itself) checked alongside generated ones.
    pub drafted_tokens: usize,
    /// Of those, the ones the model agreed with: each a decode step saved.
    pub accepted_drafts: usize,
    /// Only when the server runs with `INFILL_VERIFY_SHIFT` (measurements): whether an
    /// exact evaluation of the same prompt gives the same answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact_agrees: Option<bool>,
    /// Waiting before model work (the adaptive delay), ms.
    pub delay_ms: f64,
    /// Building the prompt, ms.
    pub prompt_ms: f64,
    /// Evaluating the prompt, ms.
    pub prefill_ms: f64,
    /// From the model job's start to its first token, ms.
    pub ttft_ms: f64,
    /// Generating after the first token, ms.
    pub decode_ms: f64,
    /// From the request's arrival to the answer, ms.
    pub total_ms: f64,
    /// Why generation ended (empty without a model run).
    pub stop: String,
}
