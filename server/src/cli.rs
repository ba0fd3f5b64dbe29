//! Command-line flags and subcommands of `infill-ls`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// `infill-ls`: local AI code completion over the Language Server Protocol (stdio).
/// Without a subcommand it serves LSP on stdin/stdout.
#[derive(Debug, Parser)]
#[command(name = "infill-ls", version, about, long_about = None)]
pub struct Cli {
    /// What to do instead of serving LSP.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Model to load: a `.gguf` path or a Hugging Face file `owner/repo/file.gguf`
    /// (the editor's `model` setting overrides it).
    #[arg(long, value_name = "PATH", global = true)]
    pub model: Option<String>,
    /// Inference threads (default: one per physical core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256), global = true)]
    pub threads: Option<u32>,
    /// Log filter for stderr and the editor's log: error, warn, info, debug, trace,
    /// or a filter such as `infill_server=debug` (default: $INFILL_LOG, else info).
    #[arg(long, value_name = "LEVEL", global = true)]
    pub log_level: Option<String>,
    /// Accepted for clients that pass it (vscode-languageclient); stdio is the only transport.
    #[arg(long, hide = true)]
    pub stdio: bool,
    /// Testing only: replace the model by a scripted engine that answers after DELAY_MS.
    #[arg(long, hide = true, value_name = "DELAY_MS")]
    pub test_engine: Option<u64>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the completion at a position of a file (stdout), with its timings (stderr).
    Complete {
        /// Where.
        #[command(flatten)]
        at: At,
        /// Most tokens to generate.
        #[arg(long, default_value_t = 64)]
        max_tokens: u32,
    },
    /// Print the prompt a completion at a position of a file would send: its text,
    /// token counts per part and the decided shape. Reads only the model's vocabulary.
    Prompt {
        /// Where.
        #[command(flatten)]
        at: At,
        /// Prompt format instead of the model's own: qwen, starcoder, deepseek,
        /// codellama, codegemma, fim or prefix.
        #[arg(long)]
        format: Option<String>,
        /// Most prompt tokens (default: 2048, within the model's context beside the answer).
        #[arg(long)]
        budget: Option<usize>,
        /// Tokens reserved for the answer.
        #[arg(long, default_value_t = 64)]
        max_tokens: u32,
    },
    /// Download a model into the Hugging Face cache and print its path
    /// (default: Qwen2.5-Coder 0.5B Q8_0). The only command that uses the network.
    Fetch {
        /// `owner/repo/file.gguf`.
        reference: Option<String>,
    },
}

/// A place in a file, as the `complete` and `prompt` commands take it.
#[derive(Debug, Args)]
pub struct At {
    /// The source file.
    pub file: PathBuf,
    /// Line of the cursor, counting from 1.
    #[arg(long)]
    pub line: u32,
    /// Column of the cursor in characters, counting from 1 (past the end: the line end).
    #[arg(long)]
    pub column: u32,
}
