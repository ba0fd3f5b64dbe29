//! The part both completion methods share: snapshot, cursor, supersede, ask the
//! engine, and drop any answer that is no longer for the text on screen.

use tower_lsp::lsp_types::{Position, Url};

use crate::backend::Backend;
use crate::document::Snapshot;
use crate::engine::{CompletionRequest, Suggestion};
use crate::position::position_to_byte;

/// Suggestions and the snapshot their byte ranges refer to.
pub struct Suggested {
    /// The document the suggestions were computed on.
    pub snapshot: Snapshot,
    /// The cursor, as a byte offset into the snapshot.
    pub cursor: usize,
    /// Best first.
    pub suggestions: Vec<Suggestion>,
}

/// Computes suggestions at `position`, or `None` when there are none to show:
/// completions disabled, document not open, superseded, stale, or an engine error.
pub async fn suggest(backend: &Backend, uri: &Url, position: Position, invoked: bool) -> Option<Suggested> {
    let config = backend.config();
    if !config.enable {
        return None;
    }
    let Some(snapshot) = backend.documents.snapshot(uri) else {
        tracing::debug!(%uri, "completion asked for a document that is not open");
        return None;
    };
    let cursor = position_to_byte(&snapshot.rope, position, backend.encoding());
    // Supersedes the previous request for this document; dropping the ticket (the
    // request finished, or tower-lsp dropped this future on $/cancelRequest) cancels.
    let ticket = backend.in_flight.begin(uri);
    let context = crate::request_context::gather(backend, uri, &snapshot, &config).await;
    if ticket.token.is_cancelled() {
        return None;
    }
    let request = CompletionRequest {
        uri: uri.clone(),
        snapshot: snapshot.clone(),
        cursor,
        max_tokens: config.max_tokens,
        invoked,
        context,
    };
    let result = backend.slot.current().complete(request, ticket.token.clone()).await;
    if ticket.token.is_cancelled() {
        tracing::debug!(%uri, version = snapshot.version, "completion superseded");
        return None;
    }
    if backend.documents.version(uri) != Some(snapshot.version) {
        tracing::debug!(%uri, version = snapshot.version, "completion stale: the document changed");
        return None;
    }
    match result {
        Ok(completion) => {
            if let Some(t) = &completion.timings {
                tracing::debug!(
                    %uri, prompt_ms = t.prompt_ms, reused = t.reused_tokens, evaluated = t.evaluated_tokens, generated = t.generated_tokens,
                    prefill_ms = t.prefill_ms, ttft_ms = t.ttft_ms, decode_ms = t.decode_ms, total_ms = t.total_ms,
                    stop = %t.stop, "completion"
                );
            }
            Some(Suggested { snapshot, cursor, suggestions: completion.suggestions })
        }
        Err(e) => {
            tracing::warn!(%uri, "completion failed: {e:#}");
            None
        }
    }
}
