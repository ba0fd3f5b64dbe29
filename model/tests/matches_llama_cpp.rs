//! Our engine against llama.cpp (the peer built from llama-cpp-python's sources,
//! `model/tests/peer/llama-logits.cpp`) on the same GGUF files: tiny random models of
//! every architecture we run, in several quantizations, tied and untied, give the same
//! logits (within [`TOLERANCE`]) at every position of a 64-token prompt and before each
//! of llama.cpp's 32 greedy steps, and pick its token at every step unless its two best
//! are a near-tie (random models have many); the real Gemma 3 270M tokenizes code
//! prompts as llama.cpp does and continues them with the same greedy tokens, where the
//! two engines part only at near-ties.
//!
//! Both sides run their quantized kernels (activations rounded to 8 bits before each
//! product, in each engine's own blocking), so logits differ by rounding, not by
//! definition: a wrong norm, rotation, window or cap moves them by whole units.

mod common;

use std::path::Path;

use candle_core::quantized::GgmlDType;
use candle_core::Device;
use common::peer::{self, Logits, Prompt};
use common::tiny::{self, Tiny};
use infill_model::{GgufFile, HParams, KvCache, ModelTokenizer, Transformer};

/// Largest difference allowed between a logit of ours and llama.cpp's, as a share of
/// the spread of that position's logits (largest minus smallest), for quantized files:
/// both engines round activations to 8 bits before every product, llama.cpp in blocks
/// of 256 for K-quants and with queries and attention weights in f16.
const TOLERANCE: f32 = 0.03;
/// The same for f16 files, where only f16 rounding of activations differs.
const TOLERANCE_F16: f32 = 0.001;
/// Two tokens whose logits are closer than this are a near-tie: the engines' rounding
/// (and llama.cpp's own, between a batch and a decode step) may order them either way.
const NEAR_TIE: f32 = 0.5;

/// Every architecture we run.
const ARCHITECTURES: [&str; 8] = ["llama", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "starcoder2", "phi3"];

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("infill-peer-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn load(path: &Path, capacity: usize) -> (Transformer, KvCache) {
    let mut gguf = GgufFile::open(path).expect("open");
    let hp = HParams::read(&gguf).expect("hparams");
    let model = Transformer::load(&mut gguf, &hp, capacity, &Device::Cpu).expect("load");
    let cache = KvCache::new(&hp, capacity, &Device::Cpu).expect("cache");
    (model, cache)
}

fn argmax(v: &[f32]) -> u32 {
    v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0))).map_or(0, |(i, _)| i as u32)
}

/// Our logits after every prompt token, then `steps` greedy tokens.
fn ours(path: &Path, prompt: &[u32], steps: usize, all_rows: bool) -> (Vec<Vec<f32>>, Vec<u32>) {
    let (model, mut cache) = load(path, 512);
    let rows = if all_rows {
        model.forward_rows(prompt, &mut cache).expect("forward")
    } else {
        vec![model.forward(prompt, &mut cache).expect("forward").to_vec1().expect("logits")]
    };
    let mut greedy = Vec::with_capacity(steps);
    let mut last = rows.last().cloned().unwrap_or_default();
    for _ in 0..steps {
        let next = argmax(&last);
        greedy.push(next);
        last = model.forward(&[next], &mut cache).expect("step").to_vec1().expect("logits");
    }
    (rows, greedy)
}

/// The largest logit difference at any position, as a share of that position's spread.
fn worst_gap(ours: &[Vec<f32>], theirs: &[Vec<f32>]) -> (usize, f32) {
    assert_eq!(ours.len(), theirs.len(), "positions");
    let mut worst = (0, 0f32);
    for (pos, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert_eq!(a.len(), b.len(), "vocabulary at position {pos}");
        let spread =
            b.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x)) - b.iter().fold(f32::INFINITY, |m, &x| m.min(x));
        let gap = common::max_abs_diff(a, b) / spread.max(1e-6);
        if gap > worst.1 {
            worst = (pos, gap);
        }
    }
    worst
}

/// Our logits before each of `forced`'s tokens, fed one at a time after `prompt` (the
/// decode steps llama.cpp took).
fn ours_forced(path: &Path, prompt: &[u32], forced: &[u32]) -> Vec<Vec<f32>> {
    let (model, mut cache) = load(path, 512);
    let mut last: Vec<f32> = model.forward(prompt, &mut cache).expect("forward").to_vec1().expect("logits");
    let mut steps = Vec::with_capacity(forced.len());
    for &token in forced {
        steps.push(std::mem::take(&mut last));
        last = model.forward(&[token], &mut cache).expect("step").to_vec1().expect("logits");
    }
    steps
}

fn spread(v: &[f32]) -> f32 {
    v.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x)) - v.iter().fold(f32::INFINITY, |m, &x| m.min(x))
}

#[test]
fn tiny_models_of_every_architecture_match_llama_cpp() {
    let Some(_) = peer::llama_logits_bin() else { return };
    let dir = tempdir();
    let vocab = tiny::vocab().0.len() as u32;
    let mut rng = fastrand::Rng::with_seed(64);
    let prompt: Vec<u32> = (0..64).map(|_| rng.u32(0..vocab)).collect();
    let mut report = Vec::new();
    for arch in ARCHITECTURES {
        for (i, dtype) in
            [GgmlDType::Q8_0, GgmlDType::Q4_0, GgmlDType::Q4K, GgmlDType::Q5K, GgmlDType::Q6K, GgmlDType::F16]
                .into_iter()
                .enumerate()
        {
            for tied in [true, false] {
                if !tied && !tiny::allows_untied(arch) {
                    continue;
                }
                let spec = Tiny { tied_output: tied, seed: 100 + i as u64, ..Tiny::new(arch, dtype) };
                let path = tiny::write(&spec, &dir);
                let theirs = peer::run(&path, Prompt::Tokens(&prompt), Logits::AllAndSteps, 32);
                let (rows, free) = ours(&path, &prompt, 32, true);
                let steps = ours_forced(&path, &prompt, &theirs.greedy);
                let (pos, gap) = worst_gap(&rows, &theirs.logits);
                let (step, step_gap) = worst_gap(&steps, &theirs.steps);
                let tolerance = if dtype == GgmlDType::F16 { TOLERANCE_F16 } else { TOLERANCE };
                // Every step picks llama.cpp's token, unless llama.cpp's two are a near-tie.
                let mut ties = 0;
                let mut wrong = Vec::new();
                for (s, (o, t)) in steps.iter().zip(&theirs.steps).enumerate() {
                    let (ours_pick, their_pick) = (argmax(o) as usize, theirs.greedy[s] as usize);
                    if ours_pick == their_pick {
                        continue;
                    }
                    if (t[their_pick] - t[ours_pick]).abs() <= 2.0 * tolerance * spread(t) {
                        ties += 1;
                    } else {
                        wrong.push(s);
                    }
                }
                let free_agree = free.iter().zip(&theirs.greedy).take_while(|(a, b)| a == b).count();
                let ok = gap <= tolerance && step_gap <= tolerance && wrong.is_empty();
                report.push(format!(
                    "{}{arch} {dtype:?}{}: worst logit gap {:.3}% of the spread (prompt position {pos}), {:.3}% (step {step}); \
                     32 greedy steps: {} picks equal, {ties} near-ties, wrong at {wrong:?}; free-running {free_agree} of 32 equal",
                    if ok { "" } else { "FAILED " },
                    if tied { " tied" } else { " untied" },
                    gap * 100.0,
                    step_gap * 100.0,
                    32 - ties - wrong.len(),
                ));
            }
        }
    }
    let report = report.join("\n");
    eprintln!("{report}");
    assert!(!report.contains("FAILED"), "{report}");
}

/// Where two greedy continuations part (step `at`): llama.cpp's logits of its token and
/// ours, evaluated in one batch over the prompt and its steps before `at`, and ours.
fn parting(path: &Path, prompt: &[u32], theirs: &[u32], ours_greedy: &[u32], at: usize) -> (f32, String) {
    let mut context = prompt.to_vec();
    context.extend(&theirs[..at]);
    let peer = peer::run(path, Prompt::Tokens(&context), Logits::Last, 0);
    let (rows, _) = ours(path, &context, 0, false);
    let (Some(p), Some(o)) = (peer.logits.last(), rows.last()) else { return (f32::INFINITY, String::new()) };
    let (a, b) = (theirs[at] as usize, ours_greedy[at] as usize);
    let margin = (p[a] - p[b]).abs().max((o[a] - o[b]).abs());
    let text = format!(
        "; at step {at} llama.cpp picks {a} ({:.3}) over {b} ({:.3}), we pick {b} ({:.3}) over {a} ({:.3})",
        p[a], p[b], o[b], o[a]
    );
    (margin, text)
}

/// Code prompts of the kinds completion sees: Python, Rust, JavaScript, C, Go, shell,
/// with indentation by spaces and tabs, blank lines and non-ASCII text.
const CODE_PROMPTS: [&str; 10] = [
    "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    if n < 2:\n        return n\n    return",
    "import os\n\n\ndef list_python_files(root):\n    found = []\n    for dirpath, _, names in os.walk(root):\n        for name in names:\n",
    "fn main() {\n    let numbers = vec![1, 2, 3, 4, 5];\n    let total: i32 = numbers.iter().sum();\n    println!(",
    "impl Stack {\n    pub fn push(&mut self, value: i64) {\n        self.items.push(value);\n    }\n\n    pub fn pop(&mut self) -> Option<i64> {\n",
    "function debounce(fn, wait) {\n  let timer = null;\n  return function (...args) {\n    clearTimeout(timer);\n",
    "#include <stdio.h>\n\nint main(int argc, char **argv) {\n\tfor (int i = 1; i < argc; i++) {\n\t\tprintf(",
    "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tnames := []string{\"ada\", \"grace\"}\n\tfor _, n := range names {\n",
    "#!/usr/bin/env bash\nset -euo pipefail\nfor f in *.txt; do\n  echo \"processing $f\"\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n\n    def __repr__(self):\n        return f\"",
    "# Größe der Liste – “smart quotes” and emoji 🚀\nvalues = {\"α\": 1, \"β\": 2}\nfor key, value in values.items():\n    print(",
];

#[test]
fn gemma3_tokenizes_and_continues_code_as_llama_cpp_does() {
    let Some(_) = peer::llama_logits_bin() else { return };
    let path = infill_tests::gemma3_model();
    let gguf = GgufFile::open(&path).expect("open");
    let tokenizer = ModelTokenizer::load(&gguf).expect("tokenizer");
    let bos = tokenizer.id_of("<bos>").expect("a <bos> token");
    let mut same = 0;
    let mut report = Vec::new();
    let mut not_ties = Vec::new();
    for (i, code) in CODE_PROMPTS.iter().enumerate() {
        let theirs = peer::run(&path, Prompt::Text { text: code, bos: true }, Logits::None, 16);
        let mut tokens = vec![bos];
        tokens.extend(tokenizer.encode(code).expect("encode"));
        assert_eq!(tokens, theirs.tokens, "prompt {i} tokenizes differently: {code:?}");
        let (_, greedy) = ours(&path, &tokens, 16, false);
        let agree = greedy.iter().zip(&theirs.greedy).take_while(|(a, b)| a == b).count();
        let mut why = String::new();
        if agree == 16 {
            same += 1;
        } else {
            let (margin, text) = parting(&path, &tokens, &theirs.greedy, &greedy, agree);
            if margin > NEAR_TIE {
                not_ties.push(i);
            }
            why = text;
        }
        report
            .push(format!("prompt {i}: first {agree} of 16 greedy tokens equal: {:?}{why}", tokenizer.decode(&greedy)));
    }
    let report = report.join("\n");
    eprintln!("{report}");
    // Where the two part, both engines' two candidates are within NEAR_TIE of each other.
    assert!(not_ties.is_empty(), "prompts {not_ties:?} part at more than a near-tie:\n{report}");
    assert!(same >= 8, "greedy continuations equal on only {same} of 10 prompts:\n{report}");
}
