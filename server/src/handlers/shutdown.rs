//! `shutdown`: stop computing. tower-lsp refuses later requests and answers `exit`.

use crate::backend::Backend;

/// Handles `shutdown`.
pub fn handle(backend: &Backend) {
    backend.in_flight.cancel_all();
    tracing::info!(open_documents = backend.documents.len(), "shutdown requested");
}
