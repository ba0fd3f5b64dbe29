//! `textDocument/didOpen`: start tracking a buffer.

use tower_lsp::lsp_types::DidOpenTextDocumentParams;

use crate::backend::Backend;

/// Handles `didOpen` (synchronously: see the module docs of `handlers`).
pub fn handle(backend: &Backend, params: DidOpenTextDocumentParams) {
    let doc = params.text_document;
    tracing::debug!(uri = %doc.uri, version = doc.version, language = %doc.language_id, bytes = doc.text.len(), "didOpen");
    backend.documents.open(doc.uri, &doc.text, doc.version, &doc.language_id);
}
