//! `initialize` and `initialized`: agree on the position encoding, read
//! `initializationOptions`, advertise capabilities.

use tower_lsp::jsonrpc::Result;
use tower_lsp::lsp_types::{InitializeParams, InitializeResult, ServerInfo};

use crate::capabilities::server_capabilities;
use crate::position::PositionEncoding;
use crate::session::Session;

/// Answers `initialize`.
pub fn handle(session: &Session, params: InitializeParams) -> Result<InitializeResult> {
    let offered = params.capabilities.general.as_ref().and_then(|g| g.position_encodings.as_deref());
    let encoding = PositionEncoding::negotiate(offered);
    let _ = session.encoding.set(encoding);
    let pulls_configuration = params.capabilities.workspace.as_ref().and_then(|w| w.configuration).unwrap_or(false);
    session.pulls_configuration.store(pulls_configuration, std::sync::atomic::Ordering::Relaxed);
    let shows_progress = params.capabilities.window.as_ref().and_then(|w| w.work_done_progress).unwrap_or(false);
    session.shows_progress.store(shows_progress, std::sync::atomic::Ordering::Relaxed);
    #[allow(deprecated)] // `root_uri` is deprecated in favour of folders, and still what many clients send
    let root = params
        .workspace_folders
        .as_ref()
        .and_then(|folders| folders.first())
        .map(|folder| folder.uri.clone())
        .or(params.root_uri.clone())
        .and_then(|uri| uri.to_file_path().ok());
    let _ = session.root.set(root);
    if let Some(options) = &params.initialization_options {
        super::did_change_configuration::apply(session, options);
    }
    let client = params.client_info.map(|c| format!("{} {}", c.name, c.version.unwrap_or_default()));
    tracing::info!(client = client.as_deref().unwrap_or("unknown"), ?encoding, "initialize");
    Ok(InitializeResult {
        capabilities: server_capabilities(encoding),
        server_info: Some(ServerInfo { name: "infill-ls".into(), version: Some(env!("CARGO_PKG_VERSION").into()) }),
    })
}

/// Handles `initialized`: pulls settings when the client serves them, then says what state we are in.
pub async fn initialized(session: &Session) {
    super::did_change_configuration::pull(session).await;
    crate::model_loader::apply_model_setting(session).await;
}
