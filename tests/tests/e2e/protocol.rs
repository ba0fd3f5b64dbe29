//! Capabilities, document sync in each position encoding, both completion methods, settings.

use infill_tests::Client;
use serde_json::{json, Value};

use super::support::{expected_suggestion, inline, request_inline, scripted};

#[test]
fn capabilities_follow_the_offered_position_encodings() {
    for (offered, expected) in [
        (&[][..], "utf-16"),
        (&["utf-16", "utf-8"][..], "utf-8"),
        (&["utf-32", "utf-16"][..], "utf-16"),
        (&["utf-32"][..], "utf-32"),
    ] {
        let mut client = Client::spawn(&[]);
        let result = client.initialize(offered, Value::Null);
        let caps = &result["capabilities"];
        assert_eq!(caps["positionEncoding"], expected, "offered {offered:?}");
        assert_eq!(caps["textDocumentSync"]["change"], 2, "incremental sync");
        assert_eq!(caps["textDocumentSync"]["openClose"], true);
        assert!(caps["completionProvider"].is_object(), "{caps}");
        assert!(caps["inlineCompletionProvider"].is_object(), "LSP 3.18 ghost text: {caps}");
        assert_eq!(result["serverInfo"]["name"], "infill-ls");
    }
}

/// The same edits, with positions written in each encoding, give the same text.
#[test]
fn incremental_edits_land_where_each_encoding_says() {
    // Column of 'b' in "a😀b": 5 bytes, 3 UTF-16 units, 2 scalars.
    for (encoding, col_b, col_end) in [("utf-8", 5, 9), ("utf-16", 3, 6), ("utf-32", 2, 5)] {
        let mut client = scripted(0, &[encoding]);
        let uri = "file:///sync.rs";
        client.open(uri, "rust", 1, "a😀b\r\ncd\n");
        client.change(uri, 2, [0, col_b, 0, col_b], "X");
        client.change(uri, 3, [1, 0, 1, 2], "é\ré");
        // From past the end of line 0 (clamped to before its CRLF) to the start of line 2.
        client.change(uri, 4, [0, 999, 2, 0], "");
        let text = "a😀Xbé\n";
        let id = request_inline(&mut client, uri, 0, col_end);
        let response = client.response(json!(id));
        let item = &response["result"]["items"][0];
        assert_eq!(item["insertText"], expected_suggestion(4, 9, text), "{encoding}");
        let start = &item["range"]["start"];
        assert_eq!((start["line"].as_u64(), start["character"].as_u64()), (Some(0), Some(u64::from(col_end))));
    }
}

#[test]
fn full_document_changes_replace_the_text() {
    let mut client = scripted(0, &[]);
    let uri = "file:///full.py";
    client.open(uri, "python", 1, "old text\n");
    client.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": uri, "version": 2 }, "contentChanges": [{ "text": "new\r\ntext" }] }),
    );
    assert_eq!(inline(&mut client, uri, 1, 4), vec![expected_suggestion(2, 9, "new\r\ntext")]);
}

#[test]
fn popup_items_carry_the_whole_suggestion_and_match_the_typed_word() {
    let mut client = scripted(0, &[]);
    let uri = "file:///pop.rs";
    let text = "let value = compu";
    client.open(uri, "rust", 1, text);
    let reply = client.call(
        "textDocument/completion",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 0, "character": 17 } }),
    );
    let list = &reply["result"];
    assert_eq!(list["isIncomplete"], true);
    let item = &list["items"][0];
    let suggestion = expected_suggestion(1, 17, text);
    assert_eq!(item["textEdit"]["newText"], format!("compu{suggestion}"));
    assert_eq!(item["textEdit"]["range"]["start"]["character"], 12);
    assert_eq!(item["textEdit"]["range"]["end"]["character"], 17);
    assert!(item["filterText"].as_str().is_some_and(|f| f.starts_with("compu")), "{item}");
    assert!(item["label"].as_str().is_some_and(|l| l.starts_with("compu")), "{item}");
}

#[test]
fn without_a_model_both_methods_answer_empty_and_the_log_says_why() {
    let mut client = Client::spawn(&[]);
    client.initialize(&[], Value::Null);
    let uri = "file:///m.py";
    client.open(uri, "python", 1, "def f():\n    ");
    assert!(inline(&mut client, uri, 1, 4).is_empty());
    let reply = client.call(
        "textDocument/completion",
        json!({ "textDocument": { "uri": uri }, "position": { "line": 1, "character": 4 } }),
    );
    assert_eq!(reply["result"]["items"], json!([]));
    let log = client.wait_for(infill_tests::REPLY_TIMEOUT, |m| {
        m["method"] == "window/logMessage" && m["params"]["message"].as_str().is_some_and(|s| s.contains("no model"))
    });
    assert!(log.is_some(), "no logMessage about the missing model; backlog: {:?}", client.backlog);
}

#[test]
fn settings_from_initialization_options_and_did_change_configuration_apply() {
    let mut client = Client::spawn(&["--test-engine", "0"]);
    client.initialize(&[], json!({ "enable": false, "maxTokens": 16 }));
    let uri = "file:///cfg.py";
    client.open(uri, "python", 1, "x");
    assert!(inline(&mut client, uri, 0, 1).is_empty(), "disabled by initializationOptions");
    client.notify("workspace/didChangeConfiguration", json!({ "settings": { "infill": { "enable": true } } }));
    assert_eq!(inline(&mut client, uri, 0, 1), vec![expected_suggestion(1, 1, "x")]);
    client.notify("workspace/didChangeConfiguration", json!({ "settings": { "infill": { "maxTokens": "lots" } } }));
    let warned = client.wait_for(infill_tests::REPLY_TIMEOUT, |m| {
        m["method"] == "window/logMessage" && m["params"]["message"].as_str().is_some_and(|s| s.contains("maxTokens"))
    });
    assert!(warned.is_some(), "a bad setting must be reported");
}
