//! The black-box fuzzer: random valid and invalid LSP traffic into the built `infill-ls`
//! (scripted test engine) over its stdio, as an editor gone wrong would send it.
//!
//! After every batch the server must answer a normal request, and its copy of every
//! open buffer must equal the client's (the test engine's answer carries the length
//! and a hash of the copy it saw). Every suggestion must describe the text its request
//! was sent against (none for a superseded or cancelled request's older text). A reply
//! that does not come within the usual wait is a hang.
//!
//! `INFILL_BLACKBOX_MESSAGES` (default 20,000) and `INFILL_BLACKBOX_SEED` (default:
//! random, printed) set the run; run it in release for a million:
//! `INFILL_BLACKBOX_MESSAGES=1000000 cargo test --release -p infill-fuzzing --test blackbox -- --nocapture`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use infill_fuzzing::reference::{answer_tail, Change, RefDoc};
use infill_server::position::PositionEncoding;
use infill_tests::{Client, REPLY_TIMEOUT};
use serde_json::{json, Value};

/// Messages between two full checks.
const BATCH: usize = 2_000;
/// Documents the client keeps open at most.
const DOCS: usize = 4;

/// Random text with what breaks position arithmetic: multi-byte and astral characters,
/// every line break, tabs, long runs.
fn text(rng: &mut fastrand::Rng, max: usize) -> String {
    const PIECES: &[&str] = &[
        "a", "fn ", "x", " ", "\n", "\r\n", "\r", "\t", "é", "😀", "中", "{", "}", "(", ")", "\"", "//", "\u{0}",
        "\u{7}",
    ];
    let len = rng.usize(0..=max);
    (0..len).map(|_| PIECES[rng.usize(..PIECES.len())]).collect()
}

/// A position near the text: usually inside, sometimes past a line's or the text's end.
fn position(rng: &mut fastrand::Rng, text: &str) -> (u32, u32) {
    let lines = text.split('\n').count() as u32;
    let line = if rng.u8(..10) == 0 { rng.u32(0..lines + 5) } else { rng.u32(0..lines.max(1)) };
    let character = if rng.u8(..10) == 0 { rng.u32(0..200) } else { rng.u32(0..40) };
    (line, character)
}

fn range_json(((l1, c1), (l2, c2)): ((u32, u32), (u32, u32))) -> Value {
    json!({ "start": { "line": l1, "character": c1 }, "end": { "line": l2, "character": c2 } })
}

/// A request in flight: the text it was sent against (`None`: no suggestion allowed).
struct InFlight {
    state: Option<String>,
}

struct Run {
    rng: fastrand::Rng,
    client: Client,
    docs: HashMap<usize, RefDoc>,
    in_flight: HashMap<i64, InFlight>,
    encoding: PositionEncoding,
    enabled: bool,
    sent: usize,
    suggestions_checked: usize,
    last_request: i64,
}

impl Run {
    fn uri(doc: usize) -> String {
        format!("file:///blackbox/doc{doc}.rs")
    }

    fn one_message(&mut self) {
        let roll = self.rng.u8(..100);
        let doc = self.rng.usize(..DOCS);
        match roll {
            0..=44 if self.docs.contains_key(&doc) => self.change(doc),
            45..=59 => self.complete(doc),
            60..=63 => {
                let id = self.last_request - self.rng.i64(0..4);
                self.client.notify("$/cancelRequest", json!({ "id": id }));
            }
            64..=67 => {
                let text = text(&mut self.rng, 300);
                let item = json!({ "uri": Self::uri(doc), "languageId": "rust", "version": 1, "text": text });
                self.client.notify("textDocument/didOpen", json!({ "textDocument": item }));
                self.docs.insert(doc, RefDoc::open(&text, 1));
            }
            68..=69 => {
                self.client.notify("textDocument/didClose", json!({ "textDocument": { "uri": Self::uri(doc) } }));
                self.docs.remove(&doc);
            }
            70..=71 => {
                let settings = match self.rng.u8(..4) {
                    0 => {
                        self.enabled = !self.enabled;
                        json!({ "enable": self.enabled })
                    }
                    1 => json!({ "maxTokens": self.rng.u32(0..500) }),
                    2 => json!({ "contextTokens": self.rng.u32(0..5000), "speculate": self.rng.bool() }),
                    _ => json!({ "no-such-setting": [1, 2], "completionDelay": "soon" }),
                };
                self.client.notify("workspace/didChangeConfiguration", json!({ "settings": { "infill": settings } }));
            }
            72..=76 => {
                // A framed body that is not JSON.
                let body: Vec<u8> = (0..self.rng.usize(0..200)).map(|_| self.rng.u8(..)).collect();
                self.client
                    .send_raw(&[format!("Content-Length: {}\r\n\r\n#", body.len() + 1).as_bytes(), &body].concat());
            }
            77..=79 => {
                // JSON that is not JSON-RPC.
                let bodies =
                    [json!([1, 2, 3]), json!({ "id": 5, "method": 7 }), json!("text"), json!({ "jsonrpc": "1.0" })];
                self.client.send(&bodies[self.rng.usize(..bodies.len())]);
            }
            80..=82 => {
                // Bytes outside any frame (never a header: no `C`), then the next message resynchronises.
                let junk: Vec<u8> =
                    (0..self.rng.usize(1..100)).map(|_| self.rng.u8(..)).filter(|&b| b != b'C').collect();
                self.client.send_raw(&junk);
            }
            83..=85 => {
                let id = self.client.request("no/suchMethod", json!({ "x": 1 }));
                self.track(id, None);
            }
            86..=88 => {
                let id = self.client.request("textDocument/inlineCompletion", json!("not params"));
                self.track(id, None);
            }
            89..=90 => self.client.notify("no/suchNotification", json!(null)),
            _ if self.docs.contains_key(&doc) => self.change(doc),
            _ => self.complete(doc),
        }
        self.sent += 1;
    }

    fn change(&mut self, doc: usize) {
        let Some(reference) = self.docs.get_mut(&doc) else { return };
        // Now and then two versions sent out of order, as Helix does in a burst.
        let swapped = self.rng.u8(..20) == 0;
        let count = if swapped { 2 } else { 1 };
        let mut messages = Vec::new();
        for _ in 0..count {
            let edits = self.rng.usize(1..=3);
            let mut changes = Vec::new();
            let mut lsp = Vec::new();
            let mut text_now = reference.text.clone();
            for _ in 0..edits {
                let change = if self.rng.u8(..50) == 0 {
                    Change { range: None, text: text(&mut self.rng, 200) }
                } else {
                    let a = position(&mut self.rng, &text_now);
                    let b = if self.rng.bool() { a } else { position(&mut self.rng, &text_now) };
                    Change { range: Some((a, b)), text: text(&mut self.rng, 12) }
                };
                infill_fuzzing::reference::apply(&mut text_now, &change, self.encoding);
                lsp.push(match change.range {
                    Some(range) => json!({ "range": range_json(range), "text": change.text }),
                    None => json!({ "text": change.text }),
                });
                changes.push(change);
            }
            let version = reference.version + 1;
            reference.take(version, changes, self.encoding);
            messages.push(json!({
                "jsonrpc": "2.0",
                "method": "textDocument/didChange",
                "params": { "textDocument": { "uri": Self::uri(doc), "version": version }, "contentChanges": lsp },
            }));
        }
        if swapped {
            messages.reverse();
        }
        for message in &messages {
            self.client.send(message);
        }
        self.sent += messages.len() - 1;
    }

    fn complete(&mut self, doc: usize) {
        let state = self.docs.get(&doc).map(|d| d.text.clone()).filter(|_| self.enabled);
        let (line, character) = state.as_ref().map_or((0, 0), |text| position(&mut self.rng, text));
        let popup = self.rng.u8(..4) == 0;
        let method = if popup { "textDocument/completion" } else { "textDocument/inlineCompletion" };
        let mut params =
            json!({ "textDocument": { "uri": Self::uri(doc) }, "position": { "line": line, "character": character } });
        if !popup {
            params["context"] = json!({ "triggerKind": 2 });
        }
        let id = self.client.request(method, params);
        self.track(id, state);
    }

    fn track(&mut self, id: i64, state: Option<String>) {
        self.in_flight.insert(id, InFlight { state });
        self.last_request = id;
    }

    /// Waits for every reply in flight and checks the suggestions; then asks for each
    /// open buffer's hash.
    fn check(&mut self) {
        let mut ids: Vec<i64> = self.in_flight.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let reply = self.client.wait_for(REPLY_TIMEOUT, |m| m["id"] == json!(id) && m.get("method").is_none());
            let reply = reply.unwrap_or_else(|| panic!("hang: no reply to request {id} after {} messages", self.sent));
            let Some(request) = self.in_flight.remove(&id) else { continue };
            let result = &reply["result"];
            let items = result.get("items").or(Some(result)).and_then(Value::as_array);
            let Some(first) = items.and_then(|items| items.first()) else { continue };
            let text = first["insertText"].as_str().or(first["textEdit"]["newText"].as_str()).unwrap_or_default();
            let Some(text_then) = &request.state else {
                panic!("a suggestion where none may be (closed, disabled or invalid): {reply}")
            };
            if text.starts_with("«v") && text_then.len() <= 512 {
                // The hash, not the version: an answer cached for the same text at an
                // earlier version (an edit that changed nothing) is the right answer.
                let tail = answer_tail(text_then);
                assert!(
                    text.ends_with(&tail),
                    "a suggestion for another text than the request's: {text}, expected …{tail}"
                );
                self.suggestions_checked += 1;
            }
        }
        // Everything else read so far (notifications, answers to garbage) is dropped.
        self.client.backlog.clear();
        self.client.notify("workspace/didChangeConfiguration", json!({ "settings": { "infill": { "enable": true } } }));
        self.enabled = true;
        let mut docs: Vec<usize> = self.docs.keys().copied().collect();
        docs.sort_unstable();
        for doc in docs {
            let params = json!({
                "textDocument": { "uri": Self::uri(doc) },
                "position": { "line": 0, "character": 0 },
                "context": { "triggerKind": 1 },
            });
            let reply = self.client.call("textDocument/inlineCompletion", params);
            let text = reply["result"]["items"][0]["insertText"].as_str().unwrap_or_default().to_owned();
            let reference = &self.docs[&doc];
            assert!(
                text.ends_with(&answer_tail(&reference.text)),
                "buffer mismatch after {} messages: doc{doc}: server {text}, client v{} len {}",
                self.sent,
                reference.version,
                reference.text.len()
            );
        }
        self.client.backlog.clear();
        assert!(self.client.is_running(), "the server died after {} messages", self.sent);
    }
}

#[test]
fn random_traffic_never_crashes_hangs_or_desyncs_the_server() {
    let messages: usize = std::env::var("INFILL_BLACKBOX_MESSAGES").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let seed: u64 =
        std::env::var("INFILL_BLACKBOX_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| fastrand::u64(..));
    eprintln!("black-box fuzzer: {messages} messages, INFILL_BLACKBOX_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let utf8 = rng.bool();
    let mut client = Client::spawn(&["--test-engine", "0", "--log-level", "error"]);
    client.initialize(if utf8 { &["utf-8"] } else { &["utf-16"] }, json!({ "infill": { "completionDelay": 0 } }));
    let encoding = if utf8 { PositionEncoding::Utf8 } else { PositionEncoding::Utf16 };
    let mut run = Run {
        rng,
        client,
        docs: HashMap::new(),
        in_flight: HashMap::new(),
        encoding,
        enabled: true,
        sent: 0,
        suggestions_checked: 0,
        last_request: 1,
    };
    let started = Instant::now();
    let mut batches = 0;
    while run.sent < messages {
        let end = (run.sent + BATCH).min(messages);
        while run.sent < end {
            run.one_message();
        }
        run.check();
        batches += 1;
    }
    let reply = run.client.call("shutdown", Value::Null);
    assert!(reply.get("result").is_some(), "{reply}");
    run.client.notify("exit", Value::Null);
    assert_eq!(run.client.wait_exit(Duration::from_secs(10)), Some(0), "exit after shutdown");
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "black-box fuzzer: {} messages in {secs:.0} s ({:.0}/s), {batches} checks of every buffer, {} suggestions checked against their text: 0 crashes, 0 hangs, 0 mismatches",
        run.sent,
        run.sent as f64 / secs,
        run.suggestions_checked
    );
}
