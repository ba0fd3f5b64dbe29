//! The whole server in process, behind its transport, with the scripted test engine:
//! any sequence of opens, changes, completions, cancels, settings and framed garbage.
//!
//! Checked: every request gets exactly one answer; a suggestion describes the text the
//! request was sent against (the test engine's answer carries the length and a hash
//! of the server's copy); at the end each open document's copy equals the
//! plain-`String` model's; the server answers until `exit` and then ends.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use infill_server::config::{CompletionDelay, Config};
use infill_server::engine::test_double::Scripted;
use infill_server::engine::CompletionEngine;
use infill_server::position::PositionEncoding;
use infill_server::transport::framing::{Frame, FrameReader};
use infill_server::Startup;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use crate::documents::{Edit, Op as DocOp};
use crate::reference::{answer_tail, RefDoc};

/// Longest a whole run may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(20);

/// One client message.
#[derive(Arbitrary, Debug)]
enum Op {
    /// An open, change or close, as in the document store's target.
    Document(DocOp),
    Complete {
        doc: u8,
        line: u8,
        character: u8,
        popup: bool,
    },
    /// Cancels the request sent `back` requests ago.
    Cancel {
        back: u8,
    },
    Configure(Setting),
    /// A framed body that is not JSON.
    Garbage(Vec<u8>),
    /// A framed JSON body that is not JSON-RPC.
    NotJsonRpc(String),
}

/// A setting change (the model is never touched: runs must not read files).
#[derive(Arbitrary, Debug)]
enum Setting {
    Enable(bool),
    MaxTokens(u16),
    DelayMs(u8),
    Speculate(bool),
    Drafts(u8),
    ContextTokens(u16),
    PromptFormat(u8),
    Unknown(String, bool),
}

impl Setting {
    fn json(&self) -> Value {
        match self {
            Setting::Enable(on) => json!({ "enable": on }),
            Setting::MaxTokens(n) => json!({ "maxTokens": n }),
            Setting::DelayMs(ms) => json!({ "completionDelay": ms % 4 }),
            Setting::Speculate(on) => json!({ "speculate": on }),
            Setting::Drafts(n) => json!({ "drafts": n }),
            Setting::ContextTokens(n) => json!({ "contextTokens": n }),
            Setting::PromptFormat(n) => {
                let names = ["qwen", "starcoder", "prefix", "fim", "nonsense", ""];
                json!({ "promptFormat": names[usize::from(*n) % names.len()] })
            }
            Setting::Unknown(key, value) => json!({ key.clone(): value }),
        }
    }
}

/// What the client knows of one request it sent.
struct Sent {
    doc: u8,
    /// The document's text when it was sent (`None`: not open, or completions off).
    state: Option<String>,
    cancelled: bool,
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(utf8) = u.arbitrary::<bool>() else { return };
    let Ok(ops) = Vec::<Op>::arbitrary_take_rest(u) else { return };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let Ok(runtime) = runtime else { return };
    runtime.block_on(async {
        if tokio::time::timeout(HANG, session(utf8, ops)).await.is_err() {
            panic!("the session hung");
        }
    });
}

async fn session(utf8: bool, ops: Vec<Op>) {
    let (client_out, server_in) = tokio::io::duplex(1 << 16);
    let (server_out, client_in) = tokio::io::duplex(1 << 16);
    let config = Config { completion_delay: CompletionDelay::Fixed(Duration::ZERO), ..Config::default() };
    let engine: Arc<dyn CompletionEngine> = Arc::new(Scripted::new(Duration::ZERO));
    let startup = Startup { config, engine: Some(engine), log: Default::default() };
    let server = tokio::spawn(infill_server::serve(server_in, server_out, startup));
    let mut client = Client { out: client_out, reader: Reader::new(client_in), next_id: 1 };

    let encodings = if utf8 { json!(["utf-8", "utf-16"]) } else { json!(["utf-16"]) };
    let encoding = if utf8 { PositionEncoding::Utf8 } else { PositionEncoding::Utf16 };
    let init = client
        .request(
            "initialize",
            json!({ "processId": null, "capabilities": { "general": { "positionEncodings": encodings } } }),
        )
        .await;
    let reply = client.reader.reply(init).await;
    assert!(reply.get("result").is_some(), "initialize: {reply}");
    client.notify("initialized", json!({})).await;

    let mut docs: [Option<RefDoc>; 4] = Default::default();
    let mut enabled = true;
    let mut sent: HashMap<i64, Sent> = HashMap::new();
    let mut order: Vec<i64> = Vec::new();
    for op in ops {
        match op {
            Op::Document(DocOp::Open { doc, text }) => {
                let item = json!({ "uri": uri(doc), "languageId": "rust", "version": 0, "text": text });
                client.notify("textDocument/didOpen", json!({ "textDocument": item })).await;
                docs[usize::from(doc % 4)] = Some(RefDoc::open(&text, 0));
            }
            Op::Document(DocOp::Change { doc, version_step, edits }) => {
                let Some(reference) = docs[usize::from(doc % 4)].as_mut() else { continue };
                let version = reference.version.saturating_add(i32::from(version_step.max(0)));
                let changes: Vec<Value> = edits.iter().map(|e| json!(e.event())).collect();
                let document = json!({ "uri": uri(doc), "version": version });
                client
                    .notify("textDocument/didChange", json!({ "textDocument": document, "contentChanges": changes }))
                    .await;
                reference.take(version, edits.iter().map(Edit::change).collect(), encoding);
            }
            Op::Document(DocOp::Close { doc }) => {
                client.notify("textDocument/didClose", json!({ "textDocument": { "uri": uri(doc) } })).await;
                docs[usize::from(doc % 4)] = None;
            }
            Op::Complete { doc, line, character, popup } => {
                let method = if popup { "textDocument/completion" } else { "textDocument/inlineCompletion" };
                let mut params = json!({
                    "textDocument": { "uri": uri(doc) },
                    "position": { "line": line, "character": character },
                });
                if !popup {
                    params["context"] = json!({ "triggerKind": 2 });
                }
                let id = client.request(method, params).await;
                let state = docs[usize::from(doc % 4)].as_ref().map(|d| d.text.clone());
                sent.insert(id, Sent { doc, state: state.filter(|_| enabled), cancelled: false });
                order.push(id);
            }
            Op::Cancel { back } => {
                let Some(&id) = order.iter().rev().nth(usize::from(back) % order.len().max(1)) else { continue };
                client.notify("$/cancelRequest", json!({ "id": id })).await;
                if let Some(s) = sent.get_mut(&id) {
                    s.cancelled = true;
                }
            }
            Op::Configure(setting) => {
                if let Setting::Enable(on) = setting {
                    enabled = on;
                }
                client
                    .notify("workspace/didChangeConfiguration", json!({ "settings": { "infill": setting.json() } }))
                    .await;
            }
            Op::Garbage(body) => client.frame(&[b"#".as_slice(), &body].concat()).await,
            Op::NotJsonRpc(params) => {
                let message = json!({ "jsonrpc": "2.0", "method": 5, "params": params });
                client.frame(&serde_json::to_vec(&message).unwrap_or_default()).await
            }
        }
    }
    // Every request is answered once, with a suggestion only for the text it was sent against.
    for id in order {
        let reply = client.reader.reply(id).await;
        let Some(request) = sent.get(&id) else { continue };
        check_answer(&reply, request);
    }
    // The server's copies equal the model's.
    client.notify("workspace/didChangeConfiguration", json!({ "settings": { "infill": { "enable": true } } })).await;
    for (doc, reference) in docs.iter().enumerate() {
        let Some(reference) = reference else { continue };
        let params = json!({
            "textDocument": { "uri": uri(doc as u8) },
            "position": { "line": 0, "character": 0 },
            "context": { "triggerKind": 1 },
        });
        let id = client.request("textDocument/inlineCompletion", params).await;
        let reply = client.reader.reply(id).await;
        let text = reply["result"]["items"][0]["insertText"].as_str().map(str::to_owned);
        let expected = answer_tail(&reference.text);
        assert!(
            text.as_deref().is_some_and(|t| t.ends_with(&expected)),
            "document {doc}: the server's copy differs from the client's: {reply} (expected …{expected})"
        );
    }
    let id = client.request("shutdown", Value::Null).await;
    client.reader.reply(id).await;
    client.notify("exit", Value::Null).await;
    drop(client);
    let code = server.await.unwrap_or_else(|e| panic!("the server task failed: {e}"));
    assert_eq!(code, 0, "exit after shutdown");
}

fn check_answer(reply: &Value, request: &Sent) {
    if let Some(error) = reply.get("error") {
        assert!(request.cancelled || request.state.is_none(), "an error for a live request: {reply}");
        assert!(error["code"].is_i64(), "{reply}");
        return;
    }
    let result = &reply["result"];
    let items = result.get("items").or(Some(result)).and_then(Value::as_array);
    let first = items.and_then(|i| i.first());
    let Some(first) = first else { return };
    let text = first["insertText"].as_str().or(first["textEdit"]["newText"].as_str()).unwrap_or_default();
    let Some(text_now) = &request.state else {
        panic!("a suggestion for document {} that was not open or with completions off: {reply}", request.doc)
    };
    // A suggestion from the test engine names the copy it saw; one finished from the
    // cache (typed ahead) or keyed on nearby text only of a larger file is not checked.
    if text.starts_with("«v") && text_now.len() <= 512 {
        // The hash, not the version: an answer cached for the same text at an earlier
        // version (an edit that changed nothing) is the right answer.
        let hash = answer_tail(text_now);
        assert!(text.ends_with(&hash), "a suggestion for another text than the request's: {text} (expected …{hash})");
    }
}

fn uri(doc: u8) -> String {
    format!("file:///fuzz/doc{}.rs", doc % 4)
}

struct Client {
    out: DuplexStream,
    reader: Reader,
    next_id: i64,
}

impl Client {
    async fn frame(&mut self, body: &[u8]) {
        let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        framed.extend_from_slice(body);
        // The server may be gone (a bug the final checks report); writes then fail quietly.
        let _ = self.out.write_all(&framed).await;
    }

    async fn notify(&mut self, method: &str, params: Value) {
        let message = json!({ "jsonrpc": "2.0", "method": method, "params": params });
        self.frame(&serde_json::to_vec(&message).unwrap_or_default()).await;
    }

    async fn request(&mut self, method: &str, params: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        let mut message = json!({ "jsonrpc": "2.0", "id": id, "method": method });
        if !params.is_null() {
            message["params"] = params;
        }
        self.frame(&serde_json::to_vec(&message).unwrap_or_default()).await;
        id
    }
}

/// Reads the server's messages; replies are kept by id until asked for.
struct Reader {
    input: DuplexStream,
    frames: FrameReader,
    replies: HashMap<i64, Value>,
}

impl Reader {
    fn new(input: DuplexStream) -> Reader {
        Reader { input, frames: FrameReader::default(), replies: HashMap::new() }
    }

    /// The reply to request `id` (panics when the server ends without one).
    async fn reply(&mut self, id: i64) -> Value {
        let mut chunk = vec![0u8; 1 << 16];
        loop {
            if let Some(reply) = self.replies.remove(&id) {
                return reply;
            }
            while let Some(frame) = self.frames.next_frame() {
                let Frame::Message(body) = frame else { panic!("the server wrote a malformed frame: {frame:?}") };
                let message: Value =
                    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("server wrote bad JSON: {e}"));
                if message.get("method").is_none() {
                    let Some(reply_id) = message["id"].as_i64() else { continue };
                    let previous = self.replies.insert(reply_id, message);
                    assert!(previous.is_none(), "request {reply_id} was answered twice");
                }
            }
            if self.replies.contains_key(&id) {
                continue;
            }
            match self.input.read(&mut chunk).await {
                Ok(0) | Err(_) => panic!("the server ended without answering request {id}"),
                Ok(n) => self.frames.push(&chunk[..n]),
            }
        }
    }
}
