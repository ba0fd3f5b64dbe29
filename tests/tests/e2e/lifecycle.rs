//! Cancellation, superseding, staleness, and the spec's start-up and shut-down rules.

use std::time::{Duration, Instant};

use infill_tests::Client;
use serde_json::{json, Value};

use super::support::{expected_suggestion, inline_texts, request_inline, scripted, still_serving};

const REQUEST_CANCELLED: i64 = -32800;

#[test]
fn cancel_request_answers_request_cancelled_promptly() {
    let mut client = scripted(10_000, &[]);
    let uri = "file:///c.rs";
    client.open(uri, "rust", 1, "fn");
    let id = request_inline(&mut client, uri, 0, 2);
    let start = Instant::now();
    client.notify("$/cancelRequest", json!({ "id": id }));
    let response = client.response(json!(id));
    assert_eq!(response["error"]["code"], REQUEST_CANCELLED, "{response}");
    assert!(start.elapsed() < Duration::from_secs(2), "cancel took {:?}", start.elapsed());
    still_serving(&mut client);
}

#[test]
fn a_newer_request_supersedes_the_older_one_for_the_same_document() {
    let mut client = scripted(1_500, &[]);
    let uri = "file:///s.rs";
    client.open(uri, "rust", 1, "ab");
    let first = request_inline(&mut client, uri, 0, 1);
    let second = request_inline(&mut client, uri, 0, 2);
    let start = Instant::now();
    let old = client.response(json!(first));
    assert!(inline_texts(&old).is_empty(), "a superseded request must not answer: {old}");
    assert!(start.elapsed() < Duration::from_millis(1_200), "superseded request lingered {:?}", start.elapsed());
    let new = client.response(json!(second));
    assert_eq!(inline_texts(&new), vec![expected_suggestion(1, 2, "ab")]);
}

#[test]
fn requests_for_different_documents_are_each_answered() {
    let mut client = scripted(300, &[]);
    client.open("file:///a.rs", "rust", 1, "a");
    client.open("file:///b.rs", "rust", 1, "bb");
    let a = request_inline(&mut client, "file:///a.rs", 0, 1);
    let b = request_inline(&mut client, "file:///b.rs", 0, 2);
    assert_eq!(inline_texts(&client.response(json!(a))), vec![expected_suggestion(1, 1, "a")]);
    assert_eq!(inline_texts(&client.response(json!(b))), vec![expected_suggestion(1, 2, "bb")]);
}

#[test]
fn an_edit_makes_the_running_request_stale() {
    let mut client = scripted(800, &[]);
    let uri = "file:///e.py";
    client.open(uri, "python", 1, "x = ");
    let id = request_inline(&mut client, uri, 0, 4);
    client.change(uri, 2, [0, 4, 0, 4], "1");
    let response = client.response(json!(id));
    assert!(inline_texts(&response).is_empty(), "stale suggestion returned: {response}");
    let id = request_inline(&mut client, uri, 0, 5);
    assert_eq!(inline_texts(&client.response(json!(id))), vec![expected_suggestion(2, 5, "x = 1")]);
}

#[test]
fn shutdown_then_exit_exits_with_0_and_refuses_requests_in_between() {
    let mut client = scripted(0, &[]);
    let reply = client.call("shutdown", Value::Null);
    assert_eq!(reply.get("result"), Some(&Value::Null), "{reply}");
    let refused = client.call(
        "textDocument/completion",
        json!({ "textDocument": { "uri": "file:///x" }, "position": { "line": 0, "character": 0 } }),
    );
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    client.notify("exit", Value::Null);
    assert_eq!(client.wait_exit(Duration::from_secs(10)), Some(0), "stderr:\n{}", client.stderr());
}

#[test]
fn exit_without_shutdown_exits_with_1() {
    let mut client = scripted(0, &[]);
    client.notify("exit", Value::Null);
    assert_eq!(client.wait_exit(Duration::from_secs(10)), Some(1));
}

#[test]
fn the_end_of_input_ends_the_server() {
    let mut client = scripted(0, &[]);
    client.close_stdin();
    assert_eq!(client.wait_exit(Duration::from_secs(10)), Some(1));
}

#[test]
fn requests_before_initialize_are_refused_and_initialize_still_works() {
    let mut client = Client::spawn(&["--test-engine", "0"]);
    let early = client.call(
        "textDocument/completion",
        json!({ "textDocument": { "uri": "file:///x" }, "position": { "line": 0, "character": 0 } }),
    );
    assert_eq!(early["error"]["code"], -32002, "ServerNotInitialized: {early}");
    client.initialize(&[], Value::Null);
    still_serving(&mut client);
}
