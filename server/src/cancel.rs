//! Cancellation of completion work: a token blocking code can poll with one atomic
//! read, and the per-document registry that lets a new completion request supersede
//! the older one; a request's ticket fires its token when the handler's future is dropped.
//!
//! tower-lsp answers `$/cancelRequest` by dropping the handler's future, so the ticket
//! living inside that future is what tells the engine (on its own thread) to stop.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use tower_lsp::lsp_types::Url;

/// A shared flag: once cancelled, stays cancelled.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A fresh, uncancelled token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks the work as no longer wanted.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// The shared flag itself, for code outside this crate (the model engine).
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }

    /// Whether the work is no longer wanted.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// The completion request currently running for each document.
#[derive(Default)]
pub struct InFlight {
    next_ticket: AtomicU64,
    running: DashMap<Url, (u64, CancelToken)>,
}

/// A request's claim on its document; releases the slot when dropped if it still holds it.
pub struct Ticket<'a> {
    registry: &'a InFlight,
    uri: Url,
    id: u64,
    /// The token the engine polls.
    pub token: CancelToken,
}

impl InFlight {
    /// Registers a new request for `uri`, cancelling the one it supersedes.
    pub fn begin(&self, uri: &Url) -> Ticket<'_> {
        let id = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        let token = CancelToken::new();
        if let Some((_, older)) = self.running.insert(uri.clone(), (id, token.clone())) {
            older.cancel();
        }
        Ticket { registry: self, uri: uri.clone(), id, token }
    }

    /// Cancels whatever runs for `uri` (the document closed, say).
    pub fn cancel(&self, uri: &Url) {
        if let Some((_, (_, token))) = self.running.remove(uri) {
            token.cancel();
        }
    }
}

impl InFlight {
    /// Cancels everything (shutdown).
    pub fn cancel_all(&self) {
        self.running.retain(|_, (_, token)| {
            token.cancel();
            false
        });
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.token.cancel();
        self.registry.running.remove_if(&self.uri, |_, (id, _)| *id == self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_request_cancels_the_older_one_for_the_same_document_only() {
        let registry = InFlight::default();
        let a: Url = "file:///a.rs".parse().expect("url");
        let b: Url = "file:///b.rs".parse().expect("url");
        let first = registry.begin(&a);
        let other = registry.begin(&b);
        let second = registry.begin(&a);
        assert!(first.token.is_cancelled());
        assert!(!second.token.is_cancelled());
        assert!(!other.token.is_cancelled());
        drop(first); // must not release the slot `second` holds
        registry.cancel(&a);
        assert!(second.token.is_cancelled());
    }
}
