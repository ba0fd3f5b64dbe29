//! The state of one connection, which every handler reads: the documents, settings,
//! the engine and what runs on it. The tower-lsp entry points live in `backend`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tower_lsp::Client;

use crate::cancel::InFlight;
use crate::config::Config;
use crate::document_store::DocumentStore;
use crate::engine::slot::EngineSlot;
use crate::engine::CompletionEngine;
use crate::logging::LogControl;
use crate::panic_guard::PanicReporter;
use crate::position::PositionEncoding;

/// The settings a model was loaded for: `(model, threads)`.
pub(crate) type LoadedKey = (Option<String>, Option<usize>);

/// Everything the handlers share.
pub(crate) struct Session {
    /// The connection back to the editor.
    pub(crate) client: Client,
    /// The open buffers (shared with the model file's watcher).
    pub(crate) documents: Arc<DocumentStore>,
    /// Agreed at `initialize`; UTF-16 until then.
    pub(crate) encoding: OnceLock<PositionEncoding>,
    /// Current settings. A std lock: never held across an `.await`.
    pub(crate) config: RwLock<Config>,
    /// The completion running for each document.
    pub(crate) in_flight: InFlight,
    /// The engine that computes suggestions, and its state (shared with the watcher).
    pub(crate) slot: Arc<EngineSlot>,
    /// The `(model, threads)` settings last loaded, to load again only on a change.
    pub(crate) loaded_model: Arc<Mutex<Option<LoadedKey>>>,
    /// Whether the client answers `workspace/configuration`.
    pub(crate) pulls_configuration: AtomicBool,
    /// Whether the client shows `$/progress` (`window.workDoneProgress`).
    pub(crate) shows_progress: AtomicBool,
    /// Whether the client asked to shut down (decides the exit code).
    pub(crate) shutdown_requested: Arc<AtomicBool>,
    /// Reports caught panics to the user.
    pub(crate) panics: PanicReporter,
    /// Changes the log level at run time.
    pub(crate) log: LogControl,
    /// The workspace folder (from `initialize`), for paths shown to the model.
    pub(crate) root: OnceLock<Option<std::path::PathBuf>>,
    /// Recent answers, for requests that need no model.
    pub(crate) suggestions: Arc<crate::suggestion_cache::SuggestionCache>,
    /// Keystroke gaps and answer latencies, for the adaptive delay.
    pub(crate) pace: crate::typing_pace::TypingPace,
    /// The next step being computed while a suggestion is shown, or a warm-up.
    pub(crate) speculation: crate::speculation::Speculation,
    /// The latest warm-up asked for.
    pub(crate) warming: crate::warm::Warming,
    /// The remote backend, when one is configured.
    pub(crate) router: crate::router::Router,
}

impl Session {
    /// Builds the state for one connection.
    pub(crate) fn new(
        client: Client,
        config: Config,
        engine: Option<Arc<dyn CompletionEngine>>,
        log: LogControl,
        shutdown_requested: Arc<AtomicBool>,
    ) -> Self {
        Session {
            panics: PanicReporter::new(client.clone()),
            client,
            documents: Arc::default(),
            encoding: OnceLock::new(),
            config: RwLock::new(config),
            in_flight: InFlight::default(),
            slot: Arc::new(engine.map_or_else(EngineSlot::empty, EngineSlot::fixed)),
            loaded_model: Arc::new(Mutex::new(None)),
            pulls_configuration: AtomicBool::new(false),
            shows_progress: AtomicBool::new(false),
            shutdown_requested,
            log,
            root: OnceLock::new(),
            suggestions: Arc::default(),
            pace: Default::default(),
            speculation: Default::default(),
            warming: Default::default(),
            router: Default::default(),
        }
    }

    /// The workspace folder, when the client named one.
    pub(crate) fn root(&self) -> Option<std::path::PathBuf> {
        self.root.get().cloned().flatten()
    }

    /// The negotiated position encoding.
    pub(crate) fn encoding(&self) -> PositionEncoding {
        self.encoding.get().copied().unwrap_or_default()
    }

    /// Whether the client shows `$/progress`.
    pub(crate) fn work_done_progress(&self) -> bool {
        self.shows_progress.load(Ordering::Relaxed)
    }

    /// A copy of the current settings.
    pub(crate) fn config(&self) -> Config {
        self.config.read().map(|c| c.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}
