//! The tower-lsp entry points: each a thin call into `handlers` with the session, inside
//! the panic guard.
//!
//! Ordering by construction: tower-lsp polls several handlers at once, and only the
//! order of their first polls follows the order of the messages. So notifications that
//! change documents (`didOpen`, `didChange`, `didClose`) are applied by plain functions
//! (`fn(&Session, P)`, which cannot `.await`) run inside that first poll, before the entry
//! point awaits anything; the document store's entries are never held outside its own
//! methods. Requests read snapshots.

use std::sync::atomic::Ordering;

use tower_lsp::jsonrpc::{self, Result};
use tower_lsp::lsp_types::{
    CompletionParams, CompletionResponse, DidChangeConfigurationParams, DidChangeTextDocumentParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, DidSaveTextDocumentParams, InitializeParams,
    InitializeResult, InitializedParams,
};
use tower_lsp::LanguageServer;

use crate::handlers;
use crate::protocol::{CursorParams, InlineCompletionList, InlineCompletionParams, CURSOR_METHOD};
use crate::session::Session;

/// What tower-lsp calls into: the session and nothing else.
pub(crate) struct Backend(pub(crate) Session);

impl Backend {
    /// Applies a notification that changes documents now, in the first poll of its
    /// handler (see the module docs).
    async fn in_order<P>(&self, method: &str, apply: fn(&Session, P), params: P) {
        let _ = self.0.panics.guard_now(method, || apply(&self.0, params)).await;
    }

    /// `infill/cursor`: where the editor's cursor rests (our clients send it), so the
    /// document's prompt there can be evaluated before the first keystroke.
    pub async fn cursor(&self, params: CursorParams) {
        let warm = crate::warm::after_idle(&self.0, params.text_document.uri, Some(params.position));
        let _ = self.0.panics.guard(CURSOR_METHOD, warm).await;
    }

    /// `textDocument/inlineCompletion` (LSP 3.18), registered as a custom method.
    pub async fn inline_completion(&self, params: InlineCompletionParams) -> Result<Option<InlineCompletionList>> {
        let answer = handlers::inline_completion::handle(&self.0, params);
        self.0.panics.guard("textDocument/inlineCompletion", answer).await.unwrap_or_else(internal_error)
    }
}

/// The answer to a request whose handler panicked.
fn internal_error<T>() -> Result<T> {
    Err(jsonrpc::Error::internal_error())
}

#[tower_lsp::async_trait]
impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let answer = self.0.panics.guard_now("initialize", || handlers::initialize::handle(&self.0, params));
        answer.await.unwrap_or_else(internal_error)
    }

    async fn initialized(&self, _: InitializedParams) {
        let _ = self.0.panics.guard("initialized", handlers::initialize::initialized(&self.0)).await;
    }

    async fn shutdown(&self) -> Result<()> {
        self.0.shutdown_requested.store(true, Ordering::SeqCst);
        let _ = self.0.panics.guard_now("shutdown", || handlers::shutdown::handle(&self.0)).await;
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let uri = params.text_document.uri.clone();
        self.in_order("textDocument/didOpen", handlers::did_open::handle, params).await;
        // Warm the document's cache once the editor is quiet.
        let _ = self.0.panics.guard("textDocument/didOpen", crate::warm::after_idle(&self.0, uri, None)).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        self.in_order("textDocument/didChange", handlers::did_change::handle, params).await;
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        self.in_order("textDocument/didSave", handlers::did_save::handle, params).await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        self.in_order("textDocument/didClose", handlers::did_close::handle, params).await;
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        let apply = handlers::did_change_configuration::handle(&self.0, params);
        let _ = self.0.panics.guard("workspace/didChangeConfiguration", apply).await;
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let answer = handlers::completion::handle(&self.0, params);
        self.0.panics.guard("textDocument/completion", answer).await.unwrap_or_else(internal_error)
    }
}
