//! `textDocument/didClose`: stop tracking a buffer and its running work.

use tower_lsp::lsp_types::DidCloseTextDocumentParams;

use crate::backend::Backend;

/// Handles `didClose`.
pub fn handle(backend: &Backend, params: DidCloseTextDocumentParams) {
    let uri = params.text_document.uri;
    backend.in_flight.cancel(&uri);
    backend.pace.forget(&uri);
    if !backend.documents.close(&uri) {
        tracing::warn!(%uri, "didClose for a document that is not open");
    }
}
