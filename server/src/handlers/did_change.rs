//! `textDocument/didChange`: apply edits, incremental or full.

use tower_lsp::lsp_types::DidChangeTextDocumentParams;

use crate::backend::Backend;

/// Handles `didChange` (synchronously: see the module docs of `handlers`). A refused
/// change is logged and leaves the document as it was.
pub fn handle(backend: &Backend, params: DidChangeTextDocumentParams) {
    let uri = params.text_document.uri;
    let version = params.text_document.version;
    match backend.documents.change(&uri, version, &params.content_changes, backend.encoding()) {
        Ok(_) => {
            // Whatever was being computed for this document is stale now.
            backend.in_flight.cancel(&uri);
            backend.pace.keystroke(&uri);
        }
        Err(e) => tracing::warn!(%uri, version, "didChange ignored: {e}"),
    }
}
