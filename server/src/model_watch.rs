//! Watching the loaded model's file while the server runs: removed, replaced by another
//! model, or cut short (a download or copy in progress, a full disk).
//!
//! The weights are in memory, so nothing the file goes through stops completions. The
//! user is told once, in plain words, what happened and what Infill does about it: a
//! removed file changes nothing until it is back; a changed file is loaded again once it
//! stops changing; one that cannot be loaded (truncated, not a model) leaves the model
//! in use as it is. A poll every two seconds costs one `stat`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use infill_model::{Engine, EngineOptions};
use tower_lsp::lsp_types::MessageType;
use tower_lsp::Client;

use crate::document_store::DocumentStore;
use crate::engine::model_engine::ModelEngine;
use crate::engine::slot::{EngineSlot, EngineState};
use crate::session::LoadedKey;
use crate::suggestion_cache::SuggestionCache;

/// How often the file is looked at.
const POLL: Duration = Duration::from_secs(2);

/// What tells one version of a file from another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    /// The file itself (a copy moved over the path is another inode).
    #[cfg(unix)]
    inode: u64,
}

impl Stamp {
    fn of(path: &std::path::Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            inode: std::os::unix::fs::MetadataExt::ino(&meta),
        })
    }
}

/// What the watcher needs of the session (all shared, so it can outlive a handler).
pub(crate) struct Watch {
    /// Where notices go.
    pub client: Client,
    /// The engine it replaces on a reload.
    pub slot: Arc<EngineSlot>,
    /// Documents whose prompt heads a new vocabulary invalidates.
    pub documents: Arc<DocumentStore>,
    /// Answers of the old model.
    pub suggestions: Arc<SuggestionCache>,
    /// The settings loaded last: the watcher stops when they change.
    pub loaded_model: Arc<Mutex<Option<LoadedKey>>>,
    /// The settings this model was loaded for.
    pub key: LoadedKey,
    /// The model reference as the settings name it.
    pub reference: String,
    /// The file loaded.
    pub path: PathBuf,
    /// How it was loaded.
    pub options: EngineOptions,
}

impl Watch {
    /// Starts watching (a task that ends when another model is asked for).
    pub(crate) fn spawn(self) {
        tokio::spawn(self.run());
    }

    fn current(&self) -> bool {
        self.loaded_model.lock().unwrap_or_else(|p| p.into_inner()).as_ref() == Some(&self.key)
    }

    async fn run(self) {
        let mut seen = Stamp::of(&self.path);
        let mut changing: Option<Stamp> = None;
        let mut told_missing = false;
        let mut told_unloadable: Option<Stamp> = None;
        loop {
            tokio::time::sleep(POLL).await;
            if !self.current() {
                return;
            }
            let now = Stamp::of(&self.path);
            let Some(stamp) = now else {
                if !told_missing {
                    told_missing = true;
                    self.tell(
                        MessageType::WARNING,
                        format!(
                            "The model file {} was removed. Infill goes on with the copy it loaded and will load \
                             the file again when it is back.",
                            self.path.display()
                        ),
                    )
                    .await;
                }
                seen = None;
                continue;
            };
            if Some(stamp) == seen {
                continue;
            }
            // Load only a file that stopped changing (a copy or a download in progress).
            if changing != Some(stamp) {
                changing = Some(stamp);
                continue;
            }
            changing = None;
            seen = Some(stamp);
            told_missing = false;
            tracing::info!(path = %self.path.display(), "the model file changed on disk; loading it again");
            let (path, options) = (self.path.clone(), self.options.clone());
            let loaded = tokio::task::spawn_blocking(move || Engine::start(&path, options))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
            if !self.current() {
                return;
            }
            match loaded {
                Ok(engine) => {
                    let engine = ModelEngine::new(Arc::new(engine));
                    let name = engine.model_name().to_owned();
                    self.suggestions.clear();
                    self.documents.forget_prompt_starts();
                    self.slot.set(
                        Arc::new(engine),
                        EngineState::Ready { model: self.reference.clone(), name: name.clone() },
                    );
                    crate::model_loader::send_status(&self.client, &self.slot).await;
                    told_unloadable = None;
                    self.tell(
                        MessageType::INFO,
                        format!(
                            "The model file {} changed on disk; Infill loaded it again ({name}).",
                            self.path.display()
                        ),
                    )
                    .await;
                }
                Err(message) => {
                    if told_unloadable != Some(stamp) {
                        told_unloadable = Some(stamp);
                        self.tell(
                            MessageType::WARNING,
                            format!(
                                "The model file {} changed on disk and cannot be loaded: {message}. Infill goes on \
                                 with the model it loaded before.",
                                self.path.display()
                            ),
                        )
                        .await;
                    }
                }
            }
        }
    }

    async fn tell(&self, kind: MessageType, message: String) {
        tracing::warn!("{message}");
        self.client.show_message(kind, message).await;
    }
}
