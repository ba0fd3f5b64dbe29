//! Fuzz targets as plain functions of bytes, one module each, so that the same code runs
//! under libFuzzer (`fuzz/`, `cargo fuzz run <target>`) and over the saved corpora in
//! `fuzz/corpus/<target>/` on stable (`cargo test -p infill-fuzzing`).
//!
//! Each target panics when an invariant breaks; an input that makes it panic is a bug.
//! Structured inputs are decoded with `arbitrary`, so every byte string is some input.

pub mod documents;
pub mod framing;
pub mod gguf;
pub mod lsp_session;
pub mod prompt;
pub mod reference;
pub mod tokenizer;

/// A fuzz target: its name (the folder of its corpus) and its body.
pub struct Target {
    /// The name `cargo fuzz run` takes and the corpus folder's name.
    pub name: &'static str,
    /// Runs one input; panics when an invariant breaks.
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target { name: "framing", run: framing::run },
    Target { name: "documents", run: documents::run },
    Target { name: "lsp_session", run: lsp_session::run },
    Target { name: "gguf", run: gguf::run },
    Target { name: "tokenizer", run: tokenizer::run },
    Target { name: "prompt", run: prompt::run },
];
