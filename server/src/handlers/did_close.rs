//! `textDocument/didClose`: stop tracking a buffer and its running work.

use tower_lsp::lsp_types::DidCloseTextDocumentParams;

use crate::session::Session;

/// Handles `didClose`.
pub fn handle(session: &Session, params: DidCloseTextDocumentParams) {
    let uri = params.text_document.uri;
    session.in_flight.cancel(&uri);
    session.pace.forget(&uri);
    if !session.documents.close(&uri) {
        tracing::warn!(%uri, "didClose for a document that is not open");
    }
}
