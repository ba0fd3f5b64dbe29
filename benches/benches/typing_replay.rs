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

#![allow(clippy::print_stdout, reason = "a benchmark prints its report; it is no LSP server")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use infill_benches::{human, Summary};
use infill_context::{Language, Syntax};
use infill_tests::{proc_status_kib, server_binary, test_model, wait_status, Client, REPLY_TIMEOUT};
use ropey::Rope;
use serde_json::{json, Value};

const SEED: u64 = 2026;
const THREADS: &str = "2";
const MAX_TOKENS: u64 = 64;
/// The user looks at an accepted suggestion this long before typing on (both servers).
const READ_PAUSE: Duration = Duration::from_millis(300);
/// Lines of prefix llama.vim sends (its `n_prefix`).
const PREFIX_LINES: usize = 256;
const PYTHON_FILES: &[&str] = &["textwrap.py", "shlex.py", "fractions.py", "statistics.py", "heapq.py", "difflib.py", "csv.py", "calendar.py"];

/// A function body to type back.
struct Region {
    path: PathBuf,
    language: &'static str,
    text: String,
    /// Byte range of the body in `text` (whole lines, without the last line break).
    body: std::ops::Range<usize>,
}

fn python_stdlib() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .expect("python3");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn rust_files() -> Vec<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cargo"));
    let mut crates: Vec<PathBuf> = std::fs::read_dir(home.join("registry/src"))
        .expect("the cargo registry")
        .flatten()
        .flat_map(|index| std::fs::read_dir(index.path()).into_iter().flatten().flatten())
        .map(|krate| krate.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("regex-syntax-0.8")))
        .collect();
    crates.sort();
    let root = crates.pop().expect("regex-syntax 0.8 in the cargo registry").join("src");
    ["hir/interval.rs", "hir/literal.rs", "utf8.rs", "debug.rs", "hir/print.rs"].iter().map(|f| root.join(f)).collect()
}

/// Function bodies of 3 to 15 lines in `path`.
fn bodies(path: &Path, language_id: &'static str) -> Vec<Region> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    let rope = Rope::from_str(&text);
    let language = Language::detect(language_id, &path.to_string_lossy());
    let parsed = Syntax::new(language).snapshot().parse(&rope, Duration::from_secs(5));
    let Some(tree) = parsed.tree() else { return Vec::new() };
    let mut out = Vec::new();
    let mut stack = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        for i in (0..node.named_child_count()).rev() {
            if let Some(child) = node.named_child(i as u32) {
                stack.push(child);
            }
        }
        if !matches!(node.kind(), "function_definition" | "function_item") {
            continue;
        }
        let Some(body) = node.child_by_field_name("body") else { continue };
        // Rust: the lines inside the braces; Python: the block's lines.
        let (first, last) = if language_id == "rust" {
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
        if body_text.contains('\t') || !body_text.is_ascii() {
            continue; // keep positions simple: ASCII, spaces
        }
        out.push(Region { path: path.to_owned(), language: language_id, text: text.clone(), body: start..end });
    }
    out
}

fn regions(count: usize) -> Vec<Region> {
    let mut rng = fastrand::Rng::with_seed(SEED);
    let stdlib = python_stdlib();
    let mut python: Vec<Region> = PYTHON_FILES.iter().flat_map(|f| bodies(&stdlib.join(f), "python")).collect();
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
    /// (ms, prompt tokens evaluated, reused) of requests over 200 ms.
    slow: Vec<(f64, u64, u64)>,
}

/// The characters of `suggestion` the user accepts: all of it, or its first line, when
/// that is what comes next in the original.
fn accepted_part<'a>(suggestion: &'a str, next: &str) -> Option<&'a str> {
    let whole = suggestion.trim_end();
    let first_line = whole.split('\n').next().unwrap_or("");
    [whole, first_line].into_iter().find(|s| !s.is_empty() && next.starts_with(s))
}

/// Line and column (bytes = UTF-16 units here: the regions are ASCII) of `byte` in `text`.
fn position(text: &str, byte: usize) -> (u32, u32) {
    let before = &text[..byte];
    let line = before.matches('\n').count();
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1);
    (line as u32, column as u32)
}

fn peak_rss(pid: u32) -> u64 {
    proc_status_kib(pid, "VmHWM") * 1024
}

/// A server under replay: shows a suggestion for the document `text` with the cursor at `cursor`.
trait Server {
    fn open(&mut self, region: &Region, text: &str);
    /// Applies the insertion of `inserted` at `at` (the new text is `text`), asks for a
    /// suggestion at `cursor`, and returns it with whether the model ran.
    fn keystroke(&mut self, text: &str, at: usize, inserted: &str, cursor: usize) -> (String, bool);
    fn pid(&self) -> u32;
    /// Prompt tokens the last request evaluated and reused.
    fn last_tokens(&self) -> (u64, u64);
}

struct Infill {
    client: Client,
    uri: String,
    version: i64,
    tokens: (u64, u64),
}

impl Server for Infill {
    fn open(&mut self, region: &Region, text: &str) {
        self.uri = format!("file://{}", region.path.display());
        self.version = 1;
        self.client.open(&self.uri, region.language, 1, text);
    }

    fn keystroke(&mut self, text: &str, at: usize, inserted: &str, cursor: usize) -> (String, bool) {
        let (line, column) = position(text, at);
        self.version += 1;
        self.client.change(&self.uri, self.version, [line, column, line, column], inserted);
        let (line, column) = position(text, cursor);
        let reply = self.client.call(
            "textDocument/inlineCompletion",
            json!({ "textDocument": { "uri": self.uri }, "position": { "line": line, "character": column }, "context": { "triggerKind": 2 } }),
        );
        let text = reply["result"]["items"][0]["insertText"].as_str().unwrap_or_default().to_owned();
        let version = self.version;
        let uri = self.uri.clone();
        let done = self.client.wait_for(REPLY_TIMEOUT, |m| {
            m["method"] == "infill/didComplete" && m["params"]["uri"] == uri.as_str() && m["params"]["version"] == version
        });
        let model = done.as_ref().is_none_or(|d| d["params"]["source"] == "model");
        self.tokens = done.map_or((0, 0), |d| {
            (d["params"]["evaluatedTokens"].as_u64().unwrap_or(0), d["params"]["reusedTokens"].as_u64().unwrap_or(0))
        });
        self.client.backlog.clear();
        (text, model)
    }

    fn pid(&self) -> u32 {
        self.client.pid()
    }

    fn last_tokens(&self) -> (u64, u64) {
        self.tokens
    }
}

struct LlamaServer {
    child: Child,
    url: String,
    header: String,
    agent: ureq::Agent,
    tokens: (u64, u64),
}

impl LlamaServer {
    fn start(model: &Path) -> Option<LlamaServer> {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/build-llama-cpp.sh");
        let out = Command::new("bash").arg(script).stderr(Stdio::inherit()).output().ok()?;
        let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("llama-server");
        let port = 18000 + (std::process::id() % 1000) as u16;
        let child = Command::new(&bin)
            .arg("-m")
            .arg(model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "-t", THREADS, "-tb", THREADS, "-c", "4096", "-np", "1"])
            .args(["--cache-reuse", "256", "--no-webui", "--log-disable"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let url = format!("http://127.0.0.1:{port}");
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if agent.get(&format!("{url}/health")).call().is_ok() {
                return Some(LlamaServer { child, url, header: String::new(), agent, tokens: (0, 0) });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        None
    }
}

impl Server for LlamaServer {
    fn open(&mut self, region: &Region, _text: &str) {
        let name = region.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        self.header = format!("<filename>{name}\n");
    }

    fn keystroke(&mut self, text: &str, _at: usize, _inserted: &str, cursor: usize) -> (String, bool) {
        // llama.vim's local context: the lines before the cursor's line and the cursor
        // line's prefix, one request per keystroke on slot 0 with the prompt cached.
        let before = &text[..cursor];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let mut start = line_start;
        for _ in 0..PREFIX_LINES {
            if start == 0 {
                break;
            }
            start = text[..start - 1].rfind('\n').map_or(0, |i| i + 1);
        }
        let prompt = format!("{}{}", self.header, &text[start..cursor]);
        let body = json!({
            "prompt": prompt,
            "n_predict": MAX_TOKENS,
            "cache_prompt": true,
            "id_slot": 0,
            "top_k": 1,
            "samplers": ["top_k"],
            "t_max_predict_ms": 250,
            "stream": false,
        });
        let reply = self
            .agent
            .post(&format!("{}/completion", self.url))
            .set("Content-Type", "application/json")
            .send_string(&body.to_string())
            .ok()
            .and_then(|r| r.into_string().ok())
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .unwrap_or(Value::Null);
        let content = reply["content"].as_str().unwrap_or_default();
        self.tokens = (reply["timings"]["prompt_n"].as_u64().unwrap_or(0), reply["tokens_cached"].as_u64().unwrap_or(0));
        // llama.vim shows the completion without trailing blank lines or spaces.
        let lines: Vec<&str> = content.trim_end().split('\n').map(str::trim_end).collect();
        (lines.join("\n"), true)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn last_tokens(&self) -> (u64, u64) {
        self.tokens
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn replay(server: &mut dyn Server, regions: &[Region], tally: &mut Tally) {
    for region in regions {
        let original = &region.text[region.body.clone()];
        let mut text = format!("{}{}", &region.text[..region.body.start], &region.text[region.body.end..]);
        let base = region.body.start;
        server.open(region, &text);
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
                let (suggestion, model) = server.keystroke(&text, insert_at, &inserted, cursor);
                let took = started.elapsed();
                tally.latencies.push(took);
                if took > Duration::from_millis(200) {
                    let (evaluated, reused) = server.last_tokens();
                    tally.slow.push((took.as_secs_f64() * 1e3, evaluated, reused));
                }
                tally.model_calls += usize::from(model);
                tally.cache_hits += usize::from(!model);
                if suggestion.is_empty() {
                    break;
                }
                tally.shown += 1;
                let Some(accept) = accepted_part(&suggestion, &original[typed..]) else { break };
                tally.accepted += 1;
                tally.saved_chars += accept.len();
                text.insert_str(cursor, accept);
                typed += accept.len();
                (inserted, insert_at) = (accept.to_owned(), cursor);
                std::thread::sleep(READ_PAUSE);
            }
        }
    }
    tally.peak_rss = peak_rss(server.pid());
}

fn report(t: &mut Tally) -> Summary {
    let latency = Summary::of(&mut t.latencies);
    println!(
        "{:<13} saved {:>5.1}% of {} chars | accepted {:>3} of {:>4} shown ({:>5.1}%) | latency p50 {:>8} p95 {:>8} p99 {:>8} | model calls/keystroke {:.2} | cache hits {:>5.1}% | peak RSS {:.0} MB",
        t.name,
        100.0 * t.saved_chars as f64 / t.typed_chars.max(1) as f64,
        t.typed_chars,
        t.accepted,
        t.shown,
        100.0 * t.accepted as f64 / t.shown.max(1) as f64,
        human(latency.p50),
        human(latency.p95),
        human(latency.p99),
        t.model_calls as f64 / t.keystrokes.max(1) as f64,
        100.0 * t.cache_hits as f64 / t.latencies.len().max(1) as f64,
        t.peak_rss as f64 / 1e6,
    );
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

fn main() {
    let count: usize = std::env::var("INFILL_REPLAY_REGIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(8);
    let regions = regions(count);
    let model = test_model();
    let build = Command::new("cargo").args(["build", "--release", "--locked", "-p", "infill-server"]).status();
    assert!(build.is_ok_and(|s| s.success()), "building infill-ls");
    println!("typing replay: {} regions ({} chars), model {}, {THREADS} threads, binary {}", regions.len(), regions.iter().map(|r| r.body.len()).sum::<usize>(), model.display(), server_binary().display());
    for r in &regions {
        println!("  {}: {} lines", r.path.display(), r.text[r.body.clone()].lines().count());
    }

    let mut ours = Tally { name: "infill-ls".into(), ..Tally::default() };
    {
        let log = std::env::var("INFILL_REPLAY_LOG").unwrap_or_else(|_| "warn".into());
        let mut client = Client::spawn(&["--model", model.to_str().expect("utf-8"), "--threads", THREADS, "--log-level", &log]);
        client.initialize(&[], json!({ "maxTokens": MAX_TOKENS }));
        wait_status(&mut client, "ready");
        let mut server = Infill { client, uri: String::new(), version: 0, tokens: (0, 0) };
        replay(&mut server, &regions, &mut ours);
        if let Some(path) = std::env::var_os("INFILL_REPLAY_LOG_FILE") {
            let _ = std::fs::write(path, server.client.stderr());
        }
    }
    let ours_latency = report(&mut ours);
    if std::env::var_os("INFILL_BENCH_NO_LLAMA").is_some() {
        return;
    }
    let Some(mut llama) = LlamaServer::start(&model) else {
        println!("llama-server could not be started: no peer figures");
        return;
    };
    let mut peer = Tally { name: "llama-server".into(), ..Tally::default() };
    replay(&mut llama, &regions, &mut peer);
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
    println!(
        "targets: p50 at most half of llama-server's ({}), p95 under 200 ms ({}), chars saved at least llama-server's ({})",
        if ratio(ours_latency.p50, peer_latency.p50) <= 0.5 { "met" } else { "MISSED" },
        if ours_latency.p95 < Duration::from_millis(200) { "met" } else { "MISSED" },
        if ours.saved_chars >= peer.saved_chars { "met" } else { "MISSED" },
    );
}
