//! The engine currently answering completions, swapped when a model finishes loading
//! or the `model` setting changes, and the state users see (status bar, log).

use std::sync::{Arc, RwLock};

use serde::Serialize;

use super::{CompletionEngine, NoModel};

/// What the server is doing about a model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum EngineState {
    /// No model is configured.
    NoModel,
    /// A model is being downloaded or loaded.
    Loading {
        /// The reference being loaded.
        model: String,
    },
    /// Completions come from this model.
    Ready {
        /// The reference loaded.
        model: String,
        /// Its name from the file.
        name: String,
    },
    /// The model could not be loaded; completions are empty.
    Error {
        /// The reference that failed.
        model: String,
        /// Why, in words for the user.
        message: String,
    },
}

/// The engine in use and its state.
pub struct EngineSlot {
    engine: RwLock<Arc<dyn CompletionEngine>>,
    state: RwLock<EngineState>,
    /// A fixed engine (tests) is never replaced by a model.
    fixed: bool,
}

impl EngineSlot {
    /// A slot that loads models as configured, starting with none.
    pub fn empty() -> Self {
        EngineSlot { engine: RwLock::new(Arc::new(NoModel)), state: RwLock::new(EngineState::NoModel), fixed: false }
    }

    /// A slot holding `engine` for good.
    pub fn fixed(engine: Arc<dyn CompletionEngine>) -> Self {
        let state = EngineState::Ready { model: "test".into(), name: "test engine".into() };
        EngineSlot { engine: RwLock::new(engine), state: RwLock::new(state), fixed: true }
    }

    /// Whether models are loaded into this slot.
    pub fn loads_models(&self) -> bool {
        !self.fixed
    }

    /// The engine to ask now.
    pub fn current(&self) -> Arc<dyn CompletionEngine> {
        self.engine.read().map(|e| e.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The state now.
    pub fn state(&self) -> EngineState {
        self.state.read().map(|s| s.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Replaces the engine and the state together.
    pub fn set(&self, engine: Arc<dyn CompletionEngine>, state: EngineState) {
        *self.engine.write().unwrap_or_else(|p| p.into_inner()) = engine;
        self.set_state(state);
    }

    /// Changes the state only.
    pub fn set_state(&self, state: EngineState) {
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = state;
    }
}
