//! Bad input against the real binary: after each, the server still answers normally.

use std::time::Duration;

use infill_tests::REPLY_TIMEOUT;
use serde_json::{json, Value};

use super::support::{expected_suggestion, inline, request_inline, scripted, still_serving};

#[test]
fn malformed_json_gets_a_parse_error() {
    let mut client = scripted(0, &[]);
    client.send_raw(b"Content-Length: 17\r\n\r\n{\"jsonrpc\": \"2.0\"");
    let error = client.wait_for(REPLY_TIMEOUT, |m| m.get("error").is_some()).expect("an error response");
    assert_eq!(error["error"]["code"], -32700, "{error}");
    assert_eq!(error["id"], Value::Null);
    client.send_raw(b"Content-Length: 7\r\n\r\n\xff\xfe{}}}}");
    still_serving(&mut client);
}

#[test]
fn a_content_length_too_short_or_too_long_does_not_stop_the_server() {
    let mut client = scripted(0, &[]);
    let body = r#"{"jsonrpc":"2.0","id":"short","method":"shutdown"}"#;
    client.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len() - 10).as_bytes());
    let body = r#"{"jsonrpc":"2.0","id":"long","method":"textDocument/completion","params":{}}"#;
    client.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len() + 4000).as_bytes());
    // The next well-formed message both ends the over-long one and is answered itself.
    still_serving(&mut client);
    let long = client.response(json!("long"));
    assert_eq!(long["error"]["code"], -32600, "{long}");
    assert!(client.backlog.iter().any(|m| m["error"]["code"] == -32700), "{:?}", client.backlog);
}

#[test]
fn garbage_between_messages_is_skipped() {
    let mut client = scripted(0, &[]);
    client.send_raw(b"hello there\r\n\r\nContent-Type: nothing\r\n\r\n");
    still_serving(&mut client);
}

#[test]
fn unknown_methods_and_bad_params_get_errors() {
    let mut client = scripted(0, &[]);
    let unknown = client.call("infill/noSuchMethod", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    client.notify("infill/noSuchNotification", json!({}));
    let bad = client.call("textDocument/inlineCompletion", json!({ "textDocument": 5 }));
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
    still_serving(&mut client);
}

#[test]
fn positions_past_the_end_and_inside_a_surrogate_pair_are_clamped() {
    let mut client = scripted(0, &[]);
    let uri = "file:///p.rs";
    let text = "a😀b\r\nxy";
    client.open(uri, "rust", 1, text);
    let at = |client: &mut _, line, character| inline(client, uri, line, character);
    // UTF-16 unit 2 is inside the emoji: snaps to its start (byte 1).
    assert_eq!(at(&mut client, 0, 2), vec![expected_suggestion(1, 1, text)]);
    // Past the end of line 0: before the CRLF (byte 6).
    assert_eq!(at(&mut client, 0, 50), vec![expected_suggestion(1, 6, text)]);
    // Lines past the end: the end of the document.
    assert_eq!(at(&mut client, 99, 99), vec![expected_suggestion(1, 10, text)]);
    assert_eq!(at(&mut client, u32::MAX, u32::MAX), vec![expected_suggestion(1, 10, text)]);
    // An edit with positions past the end appends.
    client.change(uri, 2, [40, 0, 41, 3], "!");
    assert_eq!(at(&mut client, 1, 3), vec![expected_suggestion(2, 11, "a😀b\r\nxy!")]);
}

#[test]
fn changes_to_documents_never_opened_are_ignored() {
    let mut client = scripted(0, &[]);
    client.change("file:///never.rs", 2, [0, 0, 0, 0], "x");
    client.notify("textDocument/didClose", json!({ "textDocument": { "uri": "file:///never.rs" } }));
    assert!(inline(&mut client, "file:///never.rs", 0, 0).is_empty());
    still_serving(&mut client);
    assert!(client.stderr().contains("not open"), "the refusal must be logged:\n{}", client.stderr());
}

#[test]
fn a_version_going_backwards_is_refused_and_the_text_is_kept() {
    let mut client = scripted(0, &[]);
    let uri = "file:///v.py";
    client.open(uri, "python", 5, "keep");
    client.change(uri, 3, [0, 0, 0, 4], "lose");
    assert_eq!(inline(&mut client, uri, 0, 4), vec![expected_suggestion(5, 4, "keep")]);
}

#[test]
fn a_twenty_megabyte_document_is_edited_and_served() {
    let mut client = scripted(0, &[]);
    let uri = "file:///big.txt";
    let line = format!("{}\n", "x".repeat(99));
    let mut text = line.repeat(200_000); // 20,000,000 bytes
    client.open(uri, "plaintext", 1, &text);
    client.change(uri, 2, [100_000, 5, 100_000, 6], "Y");
    text.replace_range(100_000 * 100 + 5..100_000 * 100 + 6, "Y");
    let id = request_inline(&mut client, uri, 199_999, 99);
    let response = client.response(json!(id));
    let expected = expected_suggestion(2, text.len() - 1, &text);
    assert_eq!(response["result"]["items"][0]["insertText"], expected);
}

#[test]
fn nul_bytes_and_a_megabyte_long_line_are_just_text() {
    let mut client = scripted(0, &[]);
    let uri = "file:///bin.dat";
    let mut text = format!("\0\u{1}\0{}\0\nend", "ab".repeat(500_000));
    client.open(uri, "unknown-language", 1, &text);
    client.change(uri, 2, [0, 600_000, 0, 600_001], "\0");
    text.replace_range(600_000..600_001, "\0");
    assert_eq!(inline(&mut client, uri, 1, 3), vec![expected_suggestion(2, text.len(), &text)]);
}

#[test]
fn a_panic_in_a_handler_is_reported_once_and_the_server_keeps_its_state() {
    let mut client = scripted(0, &[]);
    let kept = "file:///kept.rs";
    client.open(kept, "rust", 1, "kept");
    client.open("file:///boom.rs", "rust", 1, "INFILL_TEST_PANIC");
    for _ in 0..2 {
        let id = request_inline(&mut client, "file:///boom.rs", 0, 3);
        let response = client.response(json!(id));
        assert_eq!(response["error"]["code"], -32603, "{response}");
    }
    let shown = client.wait_for(REPLY_TIMEOUT, |m| m["method"] == "window/showMessage");
    assert!(shown.is_some_and(|m| m["params"]["type"] == 1), "the user must be told");
    let again = client.wait_for(Duration::from_millis(500), |m| m["method"] == "window/showMessage");
    assert!(again.is_none(), "shown once, not per panic: {again:?}");
    assert_eq!(inline(&mut client, kept, 0, 4), vec![expected_suggestion(1, 4, "kept")]);
}
