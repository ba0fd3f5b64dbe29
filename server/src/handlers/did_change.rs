//! `textDocument/didChange`: apply edits, incremental or full.

use tower_lsp::lsp_types::DidChangeTextDocumentParams;

use crate::session::Session;

/// Handles `didChange`. A refused
/// change is logged and leaves the document as it was.
pub fn handle(session: &Session, params: DidChangeTextDocumentParams) {
    let uri = params.text_document.uri;
    let version = params.text_document.version;
    match session.documents.change(&uri, version, &params.content_changes, session.encoding()) {
        Ok(_) => {
            // Whatever was being computed for this document is stale now.
            session.in_flight.cancel(&uri);
            session.pace.keystroke(&uri);
        }
        Err(e) => tracing::warn!(%uri, version, "didChange ignored: {e}"),
    }
}
