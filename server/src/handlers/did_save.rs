//! `textDocument/didSave`: nothing to update (we track every change), only logged.

use tower_lsp::lsp_types::DidSaveTextDocumentParams;

use crate::backend::Backend;

/// Handles `didSave`.
pub fn handle(backend: &Backend, params: DidSaveTextDocumentParams) {
    let version = backend.documents.version(&params.text_document.uri);
    tracing::debug!(uri = %params.text_document.uri, ?version, "didSave");
}
