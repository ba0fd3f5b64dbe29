//! `infill-ls`: the binary editors start. Parses flags, sets up logging, then serves
//! LSP on stdio or runs a subcommand (`complete`, `prompt`, `fetch`).

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use infill_server::cli::{Cli, Command};
use infill_server::config::Config;
use infill_server::engine::{test_double, CompletionEngine};
use infill_server::{commands, logging, serve_stdio, Startup};

fn main() {
    let cli = Cli::parse();
    let level = cli.log_level.clone().or_else(|| std::env::var("INFILL_LOG").ok()).unwrap_or_else(|| "info".into());
    let log = logging::init(&level);
    let threads = cli.threads.map(|n| n as usize);
    let outcome = match &cli.command {
        Some(Command::Complete { at, max_tokens }) => {
            commands::complete(at, *max_tokens, cli.model.as_deref(), threads)
        }
        Some(Command::Prompt { at, format, budget, max_tokens }) => commands::prompt(
            at,
            commands::PromptArgs {
                format: format.as_deref(),
                budget: *budget,
                max_tokens: *max_tokens,
                model: cli.model.as_deref(),
            },
        ),
        Some(Command::Fetch { reference }) => commands::fetch(reference.as_deref()),
        None => std::process::exit(serve(cli, level, log, threads)),
    };
    if let Err(e) = outcome {
        tracing::error!("{e:#}");
        std::process::exit(1);
    }
}

fn serve(cli: Cli, level: String, log: logging::LogControl, threads: Option<usize>) -> i32 {
    let config = Config { model: cli.model.clone(), log_level: level, threads, ..Config::default() };
    let engine: Option<Arc<dyn CompletionEngine>> = cli
        .test_engine
        .map(|ms| Arc::new(test_double::Scripted::new(Duration::from_millis(ms))) as Arc<dyn CompletionEngine>);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return 1;
        }
    };
    // Exit without waiting for the blocking thread that may still sit in a read of stdin.
    runtime.block_on(serve_stdio(Startup { config, engine, log }))
}
