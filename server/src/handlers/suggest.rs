//! The part both completion methods share, as named steps: start (snapshot, cursor,
//! supersede the document's previous request), answer from the cache when no model
//! work is needed, else wait the adaptive delay and ask the engine, drop an answer
//! that is no longer for the text on screen, keep what the answer taught us, start
//! the speculative next step; and always tell the client what came of it
//! (`infill/didComplete`, with the reason when there is no answer).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tower_lsp::lsp_types::{Position, Url};

use crate::cancel::{CancelToken, Ticket};
use crate::config::Config;
use crate::document::Snapshot;
use crate::engine::{Completion, CompletionRequest, Suggestion, Timings};
use crate::position::position_to_byte;
use crate::protocol::{AnswerSource, DidComplete, DidCompleteParams, NoAnswer};
use crate::session::Session;
use crate::speculation::speculate;
use crate::suggestion_cache::{Hit, Window};

/// How often a waiting request checks whether it was superseded.
const DELAY_STEP: Duration = Duration::from_millis(5);

/// Suggestions and the snapshot their byte ranges refer to.
pub struct Suggested {
    /// The document the suggestions were computed on.
    pub snapshot: Snapshot,
    /// The cursor, as a byte offset into the snapshot.
    pub cursor: usize,
    /// Best first (empty: nothing to show here).
    pub suggestions: Vec<Suggestion>,
}

/// An answer and where it came from.
struct Answer {
    suggested: Suggested,
    source: AnswerSource,
    timings: Option<Timings>,
    delay: Duration,
}

/// Computes suggestions at `position`, or says why there are none; either way the
/// client hears of it through `infill/didComplete` (unless it cancelled the request:
/// tower-lsp then drops this future).
pub async fn suggest(session: &Session, uri: &Url, position: Position, invoked: bool) -> Result<Suggested, NoAnswer> {
    let received = Instant::now();
    let (version, result) = match Request::start(session, uri, position, invoked) {
        Ok(request) => (Some(request.snapshot.version), request.answer(received).await),
        Err(reason) => (session.documents.version(uri), Err(reason)),
    };
    if let Err(reason) = result {
        tracing::debug!(%uri, ?version, ?reason, "no answer");
    }
    notify(session, uri, version, &result, received).await;
    result.map(|answer| answer.suggested)
}

/// One request between its start and its answer.
struct Request<'a> {
    session: &'a Session,
    uri: &'a Url,
    config: Config,
    snapshot: Snapshot,
    cursor: usize,
    window: Window,
    invoked: bool,
    /// Supersedes the document's previous request; dropping it (the request finished,
    /// or tower-lsp dropped the future on `$/cancelRequest`) cancels.
    ticket: Ticket<'a>,
}

impl<'a> Request<'a> {
    /// Takes the document's snapshot and supersedes its previous request; whatever was
    /// being speculated or warmed stops, since real requests come first.
    fn start(session: &'a Session, uri: &'a Url, position: Position, invoked: bool) -> Result<Self, NoAnswer> {
        let config = session.config();
        if !config.enable {
            return Err(NoAnswer::Disabled);
        }
        let snapshot = session.documents.snapshot(uri).ok_or(NoAnswer::NotOpen)?;
        let cursor = position_to_byte(&snapshot.rope, position, session.encoding());
        session.speculation.preempt();
        crate::warm::note_request(session);
        let ticket = session.in_flight.begin(uri);
        let window = Window::of(&snapshot.rope, cursor);
        Ok(Request { session, uri, config, snapshot, cursor, window, invoked, ticket })
    }

    /// The answer: from the cache, else from the engine.
    async fn answer(self, received: Instant) -> Result<Answer, NoAnswer> {
        if let Some(answer) = self.cached() {
            return Ok(answer);
        }
        let delay = self.session.pace.delay(self.uri, self.config.completion_delay);
        if !wait(delay, &self.ticket.token).await {
            return Err(NoAnswer::Superseded);
        }
        let (request, completion) = self.ask_engine(received).await?;
        self.keep(&completion, received);
        let source = if completion.timings.is_some() { AnswerSource::Model } else { AnswerSource::NoWork };
        if source == AnswerSource::Model {
            self.speculate_next(&completion, request);
        }
        let Request { snapshot, cursor, .. } = self;
        let suggested = Suggested { snapshot, cursor, suggestions: completion.suggestions };
        Ok(Answer { suggested, source, timings: completion.timings, delay })
    }

    /// An answer that needs no model: this state answered before, or the user typed the
    /// start of an earlier suggestion.
    fn cached(&self) -> Option<Answer> {
        let (text, source) = match self.session.suggestions.lookup(self.uri, &self.window)? {
            Hit::Exact(text) => (text, AnswerSource::Cache),
            Hit::TypedAhead { rest, .. } => (rest, AnswerSource::TypedAhead),
        };
        let cursor = self.cursor;
        let suggestions = if text.is_empty() { Vec::new() } else { vec![Suggestion { text, replace: cursor..cursor }] };
        let suggested = Suggested { snapshot: self.snapshot.clone(), cursor, suggestions };
        Some(Answer { suggested, source, timings: None, delay: Duration::ZERO })
    }

    /// Gathers the context and asks the engine; an answer no longer for the text on
    /// screen is dropped.
    async fn ask_engine(&self, received: Instant) -> Result<(CompletionRequest, Completion), NoAnswer> {
        let (session, uri, config) = (self.session, self.uri, &self.config);
        let context = crate::request_context::gather(session, uri, &self.snapshot, config).await;
        if self.ticket.token.is_cancelled() {
            return Err(NoAnswer::Superseded);
        }
        let request = CompletionRequest {
            invoked: self.invoked,
            deadline: config.time_limit.map(|limit| received + limit),
            ..CompletionRequest::new(uri.clone(), self.snapshot.clone(), self.cursor, context, config)
        };
        let result = session.slot.current().complete(request.clone(), self.ticket.token.clone()).await;
        if self.ticket.token.is_cancelled() {
            return Err(NoAnswer::Superseded);
        }
        if session.documents.version(uri) != Some(self.snapshot.version) {
            return Err(NoAnswer::Stale);
        }
        match result {
            Ok(completion) => Ok((request, completion)),
            Err(e) => {
                tracing::warn!(%uri, "completion failed: {e:#}");
                if let Some(panicked) = e.downcast_ref::<crate::engine::EnginePanicked>() {
                    session.panics.engine_recovered(panicked).await;
                }
                Err(NoAnswer::Failed)
            }
        }
    }

    /// Keeps what an answer taught: where its prompt started, how long it took, and the
    /// answer itself when the model finished it (one cut short by time is asked again,
    /// and the engine goes on from where it stopped).
    fn keep(&self, completion: &Completion, received: Instant) {
        let (session, uri) = (self.session, self.uri);
        if let Some(anchor) = &completion.prefix_start {
            session.documents.set_prompt_start(uri, self.snapshot.version, anchor.clone());
        }
        let Some(t) = &completion.timings else { return };
        let r = &t.report;
        tracing::debug!(
            %uri, prompt_ms = t.prompt_ms, reused = r.reused_tokens, evaluated = r.evaluated_tokens,
            generated = r.generated_tokens, prefill_ms = r.prefill_ms, ttft_ms = r.ttft_ms, decode_ms = r.decode_ms,
            engine_ms = t.engine_ms, stop = ?r.stop, "completion"
        );
        session.pace.answered(received.elapsed().as_secs_f64() * 1e3);
        if t.is_final() {
            session.suggestions.store(uri, &self.window, completion.first_text());
        }
    }

    /// Starts computing the next step after a whole answer from the model (after one
    /// cut short, the next request goes on with it).
    fn speculate_next(&self, completion: &Completion, mut request: CompletionRequest) {
        let text = completion.first_text();
        let whole = completion.timings.as_ref().is_some_and(Timings::is_final);
        if !self.config.speculate || !whole || text.is_empty() {
            return;
        }
        // The speculation's prompt starts where this one did, so both share the cache.
        let anchor = &mut request.context.prefix_anchor;
        *anchor = completion.prefix_start.clone().or(anchor.take());
        let session = self.session;
        speculate(&session.speculation, session.slot.current(), Arc::clone(&session.suggestions), request, text);
    }
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

/// Sends `infill/didComplete` for a request, answered or not.
async fn notify(
    session: &Session,
    uri: &Url,
    version: Option<i32>,
    result: &Result<Answer, NoAnswer>,
    received: Instant,
) {
    let answer = result.as_ref().ok();
    let params = DidCompleteParams {
        uri: uri.clone(),
        version,
        source: answer.map(|a| a.source),
        no_answer: result.as_ref().err().copied(),
        suggestion_chars: answer.and_then(|a| a.suggested.suggestions.first()).map_or(0, |s| s.text.len()),
        delay_ms: answer.map_or(0.0, |a| a.delay.as_secs_f64() * 1e3),
        total_ms: received.elapsed().as_secs_f64() * 1e3,
        timings: answer.and_then(|a| a.timings.clone()),
    };
    session.client.send_notification::<DidComplete>(params).await;
}
