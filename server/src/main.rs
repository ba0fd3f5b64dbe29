//! `infill-ls`: the binary editors start. Parses flags, sets up logging, serves LSP on stdio.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use infill_server::cli::Cli;
use infill_server::config::Config;
use infill_server::engine::{test_double, CompletionEngine, NoModel};
use infill_server::{logging, serve_stdio, Startup};

fn main() {
    let cli = Cli::parse();
    let level = cli.log_level.clone().or_else(|| std::env::var("INFILL_LOG").ok()).unwrap_or_else(|| "info".into());
    let log = logging::init(&level);
    let config = Config {
        model: cli.model.clone(),
        log_level: level,
        threads: cli.threads.map(|n| n as usize),
        ..Config::default()
    };
    let engine: Arc<dyn CompletionEngine> = match cli.test_engine {
        Some(ms) => Arc::new(test_double::Scripted::new(Duration::from_millis(ms))),
        None => Arc::new(NoModel),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(serve_stdio(Startup { config, engine, log }));
    // Exit without waiting for the blocking thread that may still sit in a read of stdin.
    std::process::exit(code);
}
