//! Command-line flags of `infill-ls`.

use clap::Parser;

/// `infill-ls`: local AI code completion over the Language Server Protocol (stdio).
#[derive(Debug, Parser)]
#[command(name = "infill-ls", version, about, long_about = None)]
pub struct Cli {
    /// Model to load: a `.gguf` path or a Hugging Face reference (overridden by the editor's `model` setting).
    #[arg(long, value_name = "PATH")]
    pub model: Option<String>,
    /// Inference threads (default: one per physical core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub threads: Option<u32>,
    /// Log filter for stderr and the editor's log: error, warn, info, debug, trace,
    /// or a filter such as `infill_server=debug` (default: $INFILL_LOG, else info).
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Accepted for clients that pass it (vscode-languageclient); stdio is the only transport.
    #[arg(long, hide = true)]
    pub stdio: bool,
    /// Testing only: replace the model by a scripted engine that answers after DELAY_MS.
    #[arg(long, hide = true, value_name = "DELAY_MS")]
    pub test_engine: Option<u64>,
}
