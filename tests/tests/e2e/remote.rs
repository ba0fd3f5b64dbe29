//! The remote backends and the router, end to end: a real `llama-server` on 127.0.0.1
//! (the peer build, serving the test model with FIM tokens) through `/infill` and its
//! own `/v1/completions`, and a stub OpenAI-compatible server that fails in chosen
//! ways. The local answers come from the test engine, whose answers are sure, or very
//! unsure in a document holding `INFILL_TEST_UNSURE`.

use std::time::{Duration, Instant};

use infill_tests::stub_server::{Behaviour, StubServer};
use infill_tests::{fim_test_model, Client, LlamaServer};
use serde_json::{json, Value};

use super::support::{expected_suggestion, inline, still_serving};

const URI: &str = "file:///work/add.py";
const SURE: &str = "def add(a, b):\n    return \n";
const UNSURE: &str = "# INFILL_TEST_UNSURE\ndef add(a, b):\n    return \n";
/// The key the OpenAI tests put in the environment.
const KEY: &str = "sk-infill-test-0123456789abcdef";

/// A server on the test engine with `settings`, the key in its environment.
fn routed(settings: Value) -> Client {
    let mut client =
        Client::spawn_with_env(&["--test-engine", "5", "--log-level", "trace"], &[("INFILL_TEST_KEY", KEY)]);
    client.initialize(&[], settings);
    client
}

/// Opens `text` at version 1 and asks at the end of its `return ` line; the texts
/// shown and the `infill/didComplete` params.
fn ask(client: &mut Client, text: &str) -> (Vec<String>, Value) {
    client.open(URI, "python", 1, text);
    let line = text.lines().position(|l| l.starts_with("    return")).unwrap_or(0) as u32;
    let texts = inline(client, URI, line, 11);
    let done = client.did_complete(URI, 1);
    client.notify("textDocument/didClose", json!({ "textDocument": { "uri": URI } }));
    (texts, done)
}

/// The `window/showMessage` texts so far that mention the remote backend.
fn remote_messages(client: &Client) -> Vec<String> {
    client
        .backlog
        .iter()
        .filter(|m| m["method"] == "window/showMessage")
        .filter_map(|m| m["params"]["message"].as_str())
        .filter(|t| t.contains("remote backend"))
        .map(str::to_owned)
        .collect()
}

/// The local answer for `text` asked by [`ask`].
fn local_answer(text: &str) -> String {
    let cursor = text.find("    return ").map_or(0, |i| i + 11);
    expected_suggestion(1, cursor, text)
}

#[test]
fn llama_server_replaces_an_unsure_local_answer_and_a_sure_one_stays_local() {
    let llama = LlamaServer::start(&fim_test_model());
    let backend = json!({ "api": "llama-server", "url": llama.url, "budgetMs": 20000 });
    let mut client = routed(json!({ "backend": backend }));
    let (texts, done) = ask(&mut client, UNSURE);
    assert_eq!(
        (done["source"].as_str(), done["backend"].as_str(), done["route"].as_str(), done["askedBecause"].as_str()),
        (Some("remote"), Some("remote"), Some("remoteInTime"), Some("lowConfidence")),
        "{done}\nstderr:\n{}",
        client.stderr()
    );
    assert!(texts.len() == 1 && !texts[0].is_empty() && !texts[0].contains('«'), "llama-server's answer: {texts:?}");
    assert!(done["confidence"]["score"].as_f64().is_some_and(|s| s < 0.5), "judged unsure: {done}");

    let (texts, done) = ask(&mut client, SURE);
    assert_eq!((done["backend"].as_str(), done["route"].as_str()), (Some("local"), Some("confident")), "{done}");
    assert_eq!(texts, [local_answer(SURE)]);

    // llama-server's own OpenAI-compatible endpoint, as the only backend.
    let backend = json!({ "api": "openai", "url": llama.url, "budgetMs": 20000, "timeoutMs": 20000 });
    client.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "backend": backend, "routing": "remoteOnly" } }),
    );
    let (texts, done) = ask(&mut client, SURE);
    assert_eq!((done["source"].as_str(), done["route"].as_str()), (Some("remote"), Some("remoteOnly")), "{done}");
    assert!(texts.len() == 1 && !texts[0].contains('«'), "{texts:?}");
}

#[test]
fn a_remote_answer_past_the_budget_lands_in_the_cache() {
    let llama = LlamaServer::start(&fim_test_model());
    let backend = json!({ "api": "llama-server", "url": llama.url, "budgetMs": 1, "timeoutMs": 20000 });
    let mut client = routed(json!({ "backend": backend }));
    client.open(URI, "python", 1, UNSURE);
    let texts = inline(&mut client, URI, 2, 11);
    let done = client.did_complete(URI, 1);
    assert_eq!(done["route"], "remoteLate", "{done}");
    assert!(texts.is_empty(), "the unsure local answer is hidden: {texts:?}");
    // The same place asked again: once the late answer is in, the cache gives it.
    let started = Instant::now();
    loop {
        let texts = inline(&mut client, URI, 2, 11);
        let done = client.did_complete(URI, 1);
        if texts.len() == 1 && !texts[0].contains('«') {
            assert_eq!(done["source"], "cache", "{done}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "the late answer never reached the cache: {texts:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// With `backend` failing as it does, every request (each on new text, so none comes
/// from the cache) still gets the local answer in the usual time, the user is told
/// once, and the server keeps serving.
fn local_answers_go_on(client: &mut Client, failing_route: &str) {
    for i in 0..4 {
        let text = format!("# INFILL_TEST_UNSURE {i}\ndef add(a, b):\n    return \n");
        let started = Instant::now();
        let (texts, done) = ask(client, &text);
        assert_eq!(texts, [local_answer(&text)], "{done}\nstderr:\n{}", client.stderr());
        assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
        let route = done["route"].as_str().unwrap_or_default();
        assert!([failing_route, "remotePaused", "remoteLate"].contains(&route), "{done}");
    }
    let found = client.wait_for(Duration::from_secs(5), |m| {
        m["method"] == "window/showMessage"
            && m["params"]["message"].as_str().is_some_and(|t| t.contains("remote backend"))
    });
    assert!(found.is_some(), "no message about the backend; stderr:\n{}", client.stderr());
    // Anything more the server would say comes now: no second message.
    let _ = client.wait_for(Duration::from_millis(500), |_| false);
    assert_eq!(remote_messages(client), Vec::<String>::new(), "one message per outage");
    still_serving(client);
}

#[test]
fn a_failing_server_leaves_the_local_answer_and_one_message() {
    for behaviour in [Behaviour::Status(500), Behaviour::Garbage, Behaviour::Cut] {
        let stub = StubServer::start(behaviour.clone());
        let backend = json!({ "api": "openai", "url": stub.url, "budgetMs": 300, "timeoutMs": 1000 });
        let mut client = routed(json!({ "backend": backend, "confidence": "off" }));
        local_answers_go_on(&mut client, "remoteFailed");
        assert!(stub.count() >= 1, "{behaviour:?}: the stub was asked");
    }
}

#[test]
fn a_hanging_server_is_given_up_on_and_its_connection_closed() {
    let stub = StubServer::start(Behaviour::Hang);
    let backend = json!({ "api": "openai", "url": stub.url, "budgetMs": 300, "timeoutMs": 1000 });
    let mut client = routed(json!({ "backend": backend, "confidence": "off" }));
    local_answers_go_on(&mut client, "remoteLate");
    let started = Instant::now();
    while stub.closed_by_client.load(std::sync::atomic::Ordering::Relaxed) < 1 {
        assert!(started.elapsed() < Duration::from_secs(5), "the hanging connection was never closed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_killed_llama_server_leaves_the_local_answer_and_one_message() {
    let mut llama = LlamaServer::start(&fim_test_model());
    let backend = json!({ "api": "llama-server", "url": llama.url, "budgetMs": 20000, "timeoutMs": 20000 });
    let mut client = routed(json!({ "backend": backend, "confidence": "off" }));
    let (_, done) = ask(&mut client, UNSURE);
    assert_eq!(done["route"], "remoteInTime", "{done}");
    llama.kill();
    local_answers_go_on(&mut client, "remoteFailed");
}

#[test]
fn an_openai_server_gets_the_key_and_fim_tokens_when_it_refuses_suffix_and_the_key_never_shows() {
    let stub = StubServer::start(Behaviour::RefuseSuffix(vec!["a".into(), " + b".into(), "\nprint(1)".into()]));
    let backend =
        json!({ "api": "openai", "url": stub.url, "model": "qwen2.5-coder:7b", "apiKeyEnv": "INFILL_TEST_KEY" });
    let mut client = routed(json!({ "backend": backend, "routing": "remoteOnly" }));
    let (texts, done) = ask(&mut client, SURE);
    assert_eq!(texts, ["a + b"], "the remote answer, finished at the line's end: {done}");
    assert_eq!((done["source"].as_str(), done["backend"].as_str()), (Some("remote"), Some("remote")));
    let requests = stub.requests.lock().map(|r| r.clone()).unwrap_or_default();
    assert_eq!(requests.len(), 2, "refused with `suffix`, then asked with FIM tokens");
    for r in &requests {
        assert!(r.head.to_ascii_lowercase().contains(&format!("authorization: bearer {}", KEY.to_ascii_lowercase())));
    }
    assert!(requests[0].body.contains("\"suffix\""));
    assert!(requests[1].body.contains("<|fim_prefix|>def add(a, b):") && !requests[1].body.contains("\"suffix\""));
    // A failure with the key in use: the messages name the server, never the key.
    stub.set(Behaviour::Status(401));
    let _ = ask(&mut client, "def sub(a, b):\n    return \n");
    let _ = client.wait_for(Duration::from_secs(2), |m| m["method"] == "window/showMessage");
    let everything = format!("{}\n{:?}", client.stderr(), client.backlog);
    assert!(everything.contains("401"), "the failure was logged");
    assert!(!everything.contains(KEY), "the key leaked into the log or a message");
    // A key written into the settings is refused, and not repeated either.
    client.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": { "routing": "localOnly", "backend": { "api": "openai", "url": stub.url, "apiKey": "sk-in-settings-42" } } }),
    );
    still_serving(&mut client);
    let stderr = client.stderr();
    let leaks: Vec<&str> = stderr.lines().filter(|l| l.contains("sk-in-settings-42")).collect();
    assert!(leaks.is_empty(), "a key from the settings in the log: {leaks:?}");
}

/// Sockets the process holds (its stdio are pipes).
fn sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.flatten()
                .filter(|e| std::fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy().starts_with("socket:")))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn no_connection_is_made_without_a_backend() {
    let mut client = routed(json!({ "confidence": "off" }));
    for text in [UNSURE, SURE, "fn main() {\n    \n}\n"] {
        let (_, done) = ask(&mut client, text);
        assert_eq!(done["route"], "localOnly", "{done}");
    }
    assert_eq!(sockets(client.pid()), 0, "a socket without a backend");
    // The same check sees a connection when there is a backend (here one that hangs).
    let stub = StubServer::start(Behaviour::Hang);
    let backend = json!({ "api": "openai", "url": stub.url, "budgetMs": 100, "timeoutMs": 5000 });
    client.notify("workspace/didChangeConfiguration", json!({ "settings": { "backend": backend } }));
    let _ = ask(&mut client, UNSURE);
    assert!(sockets(client.pid()) >= 1, "the check sees a connection to a backend");
}

#[test]
fn an_unsure_answer_is_hidden_and_kept_so_typing_along_it_needs_no_model_call() {
    let mut client = routed(json!({}));
    client.open(URI, "python", 1, UNSURE);
    assert!(inline(&mut client, URI, 2, 11).is_empty(), "the unsure answer is hidden by default");
    let done = client.did_complete(URI, 1);
    assert_eq!(
        (done["source"].as_str(), done["confidence"]["shown"].as_bool()),
        (Some("model"), Some(false)),
        "{done}"
    );
    // Typing the hidden answer's first character finds it in the cache: judged again, no model call.
    let hidden = local_answer(UNSURE);
    let first: String = hidden.chars().take(1).collect();
    client.change(URI, 2, [2, 11, 2, 11], &first);
    let texts = inline(&mut client, URI, 2, 11 + first.encode_utf16().count() as u32);
    let done = client.did_complete(URI, 2);
    assert_eq!(done["source"], "typedAhead", "{done}");
    assert!(texts.is_empty() && done["confidence"]["shown"] == false, "still unsure: {texts:?}");
    // With the filter off the same answer shows; a sure one shows even when strict.
    client.notify("workspace/didChangeConfiguration", json!({ "settings": { "confidence": "off" } }));
    client.notify("textDocument/didClose", json!({ "textDocument": { "uri": URI } }));
    let (texts, _) = ask(&mut client, UNSURE);
    assert_eq!(texts, [hidden]);
    client.notify("workspace/didChangeConfiguration", json!({ "settings": { "confidence": "strict" } }));
    let (texts, done) = ask(&mut client, SURE);
    assert_eq!(texts, [local_answer(SURE)], "{done}");
}
