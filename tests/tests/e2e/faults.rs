//! Faults from outside the server: its model file removed, replaced or cut short while
//! it runs; the engine panicking in the middle of a job; the editor closing stdin in the
//! middle of a message, or never reading stdout; downloads cut, corrupt, missing, or
//! out of disk. Each time: the server lives, the user is told once in plain words, and
//! no buffer state is lost.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use infill_tests::hub::{FakeHub, Faults, COMMIT};
use infill_tests::{gemma3_model, proc_status_kib, server_binary, test_model, wait_status, Client, REPLY_TIMEOUT};
use serde_json::{json, Value};

use super::support::{expected_suggestion, inline, scripted, still_serving};

/// A folder of its own for each test.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("infill-faults-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The `window/showMessage` texts read so far whose text contains `needle`.
fn messages_containing(client: &mut Client, needle: &str) -> Vec<String> {
    client
        .backlog
        .iter()
        .filter(|m| m["method"] == "window/showMessage")
        .filter_map(|m| m["params"]["message"].as_str())
        .filter(|text| text.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// Waits for a `window/showMessage` containing `needle`, leaving it in the backlog.
fn wait_message(client: &mut Client, needle: &str, within: Duration) -> String {
    let found = client.wait_for(within, |m| {
        m["method"] == "window/showMessage" && m["params"]["message"].as_str().is_some_and(|t| t.contains(needle))
    });
    let message = found.unwrap_or_else(|| panic!("no message containing {needle:?}; stderr:\n{}", client.stderr()));
    client.backlog.push(message.clone());
    message["params"]["message"].as_str().unwrap_or_default().to_owned()
}

fn with_model_at(path: &Path, env: &[(&str, &str)]) -> Client {
    let mut client = Client::spawn_with_env(&["--model", path.to_str().expect("utf-8 path"), "--threads", "2"], env);
    client.initialize(&[], json!({ "timeBudgetMs": 0, "timeLimitMs": 0, "maxTokens": 8, "confidence": "off" }));
    wait_status(&mut client, "ready");
    client
}

#[test]
fn the_model_file_removed_replaced_and_cut_short_while_serving() {
    let dir = scratch_dir("model-file");
    let path = dir.join("model.gguf");
    std::fs::copy(test_model(), &path).expect("copy the test model");
    let mut client = with_model_at(&path, &[]);
    let uri = "file:///work/a.py";
    let text = "def add(a, b):\n    return ";
    client.open(uri, "python", 1, text);
    let before = inline(&mut client, uri, 1, 11);

    // Removed: told once; the loaded copy goes on answering.
    std::fs::remove_file(&path).expect("remove");
    let told = wait_message(&mut client, "was removed", Duration::from_secs(15));
    assert!(told.contains("goes on with the copy it loaded"), "{told}");
    assert_eq!(inline(&mut client, uri, 1, 11), before, "the same model answers");

    // Replaced by another model: loaded once it stops changing.
    std::fs::copy(gemma3_model(), &path).expect("copy another model");
    let ready = client
        .wait_for(Duration::from_secs(60), |m| m["method"] == "infill/status" && m["params"]["state"] == "ready")
        .unwrap_or_else(|| panic!("no reload; stderr:\n{}", client.stderr()));
    assert!(ready["params"]["name"].as_str().is_some_and(|n| n.to_lowercase().contains("gemma")), "{ready}");
    wait_message(&mut client, "loaded it again", REPLY_TIMEOUT);
    inline(&mut client, uri, 1, 11);

    // Cut short (a copy that stopped halfway): told once, the loaded model stays.
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncate");
    let told = wait_message(&mut client, "cannot be loaded", Duration::from_secs(30));
    assert!(told.contains("goes on with the model it loaded before"), "{told}");
    inline(&mut client, uri, 1, 11);
    client.change(uri, 2, [1, 11, 1, 11], "a");
    std::thread::sleep(Duration::from_secs(5));
    let _ = client.wait_for(Duration::from_millis(100), |_| false);
    assert_eq!(messages_containing(&mut client, "was removed").len(), 1, "told once");
    assert_eq!(messages_containing(&mut client, "cannot be loaded").len(), 1, "told once");
    assert!(client.is_running());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_engine_panic_in_the_middle_of_a_job_is_told_once_and_the_model_goes_on() {
    let model = test_model();
    let mut client = with_model_at(&model, &[("INFILL_TEST_ENGINE_PANIC", "PANIC_IN_THE_ENGINE")]);
    let bad = "file:///work/bad.py";
    client.open(bad, "python", 1, "# PANIC_IN_THE_ENGINE\ndef f(x):\n    return ");
    for _ in 0..2 {
        assert_eq!(inline(&mut client, bad, 2, 11), Vec::<String>::new(), "no suggestion from a failed job");
        let done = client.did_complete(bad, 1);
        assert_eq!(done["noAnswer"], "failed", "{done}");
    }
    let told = wait_message(&mut client, "model engine hit an internal error", REPLY_TIMEOUT);
    assert!(told.contains("same model"), "{told}");
    let good = "file:///work/good.py";
    client.open(good, "python", 1, "def add(a, b):\n    return ");
    let texts = inline(&mut client, good, 1, 11);
    assert!(!texts.is_empty() && !texts[0].is_empty(), "the engine answers after the panic: {texts:?}");
    assert_eq!(messages_containing(&mut client, "internal error").len(), 1, "told once");
    assert!(client.stderr().contains("test hook"), "the panic is in the log");
}

#[test]
fn stdin_closed_in_the_middle_of_a_message_ends_the_server_cleanly() {
    let mut client = scripted(0, &[]);
    client.open("file:///a.rs", "rust", 1, "fn main() {}");
    client.send_raw(b"Content-Length: 120\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"textDocument/didCh");
    client.close_stdin();
    assert_eq!(client.wait_exit(Duration::from_secs(10)), Some(1), "exit 1: no `exit` came");
    assert!(!client.stderr().contains("panicked"), "{}", client.stderr());
}

/// An editor that stops reading the server's output (hung, or a bug) while it goes on
/// writing: the server stops reading too instead of queueing answers, logs and errors
/// in memory, and once read again it answers.
#[test]
fn a_client_that_never_reads_stdout_does_not_grow_the_server() {
    const MESSAGES: usize = 300_000;
    let mut child = Command::new(server_binary())
        .args(["--test-engine", "0", "--log-level", "debug"])
        .env("HF_HOME", std::env::temp_dir().join("infill-faults-empty-hf"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start infill-ls");
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let frame = |v: Value| {
        let body = v.to_string();
        format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
    };
    let init = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": { "capabilities": {} } });
    stdin.write_all(&frame(init)).expect("write");
    stdin.write_all(&frame(json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }))).expect("write");
    let open = json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": { "textDocument": {
        "uri": "file:///a.rs", "languageId": "rust", "version": 1, "text": "fn main() {\n}\n" } } });
    stdin.write_all(&frame(open)).expect("write");
    std::thread::sleep(Duration::from_millis(500));
    let baseline = proc_status_kib(pid, "VmRSS");
    let writer = std::thread::spawn(move || {
        let mut sent = 0usize;
        for i in 0..MESSAGES {
            // A long run of garbage first (the transport answers it itself, without
            // tower-lsp), then requests, whose answers go through tower-lsp.
            let kind = if i < MESSAGES * 9 / 10 { 0 } else { i % 3 };
            let message = match kind {
                // Garbage (an error answer each), completions (an answer and a log line each), unknown methods.
                0 => b"Content-Length: 9\r\n\r\nnot json!".to_vec(),
                1 => {
                    frame(json!({ "jsonrpc": "2.0", "id": i + 1, "method": "textDocument/inlineCompletion", "params": {
                    "textDocument": { "uri": "file:///a.rs" }, "position": { "line": 1, "character": 0 },
                    "context": { "triggerKind": 1 } } }))
                }
                _ => frame(json!({ "jsonrpc": "2.0", "id": i + 1, "method": "no/such", "params": {} })),
            };
            if stdin.write_all(&message).is_err() {
                break;
            }
            sent += 1;
        }
        let last = json!({ "jsonrpc": "2.0", "id": 999_999, "method": "no/such", "params": {} });
        let _ = stdin.write_all(&frame(last));
        (sent, stdin)
    });
    let mut peak = baseline;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(250));
        peak = peak.max(proc_status_kib(pid, "VmRSS"));
    }
    assert!(!writer.is_finished(), "the server must stop reading while its output is not read");
    assert!(matches!(child.try_wait(), Ok(None)), "the server is alive");
    let growth_mib = peak.saturating_sub(baseline) as f64 / 1024.0;
    eprintln!("RSS {baseline} KiB, peak {peak} KiB while not read ({growth_mib:.1} MiB growth)");
    assert!(growth_mib < 64.0, "the server grew {growth_mib:.1} MiB while its output was not read");

    // Read again: everything is answered, down to the last request.
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut chunk = vec![0u8; 1 << 16];
        let needle = b"\"id\":999999";
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            match stdout.read(&mut chunk) {
                Ok(0) | Err(_) => return false,
                Ok(n) => seen.extend_from_slice(&chunk[..n]),
            }
            if seen.windows(needle.len()).any(|w| w == needle) {
                return true;
            }
            let keep = seen.len().saturating_sub(needle.len());
            seen.drain(..keep);
        }
        false
    });
    let (sent, stdin) = writer.join().expect("writer");
    assert_eq!(sent, MESSAGES);
    assert!(reader.join().expect("reader"), "the last request is answered once the output is read");
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs `infill-ls fetch owner/repo/model.gguf` against `hub` with the cache in `home`.
fn fetch(hub: &FakeHub, home: &Path) -> (bool, String) {
    let out = Command::new(server_binary())
        .args(["fetch", "owner/repo/model.gguf"])
        .env("HF_ENDPOINT", &hub.endpoint)
        .env("HF_HOME", home)
        .env_remove("HF_TOKEN")
        .output()
        .expect("run infill-ls fetch");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn model_bytes() -> Vec<u8> {
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    (0..3 << 20)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng as u8
        })
        .collect()
}

fn downloaded(home: &Path) -> PathBuf {
    home.join(format!("hub/models--owner--repo/snapshots/{COMMIT}/model.gguf"))
}

#[test]
fn a_download_cut_in_the_middle_resumes_and_the_file_checks_out() {
    let data = model_bytes();
    // Cut once: resumed within the same fetch.
    let home = scratch_dir("fetch-cut-once");
    let hub = FakeHub::start(data.clone(), Faults { cut_first: 1, ..Faults::default() });
    let (ok, stderr) = fetch(&hub, &home);
    assert!(ok, "{stderr}");
    assert_eq!(std::fs::read(downloaded(&home)).expect("the file"), data);
    let resumed = hub.requests().iter().filter(|r| !r.probe && r.from > 0).count();
    assert_eq!(resumed, 1, "one request resumed from where the cut left off: {:?}", hub.requests());

    // Cut every time: a plain message, the partial file kept, and the next fetch resumes.
    let home = scratch_dir("fetch-cut-always");
    let hub = FakeHub::start(data.clone(), Faults { cut_first: usize::MAX, ..Faults::default() });
    let (ok, stderr) = fetch(&hub, &home);
    assert!(!ok);
    let line = stderr.lines().last().unwrap_or_default();
    assert!(line.contains("was cut") && line.contains("resumes where it stopped"), "{stderr}");
    let before = hub.requests().len();
    hub.set_faults(Faults::default());
    let (ok, stderr) = fetch(&hub, &home);
    assert!(ok, "{stderr}");
    let second: Vec<_> = hub.requests().into_iter().skip(before).filter(|r| !r.probe).collect();
    assert!(second[0].from > 0, "the second fetch starts where the first stopped: {second:?}");
    assert_eq!(std::fs::read(downloaded(&home)).expect("the file"), data, "checksum matches");
}

#[test]
fn a_corrupt_missing_or_disk_full_download_is_told_in_plain_words() {
    let data = model_bytes();
    let home = scratch_dir("fetch-corrupt");
    let hub = FakeHub::start(data.clone(), Faults { wrong_checksum: true, ..Faults::default() });
    let (ok, stderr) = fetch(&hub, &home);
    assert!(!ok);
    assert!(stderr.contains("is corrupt") && stderr.contains("it was removed"), "{stderr}");
    assert!(!downloaded(&home).exists(), "a corrupt file is not left to be loaded");

    let home = scratch_dir("fetch-missing");
    let hub = FakeHub::start(data.clone(), Faults { missing: true, ..Faults::default() });
    let (ok, stderr) = fetch(&hub, &home);
    assert!(!ok);
    assert!(stderr.contains("no such file (HTTP 404)"), "{stderr}");

    // A 1 MiB disk (a tmpfs in a mount namespace of its own) for a 3 MiB file.
    let home = scratch_dir("fetch-full");
    let hub = FakeHub::start(data, Faults::default());
    let script = format!(
        "mount -t tmpfs -o size=1m tmpfs '{home}' && exec '{bin}' fetch owner/repo/model.gguf",
        home = home.display(),
        bin = server_binary().display()
    );
    let out = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", &script])
        .env("HF_ENDPOINT", &hub.endpoint)
        .env("HF_HOME", &home)
        .output()
        .expect("unshare (util-linux) runs the fetch on a small disk");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("the disk is full"), "{stderr}");
}

/// Nothing the faults above do is lost from the documents: a scripted server keeps its
/// buffers through a flood of bad input and a closed output reader elsewhere.
#[test]
fn buffers_survive_bad_input_between_edits() {
    let mut client = scripted(0, &[]);
    let uri = "file:///keep.rs";
    client.open(uri, "rust", 1, "fn a() {}\n");
    client.send_raw(b"Content-Length: 5\r\n\r\n{oops");
    client.change(uri, 2, [1, 0, 1, 0], "fn b() {}\n");
    client.send_raw(b"\x00\x01garbage without a header\r\n\r\n");
    client.change(uri, 3, [2, 0, 2, 0], "fn c() {}\n");
    let text = "fn a() {}\nfn b() {}\nfn c() {}\n";
    assert_eq!(inline(&mut client, uri, 3, 0), vec![expected_suggestion(3, text.len(), text)]);
    still_serving(&mut client);
}
