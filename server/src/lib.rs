//! Infill's language server.
//!
//! [`serve_stdio`] runs the server over standard input and output. Inside, the
//! `transport` frames messages and shields tower-lsp from bad input, `backend` has the
//! entry points tower-lsp calls, `handlers` one module per LSP method over the
//! `session` (the state they share), and the [`document_store`] keeps every open buffer
//! as a rope addressed through [`position`]. Suggestions come from a
//! [`engine::CompletionEngine`]. The public modules are what the binary, the tests and
//! the benchmarks use.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod backend;
mod cancel;
mod capabilities;
mod change_history;
pub mod cli;
pub mod commands;
pub mod confidence;
pub mod config;
pub mod document;
pub mod document_store;
pub mod engine;
mod handlers;
pub mod logging;
mod model_loader;
mod model_watch;
mod panic_guard;
pub mod position;
mod protocol;
mod remote;
mod request_context;
mod router;
mod session;
mod speculation;
mod suggestion_cache;
pub mod transport;
mod typing_pace;
mod warm;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use tower_lsp::lsp_types;
use tower_lsp::{LspService, Server};

use backend::Backend;
use config::Config;
use engine::CompletionEngine;
use session::Session;

/// Handlers tower-lsp may poll at once. Its default of 4 would let four slow
/// completions hold back every `didChange` queued behind them.
const CONCURRENT_HANDLERS: usize = 64;
/// How long, after the input ends, running handlers get to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// What the server needs at start-up.
pub struct Startup {
    /// Settings from the command line (the editor's settings override them).
    pub config: Config,
    /// A fixed engine (tests); `None` loads the configured model.
    pub engine: Option<Arc<dyn CompletionEngine>>,
    /// Changes the log level at run time.
    pub log: logging::LogControl,
}

/// Serves LSP on stdin/stdout until `exit` or end of input. Returns the process exit
/// code the specification asks for: 0 if `shutdown` came first, else 1.
pub async fn serve_stdio(startup: Startup) -> i32 {
    serve(tokio::io::stdin(), tokio::io::stdout(), startup).await
}

/// Serves LSP on any pair of byte streams (stdio in the binary, in-memory pipes in the
/// in-process fuzzer) until `exit` or end of input; returns what [`serve_stdio`] returns.
pub async fn serve<R, W>(input: R, output: W, startup: Startup) -> i32
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    panic_guard::install_hook();
    let (pipes, mut transport) = transport::start(input, output, capabilities::add_proposed);
    let shutdown = Arc::new(AtomicBool::new(false));
    let Startup { config, engine, log } = startup;
    let flag = shutdown.clone();
    let (service, socket) = LspService::build(move |client| {
        logging::attach_client(client.clone());
        Backend(Session::new(client, config, engine, log, flag))
    })
    .custom_method(protocol::INLINE_COMPLETION_METHOD, Backend::inline_completion)
    .custom_method(protocol::CURSOR_METHOD, Backend::cursor)
    .finish();
    let server = Server::new(pipes.server_input, pipes.server_output, socket)
        .concurrency_level(CONCURRENT_HANDLERS)
        .serve(service);
    let server = tokio::spawn(server);
    let end = transport.input_end().await;
    tracing::debug!(?end, "input ended");
    if tokio::time::timeout(DRAIN_TIMEOUT, server).await.is_err() {
        tracing::warn!("handlers still running {DRAIN_TIMEOUT:?} after the input ended; exiting anyway");
    }
    transport.flush(DRAIN_TIMEOUT).await;
    if shutdown.load(Ordering::SeqCst) {
        0
    } else {
        1
    }
}
