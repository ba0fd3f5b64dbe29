//! The one interface through which completions are computed.
//!
//! Handlers hand an engine a snapshot of the document, the cursor as a byte offset and
//! a cancel token; the engine answers with suggestions as byte ranges and text. The
//! model and context crates plug in behind this trait; until a model is loaded the
//! server runs [`NoModel`], which suggests nothing.

pub mod model_engine;
pub mod slot;
pub mod test_double;

use std::ops::Range;

use futures::future::BoxFuture;
use infill_context::{OtherFile, PromptFormat, Tree};
use infill_model::Report;
use serde::{Deserialize, Serialize};
use tower_lsp::lsp_types::Url;

use crate::cancel::CancelToken;
use crate::config::Config;
use crate::document::Snapshot;

/// What one completion needs to know.
#[derive(Clone)]
pub struct CompletionRequest {
    /// The document's URI (for logs and cross-file context).
    pub uri: Url,
    /// The document as it was when the request arrived.
    pub snapshot: Snapshot,
    /// The cursor, as a byte offset into `snapshot.rope` (on a char boundary).
    pub cursor: usize,
    /// Most tokens to generate.
    pub max_tokens: u32,
    /// True when the user asked explicitly, false while typing.
    pub invoked: bool,
    /// What the prompt builder knows beyond the buffer.
    pub context: RequestContext,
    /// Past this, generation stops at the next line end.
    pub time_budget: Option<std::time::Duration>,
    /// Past this instant, generation stops at once (the answer may end inside a line).
    pub deadline: Option<std::time::Instant>,
    /// Work ahead of need (speculation, warming a document): it gives way to any request.
    pub background: bool,
    /// Shortest run of cached tokens the engine may move instead of evaluating (0: none).
    pub cache_reuse: usize,
    /// Most draft tokens checked with each generated one (0: none).
    pub drafts: usize,
}

impl CompletionRequest {
    /// A request while typing at `cursor`, with the settings' limits; the fields say
    /// what else a caller may change.
    pub fn new(uri: Url, snapshot: Snapshot, cursor: usize, context: RequestContext, config: &Config) -> Self {
        CompletionRequest {
            uri,
            snapshot,
            cursor,
            max_tokens: config.max_tokens,
            invoked: false,
            context,
            time_budget: config.time_budget,
            deadline: None,
            background: false,
            cache_reuse: config.cache_reuse,
            drafts: config.drafts,
        }
    }
}

/// Syntax, other files and prompt settings for one request.
#[derive(Clone, Default)]
pub struct RequestContext {
    /// The document's syntax tree for `snapshot`, when it has one.
    pub tree: Option<Tree>,
    /// The document's path as shown to the model (relative to the workspace root when
    /// it is inside it).
    pub path: String,
    /// The workspace folder's name, for prompts with repository tokens.
    pub repo: Option<String>,
    /// Other open documents, most recently edited first.
    pub others: Vec<OtherFile>,
    /// A prompt format named in the settings, instead of the model's own.
    pub format: Option<PromptFormat>,
    /// Most prompt tokens, from the settings.
    pub budget: Option<usize>,
    /// Where the previous prompt for this document started (kept while it fits).
    pub prefix_anchor: Option<infill_context::PrefixAnchor>,
}

/// One suggestion: replace `replace` (bytes of the snapshot) with `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    /// The text to insert.
    pub text: String,
    /// The bytes it replaces; `cursor..cursor` to insert at the cursor.
    pub replace: Range<usize>,
}

/// Where the time of one completion went: the model engine's report of the job and
/// the server's part; sent to the editor inside `infill/didComplete`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    /// Building the prompt (syntax, budget, tokenization), ms.
    pub prompt_ms: f64,
    /// The whole request inside the engine, ms.
    pub engine_ms: f64,
    /// The engine's counts and times (its text aside).
    #[serde(flatten)]
    pub report: Report,
}

impl Timings {
    /// Whether the answer is all the model would say (not cut short by time or a
    /// cancel): only such answers are cached and followed by a speculation.
    pub fn is_final(&self) -> bool {
        self.report.stop.is_final()
    }
}

/// An engine's answer: suggestions, best first, and how long they took.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Completion {
    /// Empty when there is nothing to say.
    pub suggestions: Vec<Suggestion>,
    /// Present when a model ran.
    pub timings: Option<Timings>,
    /// Where the prompt's text started in the document, for the next request's anchor.
    pub prefix_start: Option<infill_context::PrefixAnchor>,
}

impl Completion {
    /// The best suggestion's text, empty when there is none.
    pub fn first_text(&self) -> &str {
        self.suggestions.first().map_or("", |s| s.text.as_str())
    }

    /// The best suggestion's text with the model's scores of its tokens (none when no
    /// model scored it).
    pub fn first_scored(&self) -> crate::confidence::Scored {
        let scores = self.timings.as_ref().map(|t| t.report.scores.as_slice()).unwrap_or_default();
        crate::confidence::Scored { text: self.first_text().to_owned(), scores: scores.into() }
    }
}

impl From<Vec<Suggestion>> for Completion {
    fn from(suggestions: Vec<Suggestion>) -> Self {
        Completion { suggestions, timings: None, prefix_start: None }
    }
}

/// The error an engine returns when it hit a bug (a panic) in a job and recovered: the
/// user is told once, unlike an ordinary failure, which only goes to the log.
#[derive(Debug)]
pub struct EnginePanicked(pub String);

impl std::fmt::Display for EnginePanicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "internal error in the model engine: {}", self.0)
    }
}

impl std::error::Error for EnginePanicked {}

/// Computes suggestions. Implementations must return promptly once `cancel` is set,
/// and must not block the async runtime (heavy work belongs on its own thread).
pub trait CompletionEngine: Send + Sync + 'static {
    /// Suggestions for `request`.
    fn complete(
        &self,
        request: CompletionRequest,
        cancel: CancelToken,
    ) -> BoxFuture<'static, anyhow::Result<Completion>>;
}

/// The engine used while no model is loaded: it suggests nothing.
pub struct NoModel;

impl CompletionEngine for NoModel {
    fn complete(
        &self,
        _request: CompletionRequest,
        _cancel: CancelToken,
    ) -> BoxFuture<'static, anyhow::Result<Completion>> {
        Box::pin(async { Ok(Completion::default()) })
    }
}
