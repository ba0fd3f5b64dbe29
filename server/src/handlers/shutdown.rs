//! `shutdown`: stop computing. tower-lsp refuses later requests and answers `exit`.

use crate::session::Session;

/// Handles `shutdown`.
pub fn handle(session: &Session) {
    session.in_flight.cancel_all();
    tracing::info!(open_documents = session.documents.len(), "shutdown requested");
}
