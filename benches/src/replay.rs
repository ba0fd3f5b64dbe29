//! The servers a replay types into, behind one trait: our `infill-ls` over LSP, and
//! llama.cpp's `llama-server` driven the way llama.vim drives it (a request per
//! keystroke on one slot with `cache_prompt`, `/infill` for fill-in-the-middle models,
//! `/completion` under a `<filename>` header for the others).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use infill_tests::{proc_status_kib, wait_status, Client, REPLY_TIMEOUT};
use serde_json::{json, Value};

/// Lines before the cursor's line llama.vim sends (its `n_prefix`).
const PREFIX_LINES: usize = 256;
/// Lines after the cursor's line llama.vim sends (its `n_suffix`).
const SUFFIX_LINES: usize = 64;

/// One answer to a keystroke.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    /// The suggestion shown (empty: none).
    pub text: String,
    /// Whether the model ran for it (not a cache or typed-ahead answer).
    pub model: bool,
    /// Prompt tokens evaluated for it.
    pub evaluated: u64,
    /// Prompt tokens whose keys and values were reused.
    pub reused: u64,
    /// Of those, tokens whose keys and values were moved to new positions.
    pub shifted: u64,
    /// With a server run under `INFILL_VERIFY_SHIFT`, for an answer over moved keys:
    /// whether an exact evaluation gives the same answer.
    pub exact_agrees: Option<bool>,
    /// Tokens generated, and the milliseconds spent after the first one.
    pub generated: u64,
    /// See `generated`.
    pub decode_ms: f64,
    /// Prompt tokens still to evaluate when the answer was given (its time limit came
    /// first; our server only).
    pub pending: u64,
    /// From the request to the first generated token, ms (none: nothing generated).
    pub first_token_ms: Option<f64>,
    /// Draft tokens checked, and accepted.
    pub drafted: u64,
    /// See `drafted`.
    pub accepted_drafts: u64,
    /// The confidence filter's features of the answer, when it judged one.
    pub features: Option<Vec<f64>>,
    /// Its estimate of the chance the answer is taken.
    pub score: Option<f64>,
    /// Whether the filter hid an answer here.
    pub hidden: bool,
    /// Which backend wrote the answer (`local`, `remote`), when the router ran.
    pub backend: Option<String>,
}

/// A server under replay.
pub trait Server {
    /// Opens the document `path` holding `text`.
    fn open(&mut self, path: &Path, language: &str, text: &str);
    /// Says where the cursor rests in the open document (as our editor clients do; a
    /// server without such a notification ignores it).
    fn cursor(&mut self, _text: &str, _at: usize) {}
    /// Applies the insertion of `inserted` at `at` (the new text is `text`) and asks for
    /// a suggestion at `cursor`.
    fn keystroke(&mut self, text: &str, at: usize, inserted: &str, cursor: usize) -> Answer;
    /// Asks for a suggestion at `cursor` with the text unchanged (the user moved there).
    fn ask(&mut self, text: &str, cursor: usize) -> Answer;
    /// The server's process id (for its memory figures).
    fn pid(&self) -> u32;
}

/// Peak resident set of process `pid`, in bytes.
pub fn peak_rss(pid: u32) -> u64 {
    proc_status_kib(pid, "VmHWM") * 1024
}

/// Line and column (bytes, = UTF-16 units for ASCII text) of `byte` in `text`.
pub fn position(text: &str, byte: usize) -> (u32, u32) {
    let before = &text[..byte];
    let line = before.matches('\n').count();
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1);
    (line as u32, column as u32)
}

/// Our server, spoken to over stdio as an editor does.
pub struct Infill {
    /// The scripted client.
    pub client: Client,
    uri: String,
    version: i64,
}

impl Infill {
    /// Starts `infill-ls` on `model` with `threads` threads and the settings `options`,
    /// and waits until the model is loaded.
    pub fn start(model: &Path, threads: usize, log: &str, options: Value) -> Infill {
        let model = model.to_str().expect("a UTF-8 model path");
        let mut client = Client::spawn(&["--model", model, "--threads", &threads.to_string(), "--log-level", log]);
        client.initialize(&[], options);
        wait_status(&mut client, "ready");
        Infill { client, uri: String::new(), version: 0 }
    }

    /// The `infill/didComplete` notification for the current version, if one came.
    fn done(&mut self) -> Option<Value> {
        let (uri, version) = (self.uri.clone(), self.version);
        self.client.wait_for(REPLY_TIMEOUT, |m| {
            m["method"] == "infill/didComplete"
                && m["params"]["uri"] == uri.as_str()
                && m["params"]["version"] == version
        })
    }
}

impl Server for Infill {
    fn open(&mut self, path: &Path, language: &str, text: &str) {
        self.uri = format!("file://{}", path.display());
        self.version = 1;
        self.client.open(&self.uri, language, 1, text);
    }

    fn cursor(&mut self, text: &str, at: usize) {
        let (line, character) = position(text, at);
        self.client.notify(
            "infill/cursor",
            json!({ "textDocument": { "uri": self.uri }, "position": { "line": line, "character": character } }),
        );
    }

    fn keystroke(&mut self, text: &str, at: usize, inserted: &str, cursor: usize) -> Answer {
        let (line, column) = position(text, at);
        self.version += 1;
        self.client.change(&self.uri, self.version, [line, column, line, column], inserted);
        self.ask(text, cursor)
    }

    fn ask(&mut self, text: &str, cursor: usize) -> Answer {
        let (line, column) = position(text, cursor);
        let reply = self.client.call(
            "textDocument/inlineCompletion",
            json!({ "textDocument": { "uri": self.uri }, "position": { "line": line, "character": column }, "context": { "triggerKind": 2 } }),
        );
        let suggestion = reply["result"]["items"][0]["insertText"].as_str().unwrap_or_default().to_owned();
        let done = self.done();
        self.client.backlog.clear();
        let field = |name: &str| done.as_ref().and_then(|d| d["params"][name].as_u64()).unwrap_or(0);
        Answer {
            text: suggestion,
            model: done.as_ref().is_none_or(|d| d["params"]["source"] == "model"),
            evaluated: field("evaluatedTokens"),
            reused: field("reusedTokens"),
            shifted: field("shiftedTokens"),
            generated: field("generatedTokens"),
            decode_ms: done.as_ref().and_then(|d| d["params"]["decodeMs"].as_f64()).unwrap_or(0.0),
            pending: field("pendingTokens"),
            first_token_ms: done
                .as_ref()
                .filter(|_| field("generatedTokens") > 0)
                .and_then(|d| Some(d["params"]["totalMs"].as_f64()? - d["params"]["decodeMs"].as_f64()?)),
            drafted: field("draftedTokens"),
            accepted_drafts: field("acceptedDrafts"),
            exact_agrees: done.as_ref().and_then(|d| d["params"]["exactAgrees"].as_bool()),
            features: done.as_ref().and_then(|d| {
                d["params"]["confidence"]["features"].as_array().map(|f| f.iter().filter_map(|x| x.as_f64()).collect())
            }),
            score: done.as_ref().and_then(|d| d["params"]["confidence"]["score"].as_f64()),
            hidden: done.as_ref().is_some_and(|d| d["params"]["confidence"]["shown"] == false),
            backend: done.as_ref().and_then(|d| d["params"]["backend"].as_str().map(str::to_owned)),
        }
    }

    fn pid(&self) -> u32 {
        self.client.pid()
    }
}

/// How llama-server is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerApi {
    /// `/infill` with `input_prefix`, `input_suffix` and the cursor line's start as `prompt`.
    Infill,
    /// `/completion` with the lines before the cursor under a `<filename>` header.
    Completion,
}

/// llama.cpp's server.
pub struct LlamaServer {
    child: Child,
    url: String,
    api: PeerApi,
    header: String,
    agent: ureq::Agent,
    max_tokens: u64,
    /// `t_max_predict_ms`, or none for no wall-clock cut-off.
    predict_ms: Option<u64>,
}

/// The directory holding the llama.cpp peer's binaries (built once, cached).
pub fn llama_cpp_bin() -> Option<PathBuf> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/build-llama-cpp.sh");
    let out = Command::new("bash").arg(script).stderr(Stdio::inherit()).output().ok()?;
    out.status.success().then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

impl LlamaServer {
    /// Starts `llama-server` on `model` as llama.vim's README has it (one slot,
    /// `--cache-reuse 256`), 127.0.0.1 only.
    pub fn start(
        model: &Path,
        threads: usize,
        api: PeerApi,
        max_tokens: u64,
        predict_ms: Option<u64>,
    ) -> Option<LlamaServer> {
        let bin = llama_cpp_bin()?.join("llama-server");
        let port = 18000 + (std::process::id() % 1000) as u16;
        let threads = threads.to_string();
        let child = Command::new(&bin)
            .arg("-m")
            .arg(model)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "-t",
                &threads,
                "-tb",
                &threads,
                "-c",
                "4096",
                "-np",
                "1",
            ])
            .args(["--cache-reuse", "256", "--no-webui", "--log-disable"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let url = format!("http://127.0.0.1:{port}");
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(600)).build();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if agent.get(&format!("{url}/health")).call().is_ok() {
                return Some(LlamaServer { child, url, api, header: String::new(), agent, max_tokens, predict_ms });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        None
    }

    fn post(&self, path: &str, body: &Value) -> Value {
        self.agent
            .post(&format!("{}{path}", self.url))
            .set("Content-Type", "application/json")
            .send_string(&body.to_string())
            .ok()
            .and_then(|r| r.into_string().ok())
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .unwrap_or(Value::Null)
    }
}

/// The start of the line `n` lines above the line holding `at`.
fn lines_above(text: &str, at: usize, n: usize) -> usize {
    let mut start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    for _ in 0..n {
        if start == 0 {
            break;
        }
        start = text[..start - 1].rfind('\n').map_or(0, |i| i + 1);
    }
    start
}

/// The end of the line `n` lines below the line holding `at` (its line break included).
fn lines_below(text: &str, at: usize, n: usize) -> usize {
    let mut end = at;
    for _ in 0..=n {
        match text[end..].find('\n') {
            Some(i) => end += i + 1,
            None => return text.len(),
        }
    }
    end
}

impl Server for LlamaServer {
    fn open(&mut self, path: &Path, _language: &str, _text: &str) {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        self.header = format!("<filename>{name}\n");
    }

    fn keystroke(&mut self, text: &str, _at: usize, _inserted: &str, cursor: usize) -> Answer {
        self.ask(text, cursor)
    }

    fn ask(&mut self, text: &str, cursor: usize) -> Answer {
        let line_start = text[..cursor].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[cursor..].find('\n').map_or(text.len(), |i| cursor + i);
        // llama.vim starts a line of only spaces from its beginning (and trims the
        // suggestion's indentation by as much when it shows it).
        let blank = text[line_start..line_end].trim().is_empty();
        let (middle, suffix_start) = if blank { (line_start, line_end) } else { (cursor, cursor) };
        let mut body = match self.api {
            // llama.vim's local context: 256 lines before the cursor's line, the cursor
            // line's start as the prompt (written after the middle token), its rest and
            // 64 lines after it as the suffix; greedy here, so two runs agree.
            PeerApi::Infill => json!({
                "input_prefix": &text[lines_above(text, line_start, PREFIX_LINES)..line_start],
                "input_suffix": &text[suffix_start..lines_below(text, suffix_start, SUFFIX_LINES)],
                "input_extra": [],
                "prompt": &text[line_start..middle],
                "n_predict": self.max_tokens,
                "top_k": 1,
                "samplers": ["top_k", "infill"],
                "cache_prompt": true,
                "t_max_prompt_ms": 500,
            }),
            PeerApi::Completion => json!({
                "prompt": format!("{}{}", self.header, &text[lines_above(text, line_start, PREFIX_LINES)..cursor]),
                "n_predict": self.max_tokens,
                "cache_prompt": true,
                "id_slot": 0,
                "top_k": 1,
                "samplers": ["top_k"],
            }),
        };
        if let Some(ms) = self.predict_ms {
            body["t_max_predict_ms"] = json!(ms);
        }
        body["stream"] = json!(false);
        let reply = self.post(if self.api == PeerApi::Infill { "/infill" } else { "/completion" }, &body);
        let mut content = reply["content"].as_str().unwrap_or_default();
        if blank && self.api == PeerApi::Infill {
            let typed = cursor - line_start;
            let lead = content.len() - content.trim_start_matches([' ', '\t']).len();
            content = &content[lead.min(typed)..];
        }
        // llama.vim shows the completion without trailing blank lines or spaces.
        let lines: Vec<&str> = content.trim_end().split('\n').map(str::trim_end).collect();
        Answer {
            text: lines.join("\n"),
            model: true,
            evaluated: reply["timings"]["prompt_n"].as_u64().unwrap_or(0),
            reused: reply["tokens_cached"].as_u64().unwrap_or(0),
            first_token_ms: first_token_ms(&reply["timings"]),
            ..Answer::default()
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// llama-server's time to the first generated token: the prompt's evaluation plus one
/// decode step (its `timings` say no more).
fn first_token_ms(timings: &Value) -> Option<f64> {
    let predicted = timings["predicted_n"].as_f64().filter(|n| *n > 0.0)?;
    Some(timings["prompt_ms"].as_f64()? + timings["predicted_ms"].as_f64()? / predicted)
}
