//! The real binary with the real test model: completions, the CLI, and bad model files.

use std::process::Command;
use std::time::Duration;

use infill_tests::{server_binary, test_model, wait_status, Client, REPLY_TIMEOUT};
use serde_json::{json, Value};

use super::support::{inline, inline_texts, request_inline, scratch_file};

fn with_model() -> Client {
    with_model_options(json!({}))
}

/// A server on the real model. What the answers say is under test here, not how fast
/// they come (the tests run side by side on two cores), nor which the confidence
/// filter would show: no time budget or limit, the filter off, unless `options` set them.
fn with_model_options(mut options: Value) -> Client {
    for key in ["timeBudgetMs", "timeLimitMs"] {
        if options.get(key).is_none() {
            options[key] = json!(0);
        }
    }
    if options.get("confidence").is_none() {
        options["confidence"] = json!("off");
    }
    let model = test_model();
    let mut client = Client::spawn(&["--model", model.to_str().expect("utf-8 path"), "--threads", "2"]);
    client.initialize(&[], options);
    let ready = wait_status(&mut client, "ready");
    assert!(ready["params"]["name"].as_str().is_some_and(|n| n.contains("mollm")), "{ready}");
    client
}

#[test]
fn inline_and_popup_completions_come_from_the_model() {
    let mut client = with_model();
    let uri = "file:///work/fib.py";
    let text = "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    if n < 2:\n        return n\n    return fib";
    client.open(uri, "python", 1, text);
    let texts = inline(&mut client, uri, 4, 14);
    assert_eq!(texts.len(), 1, "one suggestion: {texts:?}");
    assert!(!texts[0].contains('\n'), "after code on the line, one line: {:?}", texts[0]);
    assert!(texts[0].contains("onacci("), "the model continues the recursive call: {:?}", texts[0]);
    let reply = client.call(
        "textDocument/completion",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 4, "character": 14 } }),
    );
    let item = &reply["result"]["items"][0];
    assert!(
        item["textEdit"]["newText"].as_str().is_some_and(|t| t.starts_with("fib") && t.contains("onacci(")),
        "{reply}"
    );
}

#[test]
fn a_completion_mid_identifier_runs_no_model_and_returns_nothing() {
    let mut client = with_model();
    let uri = "file:///work/mid.py";
    client.open(uri, "python", 1, "value = compute_total(x)\n");
    let id = request_inline(&mut client, uri, 0, 12);
    let response = client.response(json!(id));
    assert!(inline_texts(&response).is_empty(), "{response}");
    assert!(!client.stderr().contains("evaluated="), "the model must not run:\n{}", client.stderr());
}

#[test]
fn the_model_can_come_from_initialization_options() {
    let mut client = Client::spawn(&[]);
    client.initialize(&[], json!({ "model": test_model(), "confidence": "off" }));
    wait_status(&mut client, "ready");
}

#[test]
fn a_bad_model_file_is_reported_once_and_the_server_keeps_serving() {
    let bad = scratch_file("notes.gguf", "these are notes, not weights");
    let missing = bad.with_file_name("missing.gguf");
    for (path, words) in [(bad.clone(), "not a GGUF model file"), (missing, "no such file")] {
        let mut client = Client::spawn(&["--model", path.to_str().expect("utf-8")]);
        client.initialize(&[], Value::Null);
        let shown =
            client.wait_for(REPLY_TIMEOUT, |m| m["method"] == "window/showMessage").expect("a message for the user");
        let message = shown["params"]["message"].as_str().unwrap_or_default().to_owned();
        assert_eq!(shown["params"]["type"], 1, "an error: {shown}");
        assert!(message.contains(path.to_str().unwrap_or_default()) && message.contains(words), "{message}");
        let status = wait_status(&mut client, "error");
        assert!(status["params"]["message"].as_str().is_some_and(|m| m.contains(words)), "{status}");
        client.open("file:///x.py", "python", 1, "x = ");
        assert!(inline(&mut client, "file:///x.py", 0, 4).is_empty());
        let again = client.wait_for(Duration::from_millis(300), |m| m["method"] == "window/showMessage");
        assert!(again.is_none(), "told once: {again:?}");
        let reply = client.call("shutdown", Value::Null);
        assert_eq!(reply.get("result"), Some(&Value::Null));
        assert!(!client.stderr().contains("panicked"), "{}", client.stderr());
    }
}

/// A GGUF file holding only `general.architecture = ARCH`: enough to be refused for it.
fn gguf_of_architecture(arch: &str) -> std::path::PathBuf {
    let key = "general.architecture";
    let mut bytes = b"GGUF".to_vec();
    bytes.extend(3u32.to_le_bytes()); // version
    bytes.extend(0u64.to_le_bytes()); // tensors
    bytes.extend(1u64.to_le_bytes()); // metadata entries
    bytes.extend((key.len() as u64).to_le_bytes());
    bytes.extend(key.as_bytes());
    bytes.extend(8u32.to_le_bytes()); // a string
    bytes.extend((arch.len() as u64).to_le_bytes());
    bytes.extend(arch.as_bytes());
    let path = scratch_file(&format!("{arch}.gguf"), "");
    std::fs::write(&path, bytes).expect("write the file");
    path
}

#[test]
fn a_model_of_an_unsupported_architecture_is_named_with_the_supported_ones() {
    let path = gguf_of_architecture("mamba");
    let mut client = Client::spawn(&["--model", path.to_str().expect("utf-8")]);
    client.initialize(&[], Value::Null);
    let shown = client.wait_for(REPLY_TIMEOUT, |m| m["method"] == "window/showMessage").expect("a message");
    let message = shown["params"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("unsupported architecture `mamba`"), "{message}");
    for supported in ["llama", "qwen2", "qwen3", "gemma3", "starcoder2", "phi3"] {
        assert!(message.contains(supported), "names {supported}: {message}");
    }
    wait_status(&mut client, "error");
    client.open("file:///x.rs", "rust", 1, "fn main() {\n    ");
    assert!(inline(&mut client, "file:///x.rs", 1, 4).is_empty());
    let reply = client.call("shutdown", Value::Null);
    assert_eq!(reply.get("result"), Some(&Value::Null), "still serving");
}

#[test]
fn gemma3_completes_python_and_rust_files() {
    let model = infill_tests::gemma3_model();
    let mut client = Client::spawn(&["--model", model.to_str().expect("utf-8 path"), "--threads", "2"]);
    client.initialize(&[], json!({ "timeBudgetMs": 0, "timeLimitMs": 0, "confidence": "off" }));
    let ready = wait_status(&mut client, "ready");
    assert!(ready["params"]["name"].as_str().is_some_and(|n| n.contains("Gemma 3")), "{ready}");
    for (uri, language, text, line, column, expected) in [
        ("file:///work/add.py", "python", "def add(a, b):\n    return a", 1, 12, "b"),
        ("file:///work/add.rs", "rust", "fn add(a: i32, b: i32) -> i32 {\n    a", 1, 5, "b"),
    ] {
        client.open(uri, language, 1, text);
        let texts = inline(&mut client, uri, line, column);
        assert_eq!(texts.len(), 1, "{language}: one suggestion: {texts:?}");
        assert!(texts[0].contains(expected), "{language}: the model adds the other operand: {:?}", texts[0]);
        let done = client.did_complete(uri, 1);
        assert_eq!(done["source"], "model", "{language}: {done}");
    }
}

#[test]
fn no_model_at_all_says_what_to_run() {
    let mut client = Client::spawn(&[]);
    // A home without a Hugging Face cache: the default model cannot be there.
    client.initialize(&[], Value::Null);
    let shown = client.wait_for(REPLY_TIMEOUT, |m| m["method"] == "window/showMessage").expect("a message");
    let message = shown["params"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("no model") && message.contains("infill-ls fetch"), "{message}");
    wait_status(&mut client, "noModel");
}

/// Runs `infill-ls COMMAND FILE --line L --column C [EXTRA...] --model TEST_MODEL`.
fn run_cli(command: &str, file: &std::path::Path, line: u32, column: u32, extra: &[&str]) -> std::process::Output {
    Command::new(server_binary())
        .arg(command)
        .arg(file)
        .args(["--line", &line.to_string(), "--column", &column.to_string()])
        .args(extra)
        .arg("--model")
        .arg(test_model())
        .output()
        .expect("run infill-ls")
}

#[test]
fn the_complete_command_prints_the_completion_and_its_timings() {
    let file = scratch_file("sum.py", "def add(a, b):\n    return a");
    let out = run_cli("complete", &file, 2, 13, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains('b'), "a + b, surely: {stdout:?}");
    assert!(stderr.contains("prefill") && stderr.contains("tok/s"), "{stderr}");
}

#[test]
fn an_empty_python_function_body_gets_a_block_that_ends_with_the_function() {
    let mut client = with_model_options(json!({ "maxTokens": 160 }));
    let uri = "file:///work/fizzbuzz.py";
    let text = "def fizzbuzz(n):\n    \"\"\"Print the numbers from 1 to n, with Fizz for multiples of 3 and Buzz for multiples of 5.\"\"\"\n    \n\n\nfizzbuzz(15)\n";
    client.open(uri, "python", 1, text);
    let texts = inline(&mut client, uri, 2, 4);
    assert_eq!(texts.len(), 1, "one suggestion: {texts:?}");
    let lines: Vec<&str> = texts[0].lines().collect();
    assert!(lines.len() >= 3, "a block of several lines: {:?}", texts[0]);
    assert!(lines[1..].iter().all(|l| l.starts_with("    ")), "every line stays inside the function: {:?}", texts[0]);
    assert!(!texts[0].contains("fizzbuzz(15)") && !texts[0].ends_with('\n'), "{:?}", texts[0]);
    // Lines that open a block are followed by their body: the answer was not cut mid-block.
    let last = lines.last().map(|l| l.trim_end()).unwrap_or_default();
    assert!(!last.ends_with(':'), "the block's last line is not a header: {:?}", texts[0]);
}

#[test]
fn inside_an_open_call_the_answer_leaves_the_closing_paren_to_the_file() {
    let mut client = with_model();
    let uri = "file:///work/paths.py";
    client.open(uri, "python", 1, "import os\n\npath = os.path.join()\n");
    let texts = inline(&mut client, uri, 2, 20);
    assert_eq!(texts.len(), 1, "one suggestion: {texts:?}");
    assert!(!texts[0].is_empty() && !texts[0].contains('\n'), "{:?}", texts[0]);
    assert!(!texts[0].ends_with(')'), "the `)` after the cursor closes the call: {:?}", texts[0]);
    let opened = texts[0].matches('(').count();
    assert_eq!(opened, texts[0].matches(')').count(), "brackets the answer opens, it closes: {:?}", texts[0]);
}

#[test]
fn hostile_buffers_get_an_answer_or_nothing_and_the_server_keeps_serving() {
    let mut client = with_model();
    let long_line = format!("data = [{}", "1234, ".repeat(170_000));
    let binary: String = (0u8..=255).cycle().take(200_000).map(char::from).collect();
    let broken = "def (((:\n  class ]]] {{ fn <<<\n    \n\"\"\" unterminated ( [ {\n".repeat(200);
    let cases = [
        ("file:///work/long.py", "python", long_line.as_str()),
        ("file:///work/blob.bin", "plaintext", binary.as_str()),
        ("file:///work/broken.py", "python", broken.as_str()),
        ("file:///work/broken.rs", "rust", broken.as_str()),
        ("file:///work/notes.klingon", "klingon", "qapla' batlh\n    "),
    ];
    // Each language added with its grammar, by the id editors send: broken syntax of
    // every kind, binary bytes and a long line in one buffer (one model call each).
    let binary_start: String = binary.chars().take(10_000).collect();
    let mixed = format!("{broken}/* `${{ '<div>' #include R\"(\n{binary_start}\n{}", &long_line[..200_000]);
    let added: Vec<(String, &str)> = [
        "javascript",
        "typescript",
        "typescriptreact",
        "go",
        "java",
        "c",
        "cpp",
        "csharp",
        "php",
        "ruby",
        "shellscript",
    ]
    .into_iter()
    .map(|id| (format!("file:///work/hostile-{id}"), id))
    .collect();
    let cases = cases.into_iter().chain(added.iter().map(|(uri, id)| (uri.as_str(), *id, mixed.as_str())));
    for (uri, language, text) in cases {
        client.open(uri, language, 1, text);
        let lines = text.lines().count().max(1) as u32;
        let started = std::time::Instant::now();
        let id = request_inline(&mut client, uri, lines - 1, 4);
        let response = client.response(json!(id));
        assert!(response["result"]["items"].is_array(), "{uri}: an answer, maybe empty: {response}");
        assert!(started.elapsed() < Duration::from_secs(20), "{uri}: answered in {:?}", started.elapsed());
    }
    let uri = "file:///work/after.py";
    client.open(uri, "python", 1, "import os\n\npath = os.path.join()\n");
    assert_eq!(inline(&mut client, uri, 2, 20).len(), 1, "still completing:\n{}", client.stderr());
    assert!(!client.stderr().contains("panicked"), "{}", client.stderr());
}

#[test]
fn the_prompt_command_prints_the_prompt_its_counts_and_the_shape() {
    let file = scratch_file("shape.py", "def mean(values):\n    \n");
    let out = run_cli("prompt", &file, 2, 5, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("format: prefix"), "SmolLM2 has no FIM tokens: {stdout}");
    assert!(stdout.contains("syntax: tree-sitter-python (python, parsed in"), "{stdout}");
    assert!(stdout.contains("shape: multi-line, indent 4 (an empty line in a block)"), "{stdout}");
    assert!(stdout.contains("<filename>shape.py\ndef mean(values):"), "{stdout}");
    let total: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tokens: "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a token count");
    assert!((5..40).contains(&total), "{stdout}");
    // Which syntax each language is read with, at a glance.
    for (name, text, syntax) in [
        ("shape.go", "func mean(v []float64) float64 {\n    \n}\n", "syntax: tree-sitter-go (go,"),
        ("App.tsx", "export function App() {\n    \n}\n", "syntax: tree-sitter-typescript (tsx) (tsx,"),
        ("shape.kt", "fun mean(v: List<Double>) {\n    \n}\n", "syntax: text rules (text (//): no grammar here)"),
    ] {
        let out = run_cli("prompt", &scratch_file(name, text), 2, 5, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && stdout.contains(syntax), "{name}: {stdout}");
    }
    let bad = run_cli("prompt", &file, 2, 5, &["--format", "gpt"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("unknown prompt format"));
}

#[test]
fn definitions_from_other_open_buffers_reach_the_prompt() {
    let mut client = with_model();
    client.open(
        "file:///work/shapes.py",
        "python",
        1,
        "class Circle:\n    def __init__(self, radius):\n        self.radius = radius\n\n    def area(self):\n        return 3.14159 * self.radius ** 2\n",
    );
    let uri = "file:///work/main.py";
    client.open(uri, "python", 1, "from shapes import Circle\n\n\ndef total_area(circles):\n    return sum(c.area() for c in circles)\n\n\nunit = Circle(");
    let texts = inline(&mut client, uri, 7, 14);
    assert!(texts.len() <= 1, "{texts:?}");
    let log = client.stderr();
    let prompt_line =
        log.lines().rev().find(|l| l.contains("prompt shape=")).unwrap_or_else(|| panic!("no prompt log:\n{log}"));
    let cross_file: usize = prompt_line
        .split("cross_file=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no cross_file count: {prompt_line}"));
    assert!(cross_file > 0, "the Circle class from shapes.py is in the prompt: {prompt_line}");
}

/// A long document and the place at its end where the tests of cut answers ask.
fn long_document() -> (String, u32, u32) {
    let body: String = (0..110).map(|i| format!("    result.append(transform(item_{i}, factor={i}))\n")).collect();
    let text = format!("def build(items):\n    result = []\n{body}    return result\n\n\ndef parse_pair(text):\n    ");
    (text, 116, 4)
}

/// Regression (an answer cut short by the time limit was cached as if it were final,
/// so the same place never got a suggestion again): asked again, the cut answer is
/// continued from the work already done until the model's whole answer is there, the
/// same as with no time limit.
#[test]
fn an_answer_cut_by_the_time_limit_is_continued_when_asked_again() {
    let (text, line, column) = long_document();
    let uri = "file:///work/decoder.py";
    let mut unhurried = with_model();
    unhurried.open(uri, "python", 1, &text);
    let full = inline(&mut unhurried, uri, line, column);
    assert!(full.first().is_some_and(|s| !s.trim().is_empty()), "the model has something to say here: {full:?}");

    let mut hurried = with_model_options(json!({ "timeLimitMs": 100 }));
    hurried.open(uri, "python", 1, &text);
    let first = inline(&mut hurried, uri, line, column);
    let cut = hurried.did_complete(uri, 1);
    assert_eq!(first, Vec::<String>::new(), "a cold prompt of this size is not evaluated in 100 ms: {cut}");
    assert_eq!(cut["stop"], "TimeLimit", "{cut}");
    assert!(cut["pendingTokens"].as_u64().unwrap_or(0) > 0, "the prompt's evaluation goes on in the background: {cut}");
    // Asked again (an explicit trigger, or moving away and back), each time within its
    // limit, until the model's answer is complete.
    let started = std::time::Instant::now();
    let (answer, last) = loop {
        std::thread::sleep(Duration::from_millis(300));
        let answer = inline(&mut hurried, uri, line, column);
        let done = hurried.did_complete(uri, 1);
        assert_ne!(done["source"], "cache", "a cut answer is never served from the cache: {done}");
        if done["stop"] != "TimeLimit" {
            break (answer, done);
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never completed; last: {done}; stderr:\n{}",
            hurried.stderr()
        );
    };
    assert_eq!(answer, full, "the continued answer is the answer without a time limit: {last}");
    assert_eq!(last["source"], "model");
    assert_eq!(last["evaluatedTokens"], 0, "nothing evaluated again: {last}");
}
