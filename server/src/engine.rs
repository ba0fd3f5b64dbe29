//! The one interface through which completions are computed.
//!
//! Handlers hand an engine a snapshot of the document, the cursor as a byte offset and
//! a cancel token; the engine answers with suggestions as byte ranges and text. The
//! model and context crates plug in behind this trait; until a model is loaded the
//! server runs [`NoModel`], which suggests nothing.

pub mod test_double;

use std::ops::Range;

use futures::future::BoxFuture;
use tower_lsp::lsp_types::Url;

use crate::cancel::CancelToken;
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
}

/// One suggestion: replace `replace` (bytes of the snapshot) with `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    /// The text to insert.
    pub text: String,
    /// The bytes it replaces; `cursor..cursor` to insert at the cursor.
    pub replace: Range<usize>,
}

/// Computes suggestions. Implementations must return promptly once `cancel` is set,
/// and must not block the async runtime (heavy work belongs on its own thread).
pub trait CompletionEngine: Send + Sync + 'static {
    /// Suggestions for `request`, best first; empty when there is nothing to say.
    fn complete(&self, request: CompletionRequest, cancel: CancelToken) -> BoxFuture<'static, anyhow::Result<Vec<Suggestion>>>;
}

/// The engine used while no model is loaded: it suggests nothing.
pub struct NoModel;

impl CompletionEngine for NoModel {
    fn complete(&self, _request: CompletionRequest, _cancel: CancelToken) -> BoxFuture<'static, anyhow::Result<Vec<Suggestion>>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}
