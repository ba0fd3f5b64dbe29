//! `textDocument/didOpen`: start tracking a buffer (the backend then warms its cache
//! once the editor is quiet).

use tower_lsp::lsp_types::DidOpenTextDocumentParams;

use crate::session::Session;

/// Handles `didOpen`.
pub fn handle(session: &Session, params: DidOpenTextDocumentParams) {
    let doc = params.text_document;
    tracing::debug!(uri = %doc.uri, version = doc.version, language = %doc.language_id, bytes = doc.text.len(), "didOpen");
    session.documents.open(doc.uri, &doc.text, doc.version, &doc.language_id);
}
