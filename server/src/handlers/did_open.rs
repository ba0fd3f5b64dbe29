//! `textDocument/didOpen`: start tracking a buffer, and warm its cache once the editor
//! is quiet.

use tower_lsp::lsp_types::DidOpenTextDocumentParams;

use crate::backend::Backend;

/// Handles `didOpen`: the document is stored before the first `.await` (see the module
/// docs of `handlers`); the warm-up waits for quiet.
pub async fn handle(backend: &Backend, params: DidOpenTextDocumentParams) {
    let doc = params.text_document;
    tracing::debug!(uri = %doc.uri, version = doc.version, language = %doc.language_id, bytes = doc.text.len(), "didOpen");
    backend.documents.open(doc.uri.clone(), &doc.text, doc.version, &doc.language_id);
    crate::warm::after_idle(backend, doc.uri, None).await;
}
