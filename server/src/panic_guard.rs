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
}

impl PanicReporter {
    /// A reporter that talks to `client`.
    pub fn new(client: Client) -> Self {
        PanicReporter { client, shown: AtomicBool::new(false) }
    }

    /// Runs `fut`; if it panics, reports it and returns `None`.
    pub async fn guard<T>(&self, what: &str, fut: impl Future<Output = T>) -> Option<T> {
        match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(value) => Some(value),
            Err(_) => {
                tracing::error!("`{what}` failed with an internal error; the server keeps running");
                if !self.shown.swap(true, Ordering::Relaxed) {
                    let message = format!(
                        "Infill hit an internal error while handling `{what}` and recovered. \
                         Details are in the Infill log; please report them."
                    );
                    self.client.show_message(MessageType::ERROR, message).await;
                }
                None
            }
        }
    }
}
