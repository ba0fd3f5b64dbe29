//! Helpers shared by the end-to-end tests.

use infill_tests::Client;
use serde_json::{json, Value};

/// A client on a server whose test engine answers after `delay_ms`, initialized with `encodings`.
pub fn scripted(delay_ms: u64, encodings: &[&str]) -> Client {
    let mut client = Client::spawn(&["--test-engine", &delay_ms.to_string()]);
    client.initialize(encodings, Value::Null);
    client
}

/// What the test engine suggests for a document at `version` holding `text`, cursor at byte `cursor`.
pub fn expected_suggestion(version: i64, cursor: usize, text: &str) -> String {
    format!("«v{version}@{cursor}#{}:{:016x}»", text.len(), fnv1a(text.as_bytes()))
}

/// 64-bit FNV-1a, as the test engine computes it.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// Sends an inline completion request and returns its id.
pub fn request_inline(client: &mut Client, uri: &str, line: u32, character: u32) -> i64 {
    client.request(
        "textDocument/inlineCompletion",
        json!({
            "textDocument": { "uri": uri },
            "position": { "line": line, "character": character },
            "context": { "triggerKind": 2 }
        }),
    )
}

/// The `insertText`s of an inline completion response (panics on an error response).
pub fn inline_texts(response: &Value) -> Vec<String> {
    let items = response["result"]["items"].as_array().unwrap_or_else(|| panic!("not a list: {response}"));
    items.iter().map(|i| i["insertText"].as_str().unwrap_or_default().to_owned()).collect()
}

/// Asks for an inline completion and returns the texts.
pub fn inline(client: &mut Client, uri: &str, line: u32, character: u32) -> Vec<String> {
    let id = request_inline(client, uri, line, character);
    let response = client.response(json!(id));
    inline_texts(&response)
}

/// Whether the server still answers a normal request correctly.
pub fn still_serving(client: &mut Client) {
    let uri = "file:///probe.py";
    client.open(uri, "python", 1, "probe");
    let texts = inline(client, uri, 0, 5);
    assert_eq!(texts, vec![expected_suggestion(1, 5, "probe")], "stderr:\n{}", client.stderr());
    client.notify("textDocument/didClose", json!({ "textDocument": { "uri": uri } }));
}

/// Writes `contents` to `name` in this test process's scratch folder; returns the path.
pub fn scratch_file(name: &str, contents: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("infill-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write scratch file");
    path
}
