//! One module per LSP method, each taking the `Session`. Handlers of notifications that
//! change documents are plain functions, so they cannot `.await` (see `backend`).

pub mod completion;
pub mod did_change;
pub mod did_change_configuration;
pub mod did_close;
pub mod did_open;
pub mod did_save;
pub mod initialize;
pub mod inline_completion;
pub mod shutdown;
pub mod suggest;
