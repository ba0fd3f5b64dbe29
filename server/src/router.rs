//! Which backend answers a request. The local model answers first; when the filter
//! finds its answer unsure (or the place calls for a block) and a remote backend is
//! configured and usable, the same context goes to the backend, and its answer is
//! shown when it comes within the backend's budget. One that comes later is kept in
//! the suggestion cache, so typing on finds it. `remoteOnly` skips the local model,
//! `localOnly` (or no backend) never asks the remote one: then no connection is made.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use infill_context::{Finisher, IndentStyle, Shape};
use serde::{Deserialize, Serialize};
use tokio::task::AbortHandle;
use tower_lsp::lsp_types::{MessageType, Url};

use crate::cancel::CancelToken;
use crate::confidence::{Filter, Scored, Verdict};
use crate::config::{BackendConfig, Config, Routing};
use crate::engine::RequestContext;
use crate::remote::{Change, Remote, RemoteInput};
use crate::suggestion_cache::{SuggestionCache, Window};

/// Which backend wrote the answer shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Backend {
    /// The model on this machine.
    Local,
    /// The configured server.
    Remote,
}

/// Why the router did what it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Route {
    /// No backend is configured, or `routing` is `localOnly`.
    LocalOnly,
    /// The local answer was sure enough: the backend was not asked.
    Confident,
    /// The backend was asked and answered within its budget.
    RemoteInTime,
    /// The backend was asked and did not answer within its budget (its answer, if it
    /// comes, goes to the cache).
    RemoteLate,
    /// The backend was asked and failed.
    RemoteFailed,
    /// The backend was asked and had nothing to add.
    RemoteEmpty,
    /// The backend would have been asked but is paused after failures or slowness.
    RemotePaused,
    /// `routing` is `remoteOnly`.
    RemoteOnly,
}

/// Why the backend was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AskedBecause {
    /// The filter found the local answer unsure (or there was none).
    LowConfidence,
    /// The place calls for a block, where a bigger model helps most.
    Block,
}

/// The router's part of `infill/didComplete`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Routed {
    /// Which backend wrote the answer (absent: none shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
    /// What the router did.
    pub route: Route,
    /// Why the backend was asked, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked_because: Option<AskedBecause>,
}

/// The configured backend, rebuilt when its settings change, and each document's late
/// request (one at a time per document; a newer one cancels it).
#[derive(Default)]
pub struct Router {
    remote: Mutex<Option<(BackendConfig, Arc<Remote>)>>,
    late: DashMap<Url, AbortHandle>,
}

impl Router {
    /// The backend the settings name, if routing may use it (no client exists, and no
    /// connection is ever made, without one).
    pub fn remote(&self, config: &Config) -> Option<Arc<Remote>> {
        let backend = config.backend.as_ref().filter(|_| config.routing != Routing::LocalOnly)?;
        let mut held = self.remote.lock().ok()?;
        if let Some((held_config, remote)) = held.as_ref() {
            if held_config == backend {
                return Some(remote.clone());
            }
        }
        match Remote::new(backend.clone()) {
            Ok(remote) => {
                let remote = Arc::new(remote);
                *held = Some((backend.clone(), remote.clone()));
                Some(remote)
            }
            Err(e) => {
                tracing::warn!("the backend cannot be used: {e}");
                None
            }
        }
    }

    /// Why the backend should be asked after the local answer, if it should.
    pub fn reason_to_ask(verdict: Option<&Verdict>, local_text: &str, shape: Option<Shape>) -> Option<AskedBecause> {
        if matches!(shape, Some(Shape::MultiLine { .. })) {
            return Some(AskedBecause::Block);
        }
        let low = verdict.is_some_and(|v| Filter::shipped().is_low(v.score));
        (low || (local_text.trim().is_empty() && shape.is_some_and(|s| s != Shape::Nothing)))
            .then_some(AskedBecause::LowConfidence)
    }
}

/// One remote request's inputs.
pub struct RemoteAsk<'a> {
    /// The backend.
    pub remote: Arc<Remote>,
    /// The document.
    pub uri: &'a Url,
    /// The text around the cursor and other files.
    pub input: RemoteInput,
    /// Tidies the answer as the local one would be.
    pub finisher: Finisher,
    /// The state the request was made in (a late answer is cached under it).
    pub window: Window,
    /// Cancelled when the request is superseded or cancelled before `wait` ends.
    pub cancel: CancelToken,
    /// How long to wait for the answer.
    pub wait: Duration,
}

/// What came of a remote request within its wait.
pub enum RemoteOutcome {
    /// An answer (possibly empty).
    Answered(String),
    /// It failed.
    Failed,
    /// The wait ended first; the request goes on and caches its answer.
    Late,
    /// The request was cancelled (its connection closed).
    Cancelled,
}

/// The inputs of a remote request for `cursor` in `snapshot`, and its finisher.
pub fn remote_parts(
    snapshot: &crate::document::Snapshot,
    cursor: usize,
    context: &RequestContext,
    max_tokens: u32,
) -> (RemoteInput, Finisher, Shape) {
    let rope = &snapshot.rope;
    let decision = infill_context::decide_shape(rope, cursor, snapshot.language, context.tree.as_ref());
    let finisher = Finisher::new(rope, cursor, snapshot.language, decision.shape, IndentStyle::detect(rope, cursor));
    (RemoteInput::new(rope, cursor, &context.others, max_tokens), finisher, decision.shape)
}

/// Asks the backend and waits up to `ask.wait`; a later answer is stored in `cache`
/// under the request's state. Health changes are told to the user once, here.
pub async fn ask_remote(
    router: &Router,
    client: &tower_lsp::Client,
    cache: &Arc<SuggestionCache>,
    ask: RemoteAsk<'_>,
) -> RemoteOutcome {
    let RemoteAsk { remote, uri, input, finisher, window, cancel, wait } = ask;
    let (tx, mut rx) = tokio::sync::oneshot::channel();
    let task_client = client.clone();
    let task_cache = cache.clone();
    let task_uri = uri.clone();
    let task = tokio::spawn(async move {
        let (result, change) = remote.complete(&input, &finisher).await;
        tell(&task_client, change).await;
        if let Err(e) = &result {
            tracing::warn!("remote completion failed: {e}");
        }
        // Whoever waits gets it; if no one does any more, the cache keeps it.
        if let Err(Ok(text)) = tx.send(result) {
            if !text.is_empty() {
                tracing::debug!(uri = %task_uri, chars = text.len(), "a late remote answer went to the cache");
                task_cache.store(&task_uri, &window, Scored::plain(text));
            }
        }
    });
    let abort = task.abort_handle();
    if let Some(previous) = router.late.insert(uri.clone(), abort.clone()) {
        previous.abort();
    }
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        tokio::select! {
            result = &mut rx => {
                return match result {
                    Ok(Ok(text)) => RemoteOutcome::Answered(text),
                    _ => RemoteOutcome::Failed,
                };
            }
            () = tokio::time::sleep_until(deadline) => return RemoteOutcome::Late,
            () = tokio::time::sleep(Duration::from_millis(5)) => {
                if cancel.is_cancelled() {
                    // Dropping the request's future closes its connection.
                    abort.abort();
                    return RemoteOutcome::Cancelled;
                }
            }
        }
    }
}

/// Tells the user of a change in the backend's health: one message per outage.
async fn tell(client: &tower_lsp::Client, change: Option<Change>) {
    match change {
        Some(Change::Unusable(why)) => {
            tracing::warn!("remote backend: {why}");
            client.show_message(MessageType::WARNING, format!("Infill: the remote backend {why}")).await;
        }
        Some(Change::Recovered) => tracing::info!("remote backend: answering again"),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(score: f32) -> Verdict {
        Verdict { score, shown: true, features: Vec::new() }
    }

    #[test]
    fn the_backend_is_asked_for_blocks_unsure_answers_and_missing_ones_only() {
        let ask = Router::reason_to_ask;
        assert_eq!(ask(Some(&verdict(1.0)), "x", Some(Shape::MultiLine { indent: 4 })), Some(AskedBecause::Block));
        assert_eq!(ask(Some(&verdict(0.0)), "x", Some(Shape::SingleLine)), Some(AskedBecause::LowConfidence));
        assert_eq!(ask(Some(&verdict(1.0)), "x", Some(Shape::SingleLine)), None, "a sure answer stays local");
        assert_eq!(ask(None, "x", Some(Shape::SingleLine)), None, "nothing to judge: local");
        assert_eq!(ask(None, "", Some(Shape::SingleLine)), Some(AskedBecause::LowConfidence), "no local answer");
        assert_eq!(ask(None, "", Some(Shape::Nothing)), None, "nothing is wanted here");
    }

    #[test]
    fn no_client_exists_without_a_backend_or_with_local_only() {
        let router = Router::default();
        assert!(router.remote(&Config::default()).is_none());
        let backend = BackendConfig::from_json(&serde_json::json!({ "api": "openai", "url": "http://127.0.0.1:9" }))
            .ok()
            .flatten();
        let config = Config { backend, routing: Routing::LocalOnly, ..Config::default() };
        assert!(router.remote(&config).is_none());
        let hybrid = Config { routing: Routing::Hybrid, ..config };
        let first = router.remote(&hybrid).expect("a client");
        assert!(Arc::ptr_eq(&first, &router.remote(&hybrid).expect("the same client")), "kept while the settings stay");
    }
}
