//! `workspace/didChangeConfiguration` and the settings it carries.

use serde_json::Value;
use tower_lsp::lsp_types::{ConfigurationItem, DidChangeConfigurationParams};

use crate::session::Session;

/// Handles `didChangeConfiguration`: push-style settings are applied; an empty
/// notification (the pull model) makes us ask with `workspace/configuration`.
pub async fn handle(session: &Session, params: DidChangeConfigurationParams) {
    let pushed = match &params.settings {
        Value::Null => false,
        Value::Object(map) => !map.is_empty(),
        _ => true,
    };
    if pushed {
        apply(session, &params.settings);
    } else {
        pull(session).await;
    }
    crate::model_loader::apply_model_setting(session).await;
}

/// Asks the client for the `infill` section when it serves `workspace/configuration`.
pub async fn pull(session: &Session) {
    if !session.pulls_configuration.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let item = ConfigurationItem { scope_uri: None, section: Some("infill".into()) };
    match session.client.configuration(vec![item]).await {
        Ok(values) => {
            if let Some(section) = values.into_iter().next() {
                apply(session, &section);
            }
        }
        Err(e) => tracing::warn!("workspace/configuration failed: {e}"),
    }
}

/// Merges a settings object into the configuration and applies the log level.
pub fn apply(session: &Session, settings: &Value) {
    let (warnings, config, changed) = {
        let mut config = session.config.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let before = config.clone();
        let warnings = config.merge_json(settings);
        let changed = *config != before;
        (warnings, config.clone(), changed)
    };
    if changed {
        session.suggestions.clear(); // answers made under other settings
    }
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    if let Err(e) = session.log.set_level(&config.log_level) {
        tracing::warn!("{e}");
    }
    tracing::debug!(?config, "configuration");
}
