//! The llama.cpp peer for tests: `llama-logits` (built by
//! `benches/scripts/build-llama-cpp.sh` from `model/tests/peer/llama-logits.cpp`) run on
//! a GGUF file, its tokens, logits and greedy tokens read back.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Path of `llama-logits`, built once per test process. `None` only when
/// `INFILL_NO_PEER=1` (a machine that cannot build llama.cpp); a failed build panics:
/// the comparison is required in CI and never skipped silently.
pub fn llama_logits_bin() -> Option<PathBuf> {
    static BIN: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        if std::env::var_os("INFILL_NO_PEER").is_some_and(|v| v == "1") {
            eprintln!("INFILL_NO_PEER=1: the llama.cpp comparison is skipped");
            return None;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../benches/scripts/build-llama-cpp.sh");
        let out = Command::new("bash").arg(script).output().expect("run build-llama-cpp.sh");
        assert!(out.status.success(), "build-llama-cpp.sh failed:\n{}", String::from_utf8_lossy(&out.stderr));
        let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("llama-logits");
        assert!(bin.is_file(), "{} was not built", bin.display());
        Some(bin)
    })
    .clone()
}

/// What the peer evaluates.
pub enum Prompt<'a> {
    /// These token ids, as they are.
    Tokens(&'a [u32]),
    /// This text, tokenized by llama.cpp (with the vocabulary's BOS when `bos`).
    Text { text: &'a str, bos: bool },
}

/// What the peer printed.
pub struct PeerRun {
    /// The prompt's tokens (for a text prompt, llama.cpp's tokenization).
    pub tokens: Vec<u32>,
    /// The logits after the prompt positions asked for.
    pub logits: Vec<Vec<f32>>,
    /// The greedy tokens after the prompt.
    pub greedy: Vec<u32>,
    /// The logits each greedy token was chosen from (when asked for).
    pub steps: Vec<Vec<f32>>,
}

/// Which logits the peer prints.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Logits {
    /// None.
    None,
    /// After every prompt position.
    All,
    /// After the last prompt position only.
    Last,
    /// After every prompt position and before every greedy step.
    AllAndSteps,
}

/// Runs the peer on `model` with 2 threads; panics with its stderr when it fails.
pub fn run(model: &Path, prompt: Prompt, logits: Logits, steps: usize) -> PeerRun {
    let bin = llama_logits_bin().expect("the peer (INFILL_NO_PEER is set)");
    let mut cmd = Command::new(bin);
    cmd.arg("-m").arg(model).args(["-t", "2", "--steps", &steps.to_string()]);
    match logits {
        Logits::None => {}
        Logits::All => {
            cmd.arg("--logits");
        }
        Logits::Last => {
            cmd.arg("--last-logits");
        }
        Logits::AllAndSteps => {
            cmd.args(["--logits", "--step-logits"]);
        }
    }
    let mut tokens = Vec::new();
    let mut text_file = None;
    match prompt {
        Prompt::Tokens(ids) => {
            tokens = ids.to_vec();
            let list: Vec<String> = ids.iter().map(u32::to_string).collect();
            cmd.args(["--tokens", &list.join(",")]);
        }
        Prompt::Text { text, bos } => {
            static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let file = std::env::temp_dir().join(format!("infill-peer-{}-{n}.txt", std::process::id()));
            std::fs::write(&file, text).expect("write the prompt");
            cmd.arg("--text-file").arg(&file);
            text_file = Some(file);
            if bos {
                cmd.arg("--bos");
            }
        }
    }
    let out = cmd.output().expect("run llama-logits");
    if let Some(file) = text_file {
        let _ = std::fs::remove_file(file);
    }
    assert!(
        out.status.success(),
        "llama-logits failed on {}:\n{}",
        model.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ids = |s: &str| s.split_whitespace().map(|t| t.parse::<u32>().expect("a token id")).collect::<Vec<u32>>();
    let mut run = PeerRun { tokens, logits: Vec::new(), greedy: Vec::new(), steps: Vec::new() };
    let floats = |values: std::str::SplitWhitespace| values.map(|v| v.parse::<f32>().expect("a logit")).collect();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("tokens:") {
            run.tokens = ids(rest);
        } else if let Some(rest) = line.strip_prefix("greedy:") {
            run.greedy = ids(rest);
        } else if let Some(rest) = line.strip_prefix("logits ") {
            let mut values = rest.split_whitespace();
            let pos: usize = values.next().and_then(|p| p.parse().ok()).expect("a position");
            assert!(logits == Logits::Last || pos == run.logits.len(), "positions in order");
            run.logits.push(floats(values));
        } else if let Some(rest) = line.strip_prefix("step ") {
            let mut values = rest.split_whitespace();
            values.next();
            run.steps.push(floats(values));
        }
    }
    assert_eq!(run.greedy.len(), steps, "greedy tokens printed by llama-logits");
    run
}
