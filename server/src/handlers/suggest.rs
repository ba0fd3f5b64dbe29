//! The part both completion methods share: snapshot, cursor, supersede, answer from
//! the cache when no model work is needed, else wait the adaptive delay and ask the
//! engine; drop any answer that is no longer for the text on screen; tell the client
//! where the time went (`infill/didComplete`); start the speculative next step.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tower_lsp::lsp_types::{Position, Url};

use crate::backend::Backend;
use crate::cancel::CancelToken;
use crate::document::Snapshot;
use crate::engine::{CompletionRequest, Suggestion, Timings};
use crate::position::position_to_byte;
use crate::protocol::{AnswerSource, DidComplete, DidCompleteParams};
use crate::speculation::{speculate, Accepted};
use crate::suggestion_cache::{Hit, Window};

/// How often a waiting request checks whether it was superseded.
const DELAY_STEP: Duration = Duration::from_millis(5);

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
    let received = Instant::now();
    let config = backend.config();
    if !config.enable {
        return None;
    }
    let Some(snapshot) = backend.documents.snapshot(uri) else {
        tracing::debug!(%uri, "completion asked for a document that is not open");
        return None;
    };
    let cursor = position_to_byte(&snapshot.rope, position, backend.encoding());
    // Real requests come first: whatever was being speculated or warmed stops.
    backend.speculation.preempt();
    crate::warm::note_request(backend);
    // Supersedes the previous request for this document; dropping the ticket (the
    // request finished, or tower-lsp dropped this future on $/cancelRequest) cancels.
    let ticket = backend.in_flight.begin(uri);
    let window = Window::of(&snapshot.rope, cursor);
    if let Some(hit) = backend.suggestions.lookup(uri, &window) {
        let (text, source) = match hit {
            Hit::Exact(text) => (text, AnswerSource::Cache),
            Hit::TypedAhead { rest, .. } => (rest, AnswerSource::TypedAhead),
        };
        tracing::debug!(%uri, ?source, chars = text.len(), "answered without the model");
        notify(backend, uri, &snapshot, source, text.len(), None, Duration::ZERO, received).await;
        let suggestions = if text.is_empty() { Vec::new() } else { vec![Suggestion { text, replace: cursor..cursor }] };
        return Some(Suggested { snapshot, cursor, suggestions });
    }
    let delay = backend.pace.delay(uri, config.completion_delay);
    if !wait(delay, &ticket.token).await {
        tracing::debug!(%uri, ?delay, "completion superseded while waiting");
        return None;
    }
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
        context: context.clone(),
        time_budget: config.time_budget,
        deadline: config.time_limit.map(|limit| received + limit),
        background: false,
        cache_reuse: config.cache_reuse,
        drafts: config.drafts,
    };
    let engine = backend.slot.current();
    let result = engine.complete(request, ticket.token.clone()).await;
    if ticket.token.is_cancelled() {
        tracing::debug!(%uri, version = snapshot.version, "completion superseded");
        return None;
    }
    if backend.documents.version(uri) != Some(snapshot.version) {
        tracing::debug!(%uri, version = snapshot.version, "completion stale: the document changed");
        return None;
    }
    let completion = match result {
        Ok(completion) => completion,
        Err(e) => {
            tracing::warn!(%uri, "completion failed: {e:#}");
            return None;
        }
    };
    if let Some(anchor) = &completion.prefix_start {
        backend.documents.set_prompt_start(uri, snapshot.version, anchor.clone());
    }
    let text = completion.suggestions.first().map(|s| s.text.clone()).unwrap_or_default();
    let source = match &completion.timings {
        Some(t) => {
            tracing::debug!(
                %uri, prompt_ms = t.prompt_ms, reused = t.reused_tokens, evaluated = t.evaluated_tokens,
                generated = t.generated_tokens, prefill_ms = t.prefill_ms, ttft_ms = t.ttft_ms, decode_ms = t.decode_ms,
                total_ms = t.total_ms, stop = %t.stop, "completion"
            );
            backend.pace.answered(received.elapsed().as_secs_f64() * 1e3);
            // Only answers the model finished are kept: one cut short by time is asked
            // again, and the engine goes on from where it stopped.
            if t.is_final {
                backend.suggestions.store(uri, &window, &text);
            }
            AnswerSource::Model
        }
        None => AnswerSource::NoWork,
    };
    notify(backend, uri, &snapshot, source, text.len(), completion.timings.as_ref(), delay, received).await;
    // Only from a whole answer: after one cut short, the next request goes on with it.
    let whole = completion.timings.as_ref().is_some_and(|t| t.is_final);
    if config.speculate && source == AnswerSource::Model && whole && !text.is_empty() {
        // The speculation's prompt starts where this one did, so both share the cache.
        let mut context = context;
        context.prefix_anchor = completion.prefix_start.clone().or(context.prefix_anchor);
        let accepted = Accepted {
            uri: uri.clone(),
            snapshot: snapshot.clone(),
            cursor,
            suggestion: text,
            context,
            max_tokens: config.max_tokens,
            time_budget: config.time_budget,
            cache_reuse: config.cache_reuse,
            drafts: config.drafts,
        };
        speculate(&backend.speculation, engine, Arc::clone(&backend.suggestions), accepted);
    }
    Some(Suggested { snapshot, cursor, suggestions: completion.suggestions })
}

/// Waits `delay` unless `token` is cancelled first; returns whether to go on.
async fn wait(delay: Duration, token: &CancelToken) -> bool {
    let until = Instant::now() + delay;
    while Instant::now() < until {
        if token.is_cancelled() {
            return false;
        }
        tokio::time::sleep(DELAY_STEP.min(until.saturating_duration_since(Instant::now()))).await;
    }
    !token.is_cancelled()
}

/// Sends `infill/didComplete` for an answer.
#[allow(clippy::too_many_arguments, reason = "the parts of one report, each from elsewhere")]
async fn notify(
    backend: &Backend,
    uri: &Url,
    snapshot: &Snapshot,
    source: AnswerSource,
    chars: usize,
    timings: Option<&Timings>,
    delay: Duration,
    received: Instant,
) {
    let t = timings.cloned().unwrap_or_default();
    let params = DidCompleteParams {
        uri: uri.clone(),
        version: snapshot.version,
        source,
        suggestion_chars: chars,
        reused_tokens: t.reused_tokens,
        evaluated_tokens: t.evaluated_tokens,
        generated_tokens: t.generated_tokens,
        resumed_tokens: t.resumed_tokens,
        pending_tokens: t.pending_tokens,
        shifted_tokens: t.shifted_tokens,
        exact_agrees: t.exact_agrees,
        drafted_tokens: t.drafted_tokens,
        accepted_drafts: t.accepted_drafts,
        delay_ms: delay.as_secs_f64() * 1e3,
        prompt_ms: t.prompt_ms,
        prefill_ms: t.prefill_ms,
        ttft_ms: t.ttft_ms,
        decode_ms: t.decode_ms,
        total_ms: received.elapsed().as_secs_f64() * 1e3,
        stop: t.stop,
    };
    backend.client.send_notification::<DidComplete>(params).await;
}
