//! The real binary with the real test model: completions, the CLI, and bad model files.

use std::process::Command;
use std::time::Duration;

use infill_tests::{server_binary, test_model, wait_status, Client, REPLY_TIMEOUT};
use serde_json::{json, Value};

use super::support::{inline, inline_texts, request_inline, scratch_file};

fn with_model() -> Client {
    let model = test_model();
    let mut client = Client::spawn(&["--model", model.to_str().expect("utf-8 path"), "--threads", "2"]);
    client.initialize(&[], Value::Null);
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
    let reply = client.call("textDocument/completion", json!({ "textDocument": { "uri": uri }, "position": { "line": 4, "character": 14 } }));
    let item = &reply["result"]["items"][0];
    assert!(item["textEdit"]["newText"].as_str().is_some_and(|t| t.starts_with("fib") && t.contains("onacci(")), "{reply}");
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
    client.initialize(&[], json!({ "model": test_model() }));
    wait_status(&mut client, "ready");
}

#[test]
fn a_bad_model_file_is_reported_once_and_the_server_keeps_serving() {
    let bad = scratch_file("notes.gguf", "these are notes, not weights");
    let missing = bad.with_file_name("missing.gguf");
    for (path, words) in [(bad.clone(), "not a GGUF model file"), (missing, "no such file")] {
        let mut client = Client::spawn(&["--model", path.to_str().expect("utf-8")]);
        client.initialize(&[], Value::Null);
        let shown = client.wait_for(REPLY_TIMEOUT, |m| m["method"] == "window/showMessage").expect("a message for the user");
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

#[test]
fn the_complete_command_prints_the_completion_and_its_timings() {
    let file = scratch_file("sum.py", "def add(a, b):\n    return a");
    let out = Command::new(server_binary())
        .args(["complete", file.to_str().expect("utf-8"), "--line", "2", "--column", "13", "--model"])
        .arg(test_model())
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains('b'), "a + b, surely: {stdout:?}");
    assert!(stderr.contains("prefill") && stderr.contains("tok/s"), "{stderr}");
}
