//! Loading the configured model off the async runtime, reporting each step to the
//! user: `infill/status` notifications, `window/logMessage`, and one
//! `window/showMessage` when something is wrong (no model, a bad file). Once loaded,
//! the model's file is watched (`model_watch`).

use std::sync::Arc;
use std::time::Instant;

use infill_model::{DownloadProgress, Engine, EngineOptions, ModelSource};
use serde_json::json;
use tower_lsp::lsp_types::notification::Progress;
use tower_lsp::lsp_types::request::WorkDoneProgressCreate;
use tower_lsp::lsp_types::{
    MessageType, NumberOrString, ProgressParams, ProgressParamsValue, WorkDoneProgress, WorkDoneProgressBegin,
    WorkDoneProgressCreateParams, WorkDoneProgressEnd, WorkDoneProgressReport,
};

use crate::engine::model_engine::ModelEngine;
use crate::engine::slot::{EngineSlot, EngineState};
use crate::engine::NoModel;
use crate::model_watch::Watch;
use crate::session::Session;

/// The custom notification carrying the engine state.
pub const STATUS_METHOD: &str = "infill/status";

/// Loads (or unloads) the model the settings name, unless it is already the one in use.
pub async fn apply_model_setting(session: &Session) {
    if !session.slot.loads_models() {
        return;
    }
    let config = session.config();
    // No model named: use the default one if `infill-ls fetch` already downloaded it.
    let wanted = config.model.clone().or_else(|| {
        ModelSource::parse(infill_model::DEFAULT_MODEL).cached().map(|_| infill_model::DEFAULT_MODEL.to_owned())
    });
    let key = (wanted.clone(), config.threads);
    {
        let mut loaded = session.loaded_model.lock().unwrap_or_else(|p| p.into_inner());
        if loaded.as_ref() == Some(&key) {
            return;
        }
        *loaded = Some(key.clone());
    }
    let Some(reference) = wanted else {
        session.slot.set(Arc::new(NoModel), EngineState::NoModel);
        publish(session).await;
        let message = "Infill has no model, so it suggests nothing. Set the `model` setting to a .gguf file, \
                       or run `infill-ls fetch` to download the default model (Qwen2.5-Coder 0.5B) and point `model` at it.";
        tracing::warn!("{message}");
        session.client.show_message(MessageType::WARNING, message).await;
        return;
    };
    session.slot.set(Arc::new(NoModel), EngineState::Loading { model: reference.clone() });
    publish(session).await;
    let options = EngineOptions {
        threads: config.threads.unwrap_or_else(infill_model::engine::physical_cores),
        ..EngineOptions::default()
    };
    let started = Instant::now();
    let watch_options = options.clone();
    let source = ModelSource::parse(&reference);
    // Download progress crosses from the blocking thread to `$/progress` here.
    let (progress_tx, progress_rx) = tokio::sync::mpsc::unbounded_channel::<DownloadProgress>();
    let reporter = tokio::spawn(report_download(
        session.client.clone(),
        session.work_done_progress(),
        reference.clone(),
        progress_rx,
    ));
    let load = tokio::task::spawn_blocking(move || -> Result<Engine, String> {
        let path = match source.cached() {
            Some(path) => path,
            None => match &source {
                ModelSource::Local(path) => return Err(format!("{}: no such file", path.display())),
                ModelSource::Hub { .. } => {
                    tracing::info!("downloading {}", source.describe());
                    source
                        .fetch(move |p| {
                            let _ = progress_tx.send(p);
                        })
                        .map_err(|e| e.to_string())?
                }
            },
        };
        Engine::start(&path, options).map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|e| Err(format!("the loader stopped: {e}")));
    let _ = reporter.await;
    // A newer setting may have started another load meanwhile: keep only the latest.
    let latest = session.loaded_model.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let still_wanted = latest.is_some_and(|(model, _)| model.as_deref() == Some(reference.as_str()));
    if !still_wanted {
        return;
    }
    match load {
        Ok(engine) => {
            let path = engine.path().to_owned();
            let engine = ModelEngine::new(Arc::new(engine));
            let name = engine.model_name().to_owned();
            tracing::info!(model = %reference, ms = started.elapsed().as_millis() as u64, "model {name} loaded");
            session.suggestions.clear(); // answers of another model
            session.documents.forget_prompt_starts(); // prompt heads in another vocabulary
            session.slot.set(Arc::new(engine), EngineState::Ready { model: reference.clone(), name });
            Watch {
                client: session.client.clone(),
                slot: session.slot.clone(),
                documents: session.documents.clone(),
                suggestions: session.suggestions.clone(),
                loaded_model: session.loaded_model.clone(),
                key: key.clone(),
                reference,
                path,
                options: watch_options,
            }
            .spawn();
        }
        Err(message) => {
            tracing::error!("cannot load the model: {message}");
            session.client.show_message(MessageType::ERROR, format!("Infill cannot load its model: {message}")).await;
            session.slot.set(Arc::new(NoModel), EngineState::Error { model: reference, message });
        }
    }
    publish(session).await;
}

/// Turns download progress into `$/progress` (when the client shows it) and the log.
async fn report_download(
    client: tower_lsp::Client,
    show_progress: bool,
    reference: String,
    mut progress: tokio::sync::mpsc::UnboundedReceiver<DownloadProgress>,
) {
    let token = NumberOrString::String(format!("infill/download/{reference}"));
    let mut begun = false;
    let mut last_percent = None;
    while let Some(p) = progress.recv().await {
        let percent = (p.done * 100).checked_div(p.total).unwrap_or(0).min(100) as u32;
        if last_percent == Some(percent) {
            continue;
        }
        last_percent = Some(percent);
        let message = format!("{:.0} of {:.0} MB", p.done as f64 / 1e6, p.total as f64 / 1e6);
        if percent.is_multiple_of(10) {
            tracing::info!("downloading {reference}: {percent}%");
        }
        if !show_progress {
            continue;
        }
        if !begun {
            begun = client
                .send_request::<WorkDoneProgressCreate>(WorkDoneProgressCreateParams { token: token.clone() })
                .await
                .is_ok();
            if !begun {
                continue;
            }
            let begin = WorkDoneProgressBegin {
                title: format!("Downloading {reference}"),
                cancellable: Some(false),
                message: Some(message.clone()),
                percentage: Some(percent),
            };
            client.send_notification::<Progress>(progress_params(&token, WorkDoneProgress::Begin(begin))).await;
        }
        let report =
            WorkDoneProgressReport { cancellable: Some(false), message: Some(message), percentage: Some(percent) };
        client.send_notification::<Progress>(progress_params(&token, WorkDoneProgress::Report(report))).await;
    }
    if begun {
        let end = WorkDoneProgressEnd { message: Some("downloaded".into()) };
        client.send_notification::<Progress>(progress_params(&token, WorkDoneProgress::End(end))).await;
    }
}

fn progress_params(token: &NumberOrString, value: WorkDoneProgress) -> ProgressParams {
    ProgressParams { token: token.clone(), value: ProgressParamsValue::WorkDone(value) }
}

/// Sends the current state as `infill/status`.
pub async fn publish(session: &Session) {
    send_status(&session.client, &session.slot).await;
}

/// Sends `slot`'s state as `infill/status`.
pub(crate) async fn send_status(client: &tower_lsp::Client, slot: &EngineSlot) {
    let state = serde_json::to_value(slot.state()).unwrap_or_else(|_| json!({ "state": "error" }));
    client.send_notification::<StatusNotification>(state).await;
}

/// `infill/status`: `{ "state": "noModel" | "loading" | "ready" | "error", ... }`.
pub enum StatusNotification {}

impl tower_lsp::lsp_types::notification::Notification for StatusNotification {
    type Params = serde_json::Value;
    const METHOD: &'static str = STATUS_METHOD;
}
