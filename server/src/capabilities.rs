//! What the server advertises at `initialize`.

use serde_json::{json, Value};
use tower_lsp::lsp_types::{
    CompletionOptions, SaveOptions, ServerCapabilities, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions,
};

use crate::position::PositionEncoding;

/// The capabilities lsp-types 0.94 can express.
pub fn server_capabilities(encoding: PositionEncoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::INCREMENTAL),
            save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions { include_text: Some(false) })),
            ..TextDocumentSyncOptions::default()
        })),
        completion_provider: Some(CompletionOptions { resolve_provider: Some(false), ..CompletionOptions::default() }),
        ..ServerCapabilities::default()
    }
}

/// Adds the LSP 3.18 capabilities to an `InitializeResult` on its way out
/// (see `transport`: lsp-types 0.94 has no field for them).
pub fn add_proposed(result: &mut Value) {
    if let Some(caps) = result.get_mut("capabilities").and_then(Value::as_object_mut) {
        caps.insert("inlineCompletionProvider".into(), json!({}));
    }
}
