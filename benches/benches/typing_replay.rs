//! The typing replay: function bodies of real code no one here wrote (the Python
//! standard library, Rust crates in the cargo registry) are deleted and typed back one
//! character at a time, as an editor sends them: `didChange` per keystroke, then
//! `textDocument/inlineCompletion`. A suggestion that equals the next characters of the
//! original (whole, or its first line) is accepted (Tab) and those characters are saved.
//! The same regions are typed into llama.cpp's `llama-server` the way llama.vim drives
//! it (a request per keystroke, `cache_prompt`, one slot, `--cache-reuse 256`,
//! `/completion` with the same prefix, as the test model has no FIM tokens), with the
//! same model file, threads and acceptance rule, and the ratios are printed.
//!
//! Run: `cargo bench -p infill-benches --bench typing_replay` (builds the llama.cpp peer
//! once with `benches/scripts/build-llama-cpp.sh`; `INFILL_REPLAY_REGIONS=N` changes the
//! number of regions, `INFILL_BENCH_NO_LLAMA=1` skips the peer).
//! `INFILL_REPLAY_LANGUAGES=javascript,go,...` replays each language named on its own
//! (any of rust, python, javascript, typescript, tsx, go, java, c, cpp, csharp, php,
//! ruby, bash; all but the first two's
//! code comes from the package registries through `benches/scripts/fetch-sources.sh`)
//! and ends with a table of the figures per language. It replays on both real
//! models, the test model and Gemma 3 270M, one after the other;
//! `INFILL_BENCH_MODEL` names one model instead (see `infill_benches::bench_model`).

#![allow(clippy::print_stdout, reason = "a benchmark prints its report; it is no LSP server")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use infill_benches::replay::{peak_rss, Infill, LlamaServer, PeerApi, Server};
use infill_benches::{bench_model, human, Summary};
use infill_context::{Language, Syntax};
use infill_tests::server_binary;
use ropey::Rope;
use serde_json::json;

const SEED: u64 = 2026;
const THREADS: usize = 2;
const MAX_TOKENS: u64 = 64;
/// The user looks at an accepted suggestion this long before typing on (both servers).
const READ_PAUSE: Duration = Duration::from_millis(300);
const PYTHON_FILES: &[&str] =
    &["textwrap.py", "shlex.py", "fractions.py", "statistics.py", "heapq.py", "difflib.py", "csv.py", "calendar.py"];
/// The training set of the confidence filter (`INFILL_REPLAY_SET=train`): other files
/// than the benchmark's, so the filter is never measured on what it was fitted to.
const TRAINING_PYTHON_FILES: &[&str] = &[
    "argparse.py",
    "base64.py",
    "bisect.py",
    "configparser.py",
    "copy.py",
    "dataclasses.py",
    "ftplib.py",
    "gettext.py",
    "inspect.py",
    "ipaddress.py",
    "locale.py",
    "optparse.py",
    "pprint.py",
    "random.py",
    "string.py",
    "tokenize.py",
];
/// See `TRAINING_PYTHON_FILES` (regex-syntax files the benchmark does not use).
const TRAINING_RUST_FILES: &[&str] =
    &["hir/translate.rs", "hir/mod.rs", "ast/parse.rs", "ast/mod.rs", "ast/print.rs", "parser.rs", "hir/visitor.rs"];

/// A function body to type back.
struct Region {
    path: PathBuf,
    language: &'static str,
    /// The whole file (shared by the regions of one file).
    text: std::sync::Arc<String>,
    /// Byte range of the body in `text` (whole lines, without the last line break).
    body: std::ops::Range<usize>,
}

/// Whether this run replays the confidence filter's training files.
fn training_set() -> bool {
    std::env::var("INFILL_REPLAY_SET").is_ok_and(|s| s == "train")
}

fn python_files() -> &'static [&'static str] {
    if training_set() {
        TRAINING_PYTHON_FILES
    } else {
        PYTHON_FILES
    }
}

fn rust_files() -> Vec<PathBuf> {
    let root = infill_benches::regex_syntax_src();
    let files: &[&str] = if training_set() {
        TRAINING_RUST_FILES
    } else {
        &["hir/interval.rs", "hir/literal.rs", "utf8.rs", "debug.rs", "hir/print.rs"]
    };
    files.iter().map(|f| root.join(f)).collect()
}

/// Node kinds of functions (with a `body` field) per grammar.
const FUNCTION_KINDS: &[&str] = &[
    "function_item",
    "function_definition",
    "function_declaration",
    "method_definition",
    "method_declaration",
    "constructor_declaration",
    "method",
];

/// Files over this size are left out of the replay (SQLite's 9 MB amalgamation: no
/// one edits it, and its first parse runs past the server's limit).
const MAX_REPLAY_FILE_BYTES: u64 = 600_000;

/// Function bodies of 3 to 15 lines in `path`.
fn bodies(path: &Path, language_id: &'static str) -> Vec<Region> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_REPLAY_FILE_BYTES) {
        return Vec::new();
    }
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    let text = std::sync::Arc::new(text);
    let rope = Rope::from_str(&text);
    let language = Language::detect(language_id, &path.to_string_lossy());
    let parsed = Syntax::new(language).snapshot().parse(&rope, Duration::from_secs(5));
    let Some(tree) = parsed.tree() else { return Vec::new() };
    let tab_indented = infill_context::IndentStyle::detect(&rope, 0) == infill_context::IndentStyle::Tabs;
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        for i in (0..node.named_child_count()).rev() {
            if let Some(child) = node.named_child(i as u32) {
                stack.push(child);
            }
        }
        if !FUNCTION_KINDS.contains(&node.kind()) {
            continue;
        }
        let Some(body) = node.child_by_field_name("body") else { continue };
        // Braces: the lines inside them; Python's and Ruby's bodies: their own lines.
        let braced = rope.get_byte_slice(body.byte_range()).and_then(|b| b.chars().next()) == Some('{');
        let (first, last) = if braced {
            (body.start_position().row + 1, body.end_position().row.saturating_sub(1))
        } else {
            (body.start_position().row, body.end_position().row)
        };
        if last < first || !(3..=15).contains(&(last - first + 1)) || first <= node.start_position().row {
            continue;
        }
        let start = rope.line_to_byte(first);
        let end = rope.line_to_byte(last + 1).saturating_sub(1);
        let body_text = &text[start..end];
        if (body_text.contains('\t') && !tab_indented) || !body_text.is_ascii() {
            continue; // keep positions simple: ASCII, and tabs only where the file indents with them (Go)
        }
        out.push(Region { path: path.to_owned(), language: language_id, text: text.clone(), body: start..end });
    }
    out
}

/// `count` regions of one language, from its real code.
fn language_regions(language: &'static str, count: usize) -> Vec<Region> {
    let files: Vec<PathBuf> = match language {
        "python" => python_files().iter().map(|f| infill_benches::python_stdlib(f)).collect(),
        "rust" => rust_files(),
        other => infill_benches::real_sources(other),
    };
    let mut pool: Vec<Region> = files.iter().flat_map(|f| bodies(f, language)).collect();
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut chosen = Vec::new();
    while chosen.len() < count && !pool.is_empty() {
        chosen.push(pool.swap_remove(rng.usize(0..pool.len())));
    }
    chosen
}

fn regions(count: usize) -> Vec<Region> {
    let mut rng = fastrand::Rng::with_seed(SEED);
    let mut python: Vec<Region> =
        python_files().iter().flat_map(|f| bodies(&infill_benches::python_stdlib(f), "python")).collect();
    let mut rust: Vec<Region> = rust_files().iter().flat_map(|f| bodies(f, "rust")).collect();
    let mut chosen = Vec::new();
    let rust_count = count / 3;
    for (pool, n) in [(&mut python, count - rust_count), (&mut rust, rust_count)] {
        for _ in 0..n {
            if pool.is_empty() {
                break;
            }
            chosen.push(pool.swap_remove(rng.usize(0..pool.len())));
        }
    }
    chosen
}

/// What one server did over the whole replay.
#[derive(Default)]
struct Tally {
    name: String,
    latencies: Vec<Duration>,
    keystrokes: usize,
    typed_chars: usize,
    saved_chars: usize,
    shown: usize,
    accepted: usize,
    model_calls: usize,
    cache_hits: usize,
    peak_rss: u64,
    /// Prompt tokens evaluated by each model call.
    evaluated: Vec<u64>,
    /// Model calls that moved cached keys, and how many of those an exact evaluation
    /// confirmed (`INFILL_VERIFY_SHIFT`).
    shifted_calls: usize,
    shifted_tokens: u64,
    verified: usize,
    agreed: usize,
    /// (ms, prompt tokens evaluated, reused) of requests over 200 ms.
    slow: Vec<(f64, u64, u64)>,
    /// Requests after moving the cursor back into a typed region: latencies and prompt
    /// tokens evaluated.
    revisits: Vec<Duration>,
    revisit_evaluated: Vec<u64>,
    /// Answers the confidence filter hid.
    hidden: usize,
    /// Answers shown from the remote backend.
    remote_shown: usize,
    /// With `INFILL_REPLAY_FEATURES`: one CSV row per answer the filter judged and showed.
    features: Vec<String>,
    /// Tokens generated after the first of each answer, and the time that took.
    decoded: u64,
    decode_ms: f64,
    drafted: u64,
    accepted_drafts: u64,
}

impl Tally {
    /// Counts the figures of one answer that are not about typing.
    fn note(&mut self, answer: &infill_benches::replay::Answer, took: Duration) {
        if took > Duration::from_millis(200) {
            self.slow.push((took.as_secs_f64() * 1e3, answer.evaluated, answer.reused));
        }
        if answer.model {
            self.evaluated.push(answer.evaluated);
        }
        if answer.shifted > 0 {
            self.shifted_calls += 1;
            self.shifted_tokens += answer.shifted;
        }
        self.decoded += answer.generated.saturating_sub(1);
        self.decode_ms += answer.decode_ms;
        self.drafted += answer.drafted;
        self.accepted_drafts += answer.accepted_drafts;
        if let Some(agrees) = answer.exact_agrees {
            self.verified += 1;
            self.agreed += usize::from(agrees);
        }
    }
}

/// The characters of `suggestion` the user accepts: all of it, or its first line, when
/// that is what comes next in the original.
fn accepted_part<'a>(suggestion: &'a str, next: &str) -> Option<&'a str> {
    let whole = suggestion.trim_end();
    let first_line = whole.split('\n').next().unwrap_or("");
    [whole, first_line].into_iter().find(|s| !s.is_empty() && next.starts_with(s))
}

fn replay(server: &mut dyn Server, regions: &[Region], tally: &mut Tally) {
    for region in regions {
        let original = &region.text[region.body.clone()];
        let mut text = format!("{}{}", &region.text[..region.body.start], &region.text[region.body.end..]);
        let base = region.body.start;
        server.open(&region.path, region.language, &text);
        let mut typed = 0; // bytes of the body in the document
        tally.typed_chars += original.len();
        while typed < original.len() {
            let c = &original[typed..typed + 1];
            let at = base + typed;
            text.insert_str(at, c);
            typed += 1;
            tally.keystrokes += 1;
            let (mut inserted, mut insert_at) = (c.to_owned(), at);
            loop {
                let cursor = base + typed;
                let started = Instant::now();
                let answer = server.keystroke(&text, insert_at, &inserted, cursor);
                let took = started.elapsed();
                tally.latencies.push(took);
                tally.note(&answer, took);
                let (suggestion, model) = (answer.text.clone(), answer.model);
                tally.model_calls += usize::from(model);
                tally.cache_hits += usize::from(!model);
                tally.hidden += usize::from(answer.hidden);
                if suggestion.is_empty() {
                    break;
                }
                tally.shown += 1;
                tally.remote_shown += usize::from(answer.backend.as_deref() == Some("remote"));
                let accepted = accepted_part(&suggestion, &original[typed..]);
                if let Some(features) = &answer.features {
                    let row: Vec<String> = features.iter().map(|f| format!("{f}")).collect();
                    tally.features.push(format!(
                        "{},{},{},{}",
                        row.join(","),
                        u8::from(accepted.is_some()),
                        accepted.map_or(0, str::len),
                        suggestion.len()
                    ));
                }
                let Some(accept) = accepted else { break };
                tally.accepted += 1;
                tally.saved_chars += accept.len();
                text.insert_str(cursor, accept);
                typed += accept.len();
                (inserted, insert_at) = (accept.to_owned(), cursor);
                std::thread::sleep(READ_PAUSE);
            }
        }
        // The user goes back into what they typed: the end of its first line, then
        // of its middle line (the place typed at is left, the prompt is laid out anew).
        let lines: Vec<usize> = original.match_indices('\n').map(|(i, _)| base + i).collect();
        for cursor in [lines.first(), lines.get(lines.len() / 2)].into_iter().flatten().copied() {
            let started = Instant::now();
            let answer = server.ask(&text, cursor);
            let took = started.elapsed();
            tally.note(&answer, took);
            tally.revisits.push(took);
            tally.revisit_evaluated.push(answer.evaluated);
        }
    }
    tally.peak_rss = peak_rss(server.pid());
}

fn report(t: &mut Tally) -> Summary {
    let latency = Summary::of(&mut t.latencies);
    println!(
        "{:<13} saved {:>5.1}% of {} chars | accepted {:>3} of {:>4} shown ({:>5.1}%) | hidden {} | remote shown {} | latency p50 {:>8} p95 {:>8} p99 {:>8} | model calls/keystroke {:.2} | cache hits {:>5.1}% | peak RSS {:.0} MB",
        t.name,
        100.0 * t.saved_chars as f64 / t.typed_chars.max(1) as f64,
        t.typed_chars,
        t.accepted,
        t.shown,
        100.0 * t.accepted as f64 / t.shown.max(1) as f64,
        t.hidden,
        t.remote_shown,
        human(latency.p50),
        human(latency.p95),
        human(latency.p99),
        t.model_calls as f64 / t.keystrokes.max(1) as f64,
        100.0 * t.cache_hits as f64 / t.latencies.len().max(1) as f64,
        t.peak_rss as f64 / 1e6,
    );
    t.evaluated.sort_unstable();
    let median = t.evaluated.get(t.evaluated.len() / 2).copied().unwrap_or(0);
    let mean = t.evaluated.iter().sum::<u64>() as f64 / t.evaluated.len().max(1) as f64;
    println!("{:<13} prompt tokens evaluated per model call: median {median}, mean {mean:.1}", "");
    if t.decoded > 0 {
        println!(
            "{:<13} decoding: {:.2} ms per token after the first ({} tokens); drafts from the text: {} checked, {} accepted ({:.0}%)",
            "",
            t.decode_ms / t.decoded as f64,
            t.decoded,
            t.drafted,
            t.accepted_drafts,
            100.0 * t.accepted_drafts as f64 / t.drafted.max(1) as f64
        );
    }
    if !t.revisits.is_empty() {
        let revisit = Summary::of(&mut t.revisits);
        t.revisit_evaluated.sort_unstable();
        println!(
            "{:<13} {} requests after moving back into typed code: latency p50 {} p95 {}, prompt tokens evaluated median {}",
            "",
            t.revisits.len(),
            human(revisit.p50),
            human(revisit.p95),
            t.revisit_evaluated[t.revisit_evaluated.len() / 2]
        );
    }
    if t.shifted_calls > 0 {
        println!(
            "{:<13} {} model calls moved cached keys ({} tokens, {:.0} per call); exact evaluation agreed on {} of {} answers checked",
            "",
            t.shifted_calls,
            t.shifted_tokens,
            t.shifted_tokens as f64 / t.shifted_calls as f64,
            t.agreed,
            t.verified
        );
    }
    let evaluated: u64 = t.slow.iter().map(|s| s.1).sum();
    println!(
        "{:<13} {} requests over 200 ms, evaluating {} prompt tokens on average (slowest: {})",
        "",
        t.slow.len(),
        evaluated / (t.slow.len().max(1) as u64),
        t.slow.iter().map(|s| s.0).fold(0.0f64, f64::max).round()
    );
    latency
}

/// Whether the model has fill-in-the-middle tokens (then both servers get the suffix).
fn has_fim(model: &Path) -> bool {
    let gguf = infill_model::GgufFile::open(model).expect("the model file");
    let hp = infill_model::HParams::read(&gguf).expect("its hyperparameters");
    let tokenizer = infill_model::ModelTokenizer::load(&gguf).expect("its tokenizer");
    infill_model::ModelFacts::read(&gguf, &hp, &tokenizer).expect("its facts").tokens.has_fim()
}

fn main() {
    let count: usize = std::env::var("INFILL_REPLAY_REGIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    // Quality figures come from runs without wall-clock cut-offs (two runs agree);
    // latency figures from runs with the defaults.
    let quality = std::env::var("INFILL_REPLAY_MODE").is_ok_and(|m| m == "quality");
    // Python and Rust mixed (the figures earlier issues report), or each language named on its own.
    let groups: Vec<(String, Vec<Region>)> = match std::env::var("INFILL_REPLAY_LANGUAGES") {
        Ok(list) => list
            .split(',')
            .map(|name| {
                let language = Language::parsed()
                    .map(Language::name)
                    .find(|l| *l == name.trim())
                    .unwrap_or_else(|| panic!("unknown language `{name}`: one with a grammar"));
                (language.to_owned(), language_regions(language, count))
            })
            .collect(),
        Err(_) => vec![("python+rust".to_owned(), regions(count))],
    };
    let build = Command::new("cargo").args(["build", "--release", "--locked", "-p", "infill-server"]).status();
    assert!(build.is_ok_and(|s| s.success()), "building infill-ls");
    // The two real models (a second architecture, tokenizer and K-quant mix) unless one is named.
    let models = if std::env::var_os("INFILL_BENCH_MODEL").is_some() {
        vec![bench_model()]
    } else {
        vec![infill_benches::test_model(), infill_benches::gemma3_model()]
    };
    if let Ok(remote) = std::env::var("INFILL_REPLAY_ROUTER") {
        for (name, regions) in &groups {
            router_table(&models[0], &remote, name, regions, quality);
        }
        return;
    }
    let mut table = Vec::new();
    for model in &models {
        for (name, regions) in &groups {
            println!();
            if regions.is_empty() {
                println!("{name}: no function bodies of 3 to 15 lines found: nothing to replay");
                continue;
            }
            let (saved, chars, shown, accepted, latency) = replay_model(model, regions, quality);
            table.push((
                model.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                name,
                saved,
                chars,
                shown,
                accepted,
                latency,
            ));
        }
    }
    println!(
        "\n{:<44} {:<12} {:>7} {:>7} {:>15} {:>9} {:>9}",
        "model", "language", "saved", "chars", "accepted/shown", "p50", "p95"
    );
    for (model, name, saved, chars, shown, accepted, latency) in table {
        println!(
            "{model:<44} {name:<12} {:>6.1}% {chars:>7} {:>15} {:>9} {:>9}",
            100.0 * saved as f64 / chars.max(1) as f64,
            format!("{accepted}/{shown}"),
            human(latency.p50),
            human(latency.p95)
        );
    }
}

/// The router's benchmark (`INFILL_REPLAY_ROUTER=llama-server|openai`): the replay on
/// `model` with the local model only, a `llama-server` on 127.0.0.1 only (serving
/// `INFILL_REPLAY_REMOTE_MODEL`, by default the test model with FIM tokens), and routed
/// (local first, the server for unsure answers and blocks), side by side. Both share
/// this machine's cores, so the remote figures are a lower bound on a real GPU server's.
fn router_table(model: &Path, api: &str, name: &str, regions: &[Region], quality: bool) {
    let remote_model =
        std::env::var_os("INFILL_REPLAY_REMOTE_MODEL").map_or_else(infill_benches::fim_test_model, PathBuf::from);
    let llama = infill_tests::LlamaServer::start(&remote_model);
    println!(
        "router replay ({}): {name}, {} regions, local model {}, remote {} on {} through {api}",
        if quality { "quality: no wall-clock cut-offs" } else { "latency: default settings" },
        regions.len(),
        model.display(),
        llama.url,
        remote_model.display()
    );
    let mut rows = Vec::new();
    for routing in ["localOnly", "remoteOnly", "hybrid"] {
        let mut options = json!({
            "maxTokens": MAX_TOKENS,
            "routing": routing,
            "backend": { "api": api, "url": llama.url },
        });
        if quality {
            options["timeBudgetMs"] = json!(0);
            options["timeLimitMs"] = json!(0);
            options["backend"]["budgetMs"] = json!(60_000);
            options["backend"]["timeoutMs"] = json!(60_000);
        }
        if let Ok(strictness) = std::env::var("INFILL_REPLAY_CONFIDENCE") {
            options["confidence"] = json!(strictness);
        }
        let mut tally = Tally { name: routing.into(), ..Tally::default() };
        let mut server = Infill::start(model, THREADS, "warn", options);
        replay(&mut server, regions, &mut tally);
        let latency = report(&mut tally);
        rows.push((
            routing,
            tally.saved_chars,
            tally.typed_chars,
            tally.accepted,
            tally.shown,
            tally.remote_shown,
            latency,
        ));
    }
    println!(
        "\n{:<11} {:>7} {:>15} {:>13} {:>9} {:>9}",
        "routing", "saved", "accepted/shown", "remote shown", "p50", "p95"
    );
    for (routing, saved, typed, accepted, shown, remote, latency) in rows {
        println!(
            "{routing:<11} {:>6.1}% {:>15} {remote:>13} {:>9} {:>9}",
            100.0 * saved as f64 / typed.max(1) as f64,
            format!("{accepted}/{shown}"),
            human(latency.p50),
            human(latency.p95)
        );
    }
}

/// The replay on `model`, ours and (unless `INFILL_BENCH_NO_LLAMA`) llama-server's, and the
/// report; returns ours: characters saved and typed, suggestions shown and accepted, latency.
fn replay_model(model: &Path, regions: &[Region], quality: bool) -> (usize, usize, usize, usize, Summary) {
    let fim = has_fim(model);
    println!(
        "typing replay ({}): {} regions ({} chars), model {} ({}), {THREADS} threads, binary {}",
        if quality { "quality: no wall-clock cut-offs" } else { "latency: default settings" },
        regions.len(),
        regions.iter().map(|r| r.body.len()).sum::<usize>(),
        model.display(),
        if fim { "fill-in-the-middle" } else { "prefix only" },
        server_binary().display()
    );
    for r in regions {
        println!("  {}: {} lines", r.path.display(), r.text[r.body.clone()].lines().count());
    }

    let mut ours = Tally { name: "infill-ls".into(), ..Tally::default() };
    {
        let log = std::env::var("INFILL_REPLAY_LOG").unwrap_or_else(|_| "warn".into());
        let mut options = json!({ "maxTokens": MAX_TOKENS });
        if let Some(n) = std::env::var("INFILL_REPLAY_CACHE_REUSE").ok().and_then(|v| v.parse::<u64>().ok()) {
            options["cacheReuse"] = json!(n);
        }
        if let Some(n) = std::env::var("INFILL_REPLAY_DRAFTS").ok().and_then(|v| v.parse::<u64>().ok()) {
            options["drafts"] = json!(n);
        }
        if quality {
            options["timeBudgetMs"] = json!(0);
            options["timeLimitMs"] = json!(0);
        }
        if let Ok(strictness) = std::env::var("INFILL_REPLAY_CONFIDENCE") {
            options["confidence"] = json!(strictness);
        }
        let mut server = Infill::start(model, THREADS, &log, options);
        replay(&mut server, regions, &mut ours);
        if let Some(path) = std::env::var_os("INFILL_REPLAY_FEATURES") {
            // Appended: one file gathers the rows of every model and language replayed.
            let header = format!("# typed_chars={}\n", ours.typed_chars);
            let rows = ours.features.join("\n");
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("the features file");
            std::io::Write::write_all(&mut file, format!("{header}{rows}\n").as_bytes()).expect("writing features");
        }
        if let Some(path) = std::env::var_os("INFILL_REPLAY_LOG_FILE") {
            let _ = std::fs::write(path, server.client.stderr());
        }
    }
    let ours_latency = report(&mut ours);
    let figures = (ours.saved_chars, ours.typed_chars, ours.shown, ours.accepted, ours_latency);
    if std::env::var_os("INFILL_BENCH_NO_LLAMA").is_some() || regions.is_empty() {
        return figures;
    }
    // llama.vim's first-request predict limit; none for quality runs.
    let predict_ms = (!quality).then_some(250);
    let api = if fim { PeerApi::Infill } else { PeerApi::Completion };
    let Some(mut llama) = LlamaServer::start(model, THREADS, api, MAX_TOKENS, predict_ms) else {
        println!("llama-server could not be started: no peer figures");
        return figures;
    };
    let mut peer = Tally { name: "llama-server".into(), ..Tally::default() };
    replay(&mut llama, regions, &mut peer);
    let peer_latency = report(&mut peer);
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!(
        "infill-ls / llama-server: latency p50 {:.2}x, p95 {:.2}x, p99 {:.2}x; chars saved {:.2}x; model calls {:.2}x",
        ratio(ours_latency.p50, peer_latency.p50),
        ratio(ours_latency.p95, peer_latency.p95),
        ratio(ours_latency.p99, peer_latency.p99),
        ours.saved_chars as f64 / peer.saved_chars.max(1) as f64,
        ours.model_calls as f64 / peer.model_calls.max(1) as f64,
    );
    if quality {
        println!(
            "target: chars saved at least llama-server's ({})",
            if ours.saved_chars >= peer.saved_chars { "met" } else { "MISSED" }
        );
    } else {
        println!(
            "targets: p50 at most half of llama-server's ({}), p95 under 200 ms ({})",
            if ratio(ours_latency.p50, peer_latency.p50) <= 0.5 { "met" } else { "MISSED" },
            if ours_latency.p95 < Duration::from_millis(200) { "met" } else { "MISSED" },
        );
    }
    figures
}
