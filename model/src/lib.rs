//! Infill's model engine: quantized GGUF code models run on the CPU with candle.
//!
//! [`GgufFile`] reads and checks a file, [`HParams`] holds the shape of the network,
//! [`Transformer`] is our forward pass over a truncatable [`KvCache`].
//! This crate knows nothing of LSP, tokio or ropey.
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod arch;
mod attention;
pub mod engine;
pub mod error;
pub mod facts;
pub mod gguf;
pub mod hparams;
pub mod kernels;
pub mod kv_cache;
mod kv_shift;
mod linear;
pub mod source;
pub mod tokenizer;
pub mod transformer;

pub use arch::Architecture;
pub use engine::{
    Engine, EngineOptions, Event, Job, Model, Priority, Report, Sampling, StopReason, TokenScore, DEFAULT_DRAFTS,
};
pub use error::{ModelError, Result};
pub use facts::ModelFacts;
pub use gguf::GgufFile;
pub use hparams::HParams;
pub use kv_cache::KvCache;
pub use source::{DownloadProgress, ModelSource, DEFAULT_MODEL};
pub use tokenizer::{ModelTokenizer, StreamDecoder, VocabKind};
pub use transformer::Transformer;
