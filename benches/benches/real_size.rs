//! The product at the size users run: the real server on GGUF files with the exact
//! shapes of Qwen2.5-Coder 0.5B and 1.5B (Q8_0 and Q4_K_M mixes, random weights:
//! timings depend on shapes, not values), beside llama.cpp's `llama-server` driven as
//! llama.vim drives it (`/infill`), same file, threads and typing script, in one run:
//!
//! - typing one line in the middle of the Python standard library's `textwrap.py`
//!   (the file opened, the cursor put there, 1 s of quiet, then a key every keystroke's
//!   answer): prompt tokens evaluated per keystroke, keystroke latency p50/p95/p99
//!   (the first keystroke included);
//! - cold start: `difflib.py` (2,056 lines) opened, the cursor put in its middle, idle
//!   for 1 s, then 3 s, then a line typed: the first keystroke's latency, and the time
//!   from opening the file to the first suggestion;
//! - memory: peak RSS of our server with four documents warmed, beside the file size;
//! - the engine's prefill and decode speed beside `llama-bench` (the `engine` bench).
//!
//! Run: `cargo bench -p infill-benches --bench real_size` (`INFILL_REAL_MODELS` lists
//! the models, `SHAPE/QUANT` separated by commas; default: 0.5B Q8_0, 0.5B Q4_K_M,
//! 1.5B Q8_0, 1.5B Q4_K_M; `INFILL_BENCH_NO_LLAMA=1` leaves the peer out).
#![allow(clippy::print_stdout, reason = "a benchmark prints its report; it is no LSP server")]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use infill_benches::replay::{peak_rss, Answer, Infill, LlamaServer, PeerApi, Server};
use infill_benches::{human, python_stdlib, synthetic_model, Summary};
use serde_json::json;

const THREADS: usize = 2;
const MAX_TOKENS: u64 = 64;
/// llama.vim's first-request predict limit, the nearest it has to our time limit.
const PEER_PREDICT_MS: u64 = 250;

/// A code line at or after the middle of `text` (indented, 30 to 50 characters, no
/// comment): its byte range without the line break.
fn middle_line(text: &str) -> std::ops::Range<usize> {
    let mut at = 0;
    let mut candidates = Vec::new();
    for line in text.split_inclusive('\n') {
        let code = line.trim_end();
        if code.starts_with("        ")
            && (30..=50).contains(&code.trim().len())
            && !code.trim_start().starts_with(['#', '"', '\''])
        {
            candidates.push(at..at + code.len());
        }
        at += line.len();
    }
    candidates.into_iter().find(|r| r.start >= text.len() / 2).expect("a code line in the second half")
}

/// What typing a line into one server showed.
#[derive(Default)]
struct Typing {
    latencies: Vec<Duration>,
    evaluated: Vec<u64>,
    first: Duration,
    /// Keystrokes answered before the prompt was first ready (its evaluation still
    /// pending, or nothing generated yet).
    before_ready: usize,
    /// From then on: prompt tokens evaluated for each model answer, and the time to
    /// its first token.
    ready_evaluated: Vec<u64>,
    /// See `ready_evaluated`.
    ready_first_token: Vec<Duration>,
    /// From opening the file to the first non-empty suggestion.
    to_suggestion: Option<Duration>,
}

/// Opens `path` without the line `line`, puts the cursor at the line's start (our
/// clients say so with `infill/cursor`), waits `idle`, then types the line back a key
/// at a time (each keystroke waits for its answer).
fn type_line(server: &mut dyn Server, path: &Path, text: &str, line: std::ops::Range<usize>, idle: Duration) -> Typing {
    let original = &text[line.clone()];
    let mut doc = format!("{}{}", &text[..line.start], &text[line.end..]);
    let opened = Instant::now();
    server.open(path, "python", &doc);
    server.cursor(&doc, line.start);
    std::thread::sleep(idle);
    let mut typing = Typing::default();
    for (i, c) in original.char_indices() {
        let at = line.start + i;
        doc.insert(at, c);
        let started = Instant::now();
        let answer = server.keystroke(&doc, at, &c.to_string(), at + c.len_utf8());
        let Answer { text: ref shown, evaluated, model, .. } = answer;
        let took = started.elapsed();
        if i == 0 {
            typing.first = took;
        }
        typing.latencies.push(took);
        if model {
            typing.evaluated.push(evaluated);
        }
        let was_ready = !typing.ready_first_token.is_empty();
        match answer.first_token_ms {
            Some(ms) if model && (was_ready || answer.pending == 0) => {
                typing.ready_evaluated.push(evaluated);
                typing.ready_first_token.push(Duration::from_secs_f64(ms / 1e3));
            }
            _ if !was_ready => typing.before_ready += 1,
            _ => {}
        }
        if !shown.is_empty() && typing.to_suggestion.is_none() {
            typing.to_suggestion = Some(opened.elapsed());
        }
    }
    typing
}

fn median(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}

fn report(name: &str, t: &mut Typing) {
    let latency = Summary::of(&mut t.latencies);
    println!(
        "  {name:<13} keystrokes {:>3} | prompt tokens evaluated per keystroke: median {:>4} | latency p50 {:>9} p95 {:>9} p99 {:>9} | first keystroke {:>9}",
        t.latencies.len(),
        median(&mut t.evaluated),
        human(latency.p50),
        human(latency.p95),
        human(latency.p99),
        human(t.first),
    );
    if t.ready_first_token.is_empty() {
        println!("  {:<13} the prompt was never ready while typing the line", "");
        return;
    }
    let first_token = Summary::of(&mut t.ready_first_token);
    println!(
        "  {:<13} once the prompt was ready (after {} keystrokes): prompt tokens per model answer median {:>4} | time to first token p50 {:>9} p95 {:>9}",
        "",
        t.before_ready,
        median(&mut t.ready_evaluated),
        human(first_token.p50),
        human(first_token.p95),
    );
}

fn ours(model: &Path) -> Infill {
    Infill::start(model, THREADS, "warn", json!({ "maxTokens": MAX_TOKENS }))
}

fn peer(model: &Path) -> Option<LlamaServer> {
    if std::env::var_os("INFILL_BENCH_NO_LLAMA").is_some() {
        return None;
    }
    LlamaServer::start(model, THREADS, PeerApi::Infill, MAX_TOKENS, Some(PEER_PREDICT_MS))
}

/// Peak RSS of our server after warming four documents of the standard library.
fn warm_memory(model: &Path) -> u64 {
    // The warm-ups are logged at debug level.
    let mut server =
        Infill::start(model, THREADS, "warn,infill_server::warm=debug", json!({ "maxTokens": MAX_TOKENS }));
    for file in ["textwrap.py", "difflib.py", "shlex.py", "heapq.py"] {
        let path = python_stdlib(file);
        let text = std::fs::read_to_string(&path).expect("stdlib file");
        server.open(&path, "python", &text);
        server.cursor(&text, middle_line(&text).start);
        let warmed = server.client.wait_for(Duration::from_secs(120), |m| {
            m["method"] == "window/logMessage"
                && m["params"]["message"].as_str().is_some_and(|s| s.starts_with("warmed"))
        });
        assert!(warmed.is_some(), "no warm-up for {file}");
    }
    peak_rss(server.pid())
}

fn main() {
    let models = std::env::var("INFILL_REAL_MODELS").unwrap_or_else(|_| {
        "qwen2.5-coder-0.5b/q8_0,qwen2.5-coder-0.5b/q4_k_m,qwen2.5-coder-1.5b/q8_0,qwen2.5-coder-1.5b/q4_k_m".into()
    });
    let build = Command::new("cargo").args(["build", "--release", "--locked", "-p", "infill-server"]).status();
    assert!(build.is_ok_and(|s| s.success()), "building infill-ls");
    let textwrap = python_stdlib("textwrap.py");
    let textwrap_text = std::fs::read_to_string(&textwrap).expect("textwrap.py");
    let typed_line = middle_line(&textwrap_text);
    let difflib = python_stdlib("difflib.py");
    let difflib_text = std::fs::read_to_string(&difflib).expect("difflib.py");
    let cold_line = middle_line(&difflib_text);
    println!(
        "real size: {THREADS} threads, maxTokens {MAX_TOKENS} (llama-server: n_predict {MAX_TOKENS}, t_max_predict_ms {PEER_PREDICT_MS}); typing {:?} (textwrap.py line {}), cold start in difflib.py line {}",
        &textwrap_text[typed_line.clone()].trim(),
        textwrap_text[..typed_line.start].matches('\n').count() + 1,
        difflib_text[..cold_line.start].matches('\n').count() + 1,
    );
    for spec in models.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((shape, quant)) = spec.split_once('/') else { continue };
        let model = synthetic_model(shape, quant);
        let file_mb = std::fs::metadata(&model).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0);
        println!("\n== {spec} ({file_mb:.0} MB)");

        println!(" typing one line in textwrap.py after 1 s of quiet:");
        let mut typing =
            type_line(&mut ours(&model), &textwrap, &textwrap_text, typed_line.clone(), Duration::from_secs(1));
        report("infill-ls", &mut typing);
        let mut peer_typing = peer(&model).map(|mut llama| {
            type_line(&mut llama, &textwrap, &textwrap_text, typed_line.clone(), Duration::from_secs(1))
        });
        match peer_typing.as_mut() {
            Some(t) => report("llama-server", t),
            None => println!("  llama-server: not run"),
        }

        println!(" cold start (difflib.py, 2,056 lines): opened, cursor put, quiet, then typing:");
        for idle in [Duration::from_secs(1), Duration::from_secs(3)] {
            let t = type_line(&mut ours(&model), &difflib, &difflib_text, cold_line.clone(), idle);
            let peer_t =
                peer(&model).map(|mut llama| type_line(&mut llama, &difflib, &difflib_text, cold_line.clone(), idle));
            let shown = |d: Option<Duration>| d.map_or("none while typing the line".to_owned(), human);
            println!(
                "  idle {:>2} s: infill-ls first keystroke {:>9}, open to first suggestion {}{}",
                idle.as_secs(),
                human(t.first),
                shown(t.to_suggestion),
                peer_t.map_or(String::new(), |p| format!(
                    " | llama-server first keystroke {}, open to first suggestion {}",
                    human(p.first),
                    shown(p.to_suggestion)
                )),
            );
        }

        println!(
            " memory: peak RSS with four documents warmed {:.0} MB (file {file_mb:.0} MB)",
            warm_memory(&model) as f64 / 1e6
        );

        println!(" engine (the `engine` bench on the same file):");
        let engine = Command::new(env!("CARGO"))
            .args(["bench", "--locked", "-p", "infill-benches", "--bench", "engine"])
            .env("INFILL_BENCH_MODEL", spec)
            .output();
        match engine {
            Ok(out) => {
                for line in String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter(|l| l.starts_with("prefill") || l.starts_with("decode at"))
                {
                    println!("  {line}");
                }
            }
            Err(e) => println!("  engine bench failed: {e}"),
        }
    }
}
