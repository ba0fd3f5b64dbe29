//! `textDocument/didSave`: nothing to update (we track every change), only logged.

use tower_lsp::lsp_types::DidSaveTextDocumentParams;

use crate::session::Session;

/// Handles `didSave`.
pub fn handle(session: &Session, params: DidSaveTextDocumentParams) {
    let version = session.documents.version(&params.text_document.uri);
    tracing::debug!(uri = %params.text_document.uri, ?version, "didSave");
}
