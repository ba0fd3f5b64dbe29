//! `workspace/didChangeConfiguration` and the settings it carries.

use serde_json::Value;
use tower_lsp::lsp_types::{ConfigurationItem, DidChangeConfigurationParams};

use crate::backend::Backend;

/// Handles `didChangeConfiguration`: push-style settings are applied; an empty
/// notification (the pull model) makes us ask with `workspace/configuration`.
pub async fn handle(backend: &Backend, params: DidChangeConfigurationParams) {
    let pushed = match &params.settings {
        Value::Null => false,
        Value::Object(map) => !map.is_empty(),
        _ => true,
    };
    if pushed {
        apply(backend, &params.settings);
    } else {
        pull(backend).await;
    }
    crate::model_loader::apply_model_setting(backend).await;
}

/// Asks the client for the `infill` section when it serves `workspace/configuration`.
pub async fn pull(backend: &Backend) {
    if !backend.pulls_configuration.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let item = ConfigurationItem { scope_uri: None, section: Some("infill".into()) };
    match backend.client.configuration(vec![item]).await {
        Ok(values) => {
            if let Some(section) = values.into_iter().next() {
                apply(backend, &section);
            }
        }
        Err(e) => tracing::warn!("workspace/configuration failed: {e}"),
    }
}

/// Merges a settings object into the configuration and applies the log level.
pub fn apply(backend: &Backend, settings: &Value) {
    let (warnings, config, changed) = {
        let mut config = backend.config.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let before = config.clone();
        let warnings = config.merge_json(settings);
        let changed = *config != before;
        (warnings, config.clone(), changed)
    };
    if changed {
        backend.suggestions.clear(); // answers made under other settings
    }
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    if let Err(e) = backend.log.set_level(&config.log_level) {
        tracing::warn!("{e}");
    }
    tracing::debug!(?config, "configuration");
}
