//! Errors of the model crate: each names the file and says what is wrong with it.

use std::path::PathBuf;

/// Why a model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read the model file: {source}")]
    Io {
        /// The model file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file does not start with the GGUF magic.
    #[error("{path}: not a GGUF model file ({reason})")]
    NotGguf {
        /// The model file.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// The file ends before the data its header describes.
    #[error("{path}: the file is truncated or damaged: {reason}")]
    Truncated {
        /// The model file.
        path: PathBuf,
        /// Which part is missing.
        reason: String,
    },
    /// The architecture is not one we run.
    #[error("{path}: unsupported architecture `{architecture}` (supported: {})", crate::arch::supported_names())]
    UnsupportedArchitecture {
        /// The model file.
        path: PathBuf,
        /// `general.architecture`.
        architecture: String,
    },
    /// A tensor type (quantization) we cannot run.
    #[error("{path}: unsupported quantization: {reason}")]
    UnsupportedQuantization {
        /// The model file.
        path: PathBuf,
        /// Which tensor, which type.
        reason: String,
    },
    /// A metadata key the architecture needs is absent or of the wrong type.
    #[error("{path}: metadata key `{key}` {problem}")]
    Metadata {
        /// The model file.
        path: PathBuf,
        /// The key.
        key: String,
        /// "is missing", "must be a positive integer", ...
        problem: String,
    },
    /// A tensor the architecture needs is absent.
    #[error("{path}: tensor `{name}` is missing")]
    MissingTensor {
        /// The model file.
        path: PathBuf,
        /// The tensor name.
        name: String,
    },
    /// A tensor has another shape than the hyperparameters imply.
    #[error("{path}: tensor `{name}` has shape {found:?}, expected {expected:?}")]
    TensorShape {
        /// The model file.
        path: PathBuf,
        /// The tensor name.
        name: String,
        /// The shape the metadata implies.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// The vocabulary could not be turned into a tokenizer.
    #[error("{path}: tokenizer: {reason}")]
    Tokenizer {
        /// The model file (or `tokenizer.json`).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A tensor operation failed while loading or running.
    #[error("{path}: {context}: {source}")]
    Compute {
        /// The model file.
        path: PathBuf,
        /// What was being done.
        context: String,
        /// candle's error (boxed: it is large).
        source: Box<candle_core::Error>,
    },
    /// A model could not be downloaded.
    #[error("cannot download {reference}: {reason}")]
    Download {
        /// What was asked for (`owner/repo/file.gguf`).
        reference: String,
        /// Why it failed.
        reason: String,
    },
    /// A job's prompt leaves no room in the cache for an answer; prompts are fitted to
    /// their budget before they get here (`infill_context::prompt_budget`).
    #[error("the prompt has {tokens} tokens and the model's cache holds {capacity} positions")]
    PromptTooLong {
        /// Tokens in the prompt.
        tokens: usize,
        /// Positions in the cache.
        capacity: usize,
    },
    /// The engine thread is gone (it stopped after an earlier fatal error).
    #[error("the model engine has stopped: {0}")]
    EngineStopped(String),
}

/// Results of this crate.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;
