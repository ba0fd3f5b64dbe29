//! Keeps a panic in one handler from taking the server down: it is caught, logged with
//! its location, shown to the user once, and the server goes on serving.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::FutureExt;
use tower_lsp::lsp_types::MessageType;
use tower_lsp::Client;

/// Routes panic messages through `tracing` (stderr and the client's log) instead of
/// the default hook's bare stderr line.
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".into());
        tracing::error!(target: "infill_server::panic", %location, "internal error: {payload}");
    }));
}

/// Tells the user about the first caught panic.
pub struct PanicReporter {
    client: Client,
    shown: AtomicBool,
    engine_shown: AtomicBool,
}

impl PanicReporter {
    /// A reporter that talks to `client`.
    pub fn new(client: Client) -> Self {
        PanicReporter { client, shown: AtomicBool::new(false), engine_shown: AtomicBool::new(false) }
    }

    /// Tells the user, the first time only, that the model engine hit a bug in a job and
    /// went on (its caches emptied, the same model loaded).
    pub async fn engine_recovered(&self, error: &crate::engine::EnginePanicked) {
        tracing::error!("{error}; the engine emptied its caches and goes on with the same model");
        if !self.engine_shown.swap(true, Ordering::Relaxed) {
            let message = "Infill's model engine hit an internal error and recovered: it cleared its caches \
                           and goes on with the same model. Details are in the Infill log; please report them.";
            self.client.show_message(MessageType::ERROR, message).await;
        }
    }

    /// Runs `fut`; if it panics, reports it and returns `None`.
    pub async fn guard<T>(&self, what: &str, fut: impl Future<Output = T>) -> Option<T> {
        let outcome = AssertUnwindSafe(fut).catch_unwind().await;
        self.outcome(what, outcome).await
    }

    /// Runs `work` at once, before the returned future's first `.await`; if it panics,
    /// reports it and returns `None`.
    pub async fn guard_now<T>(&self, what: &str, work: impl FnOnce() -> T) -> Option<T> {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(work));
        self.outcome(what, outcome).await
    }

    async fn outcome<T>(&self, what: &str, outcome: std::thread::Result<T>) -> Option<T> {
        if outcome.is_err() {
            tracing::error!("`{what}` failed with an internal error; the server keeps running");
            if !self.shown.swap(true, Ordering::Relaxed) {
                let message = format!(
                    "Infill hit an internal error while handling `{what}` and recovered. \
                     Details are in the Infill log; please report them."
                );
                self.client.show_message(MessageType::ERROR, message).await;
            }
        }
        outcome.ok()
    }
}
