//! Warming a document's KV cache before the first keystroke. When a document is opened,
//! or the editor says where its cursor rests (`infill/cursor`), and nothing else happens
//! for a moment, the prompt for that place is built and evaluated as background work
//! (the engine's slot for the document keeps it; any request preempts it), and its
//! prompt start is kept, so the first keystroke there only evaluates what was typed.
//! Without a cursor from the editor, a newly opened document is warmed at its start,
//! where editors put the cursor of a file opened for the first time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tower_lsp::lsp_types::{Position, Url};

use crate::engine::CompletionRequest;
use crate::position::position_to_byte;
use crate::session::Session;

/// How long the editor must stay quiet before warming starts.
pub const WARM_IDLE: Duration = Duration::from_millis(300);

/// The latest warm-up asked for: a newer one (or a request) makes an older one moot.
#[derive(Default)]
pub struct Warming {
    generation: AtomicU64,
}

/// Waits for the editor to be quiet, then evaluates the prompt for `uri` at `cursor`
/// (the document's start when `None`) in the background.
pub async fn after_idle(session: &Session, uri: Url, cursor: Option<Position>) {
    let generation = session.warming.generation.fetch_add(1, Ordering::AcqRel) + 1;
    tokio::time::sleep(WARM_IDLE).await;
    if session.warming.generation.load(Ordering::Acquire) != generation {
        return; // a newer place to warm
    }
    let config = session.config();
    let Some(snapshot) = session.documents.snapshot(&uri) else { return };
    if !config.enable || snapshot.edited_at.is_some_and(|at| at.elapsed() < WARM_IDLE) {
        return; // the user is typing: requests do the work
    }
    let cursor = cursor.map_or(0, |p| position_to_byte(&snapshot.rope, p, session.encoding()));
    let token = session.speculation.begin();
    let context = crate::request_context::gather(session, &uri, &snapshot, &config).await;
    if token.is_cancelled() {
        return;
    }
    let request = CompletionRequest {
        max_tokens: 0,
        time_budget: None,
        background: true,
        drafts: 0,
        ..CompletionRequest::new(uri.clone(), snapshot.clone(), cursor, context, &config)
    };
    let engine = session.slot.current();
    match engine.complete(request, token).await {
        Ok(completion) => {
            if let Some(anchor) = completion.prefix_start {
                session.documents.set_prompt_start(&uri, snapshot.version, anchor);
            }
            if let Some(t) = completion.timings {
                tracing::debug!(%uri, cursor, evaluated = t.report.evaluated_tokens, reused = t.report.reused_tokens, prefill_ms = t.report.prefill_ms, stop = ?t.report.stop, "warmed");
            }
        }
        Err(e) => tracing::debug!(%uri, "warming failed: {e:#}"),
    }
}

/// Counts a request as activity: a warm-up scheduled before it is abandoned (the
/// request does the work).
pub fn note_request(session: &Session) {
    session.warming.generation.fetch_add(1, Ordering::AcqRel);
}
