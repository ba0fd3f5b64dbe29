//! One module per LSP method. Notification handlers that mutate documents do all their
//! work before their first `.await`, because tower-lsp polls several handlers at once
//! and only the order of their first polls follows the order of the messages.

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
