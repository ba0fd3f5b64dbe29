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
use crate::confidence::{nearby, Filter, Scored, Surroundings, Verdict};
use crate::config::{Config, Routing};
use crate::document::Snapshot;
use crate::engine::{Completion, CompletionRequest, Suggestion, Timings};
use crate::position::position_to_byte;
use crate::protocol::{AnswerSource, DidComplete, DidCompleteParams, NoAnswer};
use crate::router::{ask_remote, remote_parts, Backend, RemoteAsk, RemoteOutcome, Route, Routed, Router};
use crate::session::Session;
use crate::speculation::speculate;
use crate::suggestion_cache::{Hit, Window};

/// How often a waiting request checks whether it was superseded.
const DELAY_STEP: Duration = Duration::from_millis(5);
/// Bytes each side of the cursor in which a suggestion's repeat is looked for.
const NEARBY_BYTES: usize = 4096;

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
    /// What the confidence filter made of the answer (none: nothing to judge).
    verdict: Option<Verdict>,
    /// What the router did (none: the answer needed no backend).
    routed: Option<Routed>,
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

    /// The answer: from the cache, else from the engine (and the backend, as the
    /// router decides).
    async fn answer(self, received: Instant) -> Result<Answer, NoAnswer> {
        if let Some(answer) = self.cached() {
            return Ok(answer);
        }
        let delay = self.session.pace.delay(self.uri, self.config.completion_delay);
        if !wait(delay, &self.ticket.token).await {
            return Err(NoAnswer::Superseded);
        }
        let remote = self.session.router.remote(&self.config);
        if let (Some(remote), Routing::RemoteOnly) = (&remote, self.config.routing) {
            return self.ask_remote_only(remote.clone(), delay).await;
        }
        let (request, completion) = self.ask_engine(received).await?;
        self.keep(&completion, received);
        let source = if completion.timings.is_some() { AnswerSource::Model } else { AnswerSource::NoWork };
        if source == AnswerSource::Model {
            self.speculate_next(&completion, request.clone());
        }
        let scored = completion.first_scored();
        let verdict = self.judge(&scored, false);
        let mut answer = Answer {
            suggested: Suggested { snapshot: self.snapshot.clone(), cursor: self.cursor, suggestions: Vec::new() },
            source,
            timings: completion.timings.clone(),
            delay,
            verdict: verdict.clone(),
            routed: remote.is_none().then_some(Routed { backend: None, route: Route::LocalOnly, asked_because: None }),
        };
        if verdict.as_ref().is_none_or(|v| v.shown) {
            answer.suggested.suggestions = completion.suggestions.clone();
        }
        if let Some(remote) = remote.filter(|_| source == AnswerSource::Model) {
            self.route(remote, &request, &completion, &mut answer).await;
            if self.ticket.token.is_cancelled() {
                return Err(NoAnswer::Superseded);
            }
            if self.session.documents.version(self.uri) != Some(self.snapshot.version) {
                return Err(NoAnswer::Stale);
            }
        }
        if !answer.suggested.suggestions.is_empty() {
            self.session.suggestions.mark_shown(self.uri, &self.window, 0);
            let backend = if answer.source == AnswerSource::Remote { Backend::Remote } else { Backend::Local };
            if let Some(routed) = answer.routed.as_mut() {
                routed.backend = Some(backend);
            }
        }
        Ok(answer)
    }

    /// After a local answer: asks the backend when the answer is unsure or a block,
    /// and shows its answer when it comes within the budget.
    async fn route(
        &self,
        remote: Arc<crate::remote::Remote>,
        request: &CompletionRequest,
        completion: &Completion,
        answer: &mut Answer,
    ) {
        let (input, finisher, shape) =
            remote_parts(&self.snapshot, self.cursor, &request.context, self.config.max_tokens);
        let Some(because) = Router::reason_to_ask(answer.verdict.as_ref(), completion.first_text(), Some(shape)) else {
            answer.routed = Some(Routed { backend: None, route: Route::Confident, asked_because: None });
            return;
        };
        let route = if !remote.health.usable() {
            Route::RemotePaused
        } else {
            let wait = remote.config().budget;
            match self.ask_remote(remote, input, finisher, wait).await {
                RemoteOutcome::Answered(text) if !text.is_empty() => {
                    self.session.suggestions.store(self.uri, &self.window, Scored::plain(text.clone()));
                    answer.suggested.suggestions = vec![Suggestion { text, replace: self.cursor..self.cursor }];
                    answer.source = AnswerSource::Remote;
                    Route::RemoteInTime
                }
                RemoteOutcome::Answered(_) => Route::RemoteEmpty,
                RemoteOutcome::Failed => Route::RemoteFailed,
                RemoteOutcome::Late | RemoteOutcome::Cancelled => Route::RemoteLate,
            }
        };
        answer.routed = Some(Routed { backend: None, route, asked_because: Some(because) });
    }

    /// Asks the backend for this request's place and waits up to `wait` (a later
    /// answer goes to the cache under this request's state).
    async fn ask_remote(
        &self,
        remote: Arc<crate::remote::Remote>,
        input: crate::remote::RemoteInput,
        finisher: infill_context::Finisher,
        wait: Duration,
    ) -> RemoteOutcome {
        let cancel = self.ticket.token.clone();
        let ask = RemoteAsk { remote, uri: self.uri, input, finisher, window: self.window.clone(), cancel, wait };
        ask_remote(&self.session.router, &self.session.client, &self.session.suggestions, ask).await
    }

    /// `remoteOnly`: the backend answers, or nothing does.
    async fn ask_remote_only(&self, remote: Arc<crate::remote::Remote>, delay: Duration) -> Result<Answer, NoAnswer> {
        let config = &self.config;
        let context = crate::request_context::gather(self.session, self.uri, &self.snapshot, config).await;
        let (input, finisher, shape) = remote_parts(&self.snapshot, self.cursor, &context, config.max_tokens);
        let mut answer = Answer {
            suggested: Suggested { snapshot: self.snapshot.clone(), cursor: self.cursor, suggestions: Vec::new() },
            source: AnswerSource::NoWork,
            timings: None,
            delay,
            verdict: None,
            routed: Some(Routed { backend: None, route: Route::RemoteOnly, asked_because: None }),
        };
        if shape == infill_context::Shape::Nothing {
            return Ok(answer);
        }
        if !remote.health.usable() {
            answer.routed = Some(Routed { backend: None, route: Route::RemotePaused, asked_because: None });
            return Ok(answer);
        }
        let wait = remote.config().timeout;
        match self.ask_remote(remote, input, finisher, wait).await {
            RemoteOutcome::Answered(text) => {
                if self.session.documents.version(self.uri) != Some(self.snapshot.version) {
                    return Err(NoAnswer::Stale);
                }
                self.session.suggestions.store(self.uri, &self.window, Scored::plain(text.clone()));
                answer.source = AnswerSource::Remote;
                if !text.is_empty() {
                    answer.suggested.suggestions = vec![Suggestion { text, replace: self.cursor..self.cursor }];
                    answer.routed = Some(Routed {
                        backend: Some(Backend::Remote),
                        ..Routed { backend: None, route: Route::RemoteOnly, asked_because: None }
                    });
                }
                Ok(answer)
            }
            RemoteOutcome::Cancelled => Err(NoAnswer::Superseded),
            RemoteOutcome::Failed | RemoteOutcome::Late => Err(NoAnswer::Failed),
        }
    }

    /// What the filter makes of `suggestion` here (`shown_before`: it, or the answer it
    /// is the rest of, was shown and not taken).
    fn judge(&self, suggestion: &Scored, shown_before: bool) -> Option<Verdict> {
        if suggestion.scores.is_empty() {
            return None;
        }
        let text = nearby(&self.snapshot.rope, self.cursor, NEARBY_BYTES);
        Filter::shipped().judge(suggestion, &Surroundings { nearby: &text, shown_before }, self.config.confidence)
    }

    /// An answer that needs no model: this state answered before, or the user typed the
    /// start of an earlier suggestion (a hidden one too: what is left of it is judged
    /// again, on the scores of the tokens that wrote it).
    fn cached(&self) -> Option<Answer> {
        let (scored, source, typed, shown_before) = match self.session.suggestions.lookup(self.uri, &self.window)? {
            Hit::Exact(scored, shown) => (scored, AnswerSource::Cache, 0, shown),
            Hit::TypedAhead { rest, typed, shown_before } => (rest, AnswerSource::TypedAhead, typed, shown_before),
        };
        let verdict = self.judge(&scored, shown_before);
        let cursor = self.cursor;
        let shown = verdict.as_ref().is_none_or(|v| v.shown) && !scored.text.is_empty();
        if shown {
            self.session.suggestions.mark_shown(self.uri, &self.window, typed);
        }
        let suggestions =
            if shown { vec![Suggestion { text: scored.text, replace: cursor..cursor }] } else { Vec::new() };
        let suggested = Suggested { snapshot: self.snapshot.clone(), cursor, suggestions };
        Some(Answer { suggested, source, timings: None, delay: Duration::ZERO, verdict, routed: None })
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
            session.suggestions.store(uri, &self.window, completion.first_scored());
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
        confidence: answer.and_then(|a| a.verdict.clone()),
        routed: answer.and_then(|a| a.routed.clone()),
    };
    session.client.send_notification::<DidComplete>(params).await;
}
