//! The stdio transport: our own framing in front of tower-lsp.
//!
//! Why not hand stdin to tower-lsp directly: in tower-lsp 0.20 a single decode error
//! (malformed JSON, a bad header) ends its read loop, because tokio-util's `FramedRead`
//! yields `None` after an error; and its `serve` returns only at the next message or
//! EOF after `exit`. So this module reads stdin itself, answers malformed input with a
//! JSON-RPC error, forwards only messages tower-lsp can parse, patches the LSP 3.18
//! capabilities lsp-types 0.94 cannot express into the `initialize` response, and
//! stops at `exit`. All writes to stdout go through one task, one whole message at a time.

pub mod framing;

use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tower_lsp::jsonrpc;

use framing::{Frame, FrameReader};

/// JSON-RPC: invalid JSON was received.
const PARSE_ERROR: i64 = -32700;
/// JSON-RPC: the JSON sent is not a valid request object.
const INVALID_REQUEST: i64 = -32600;
/// Size of the in-memory pipes between the transport and tower-lsp.
const PIPE_BYTES: usize = 1 << 16;
/// Error answers waiting to be written. When the client stops reading stdout, the
/// reader waits for room instead of queueing answers to garbage without bound.
const QUEUED_ERRORS: usize = 64;

/// How the transport saw the input end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputEnd {
    /// The client sent the `exit` notification.
    Exit,
    /// Standard input closed without `exit`.
    Eof,
}

/// The two in-memory ends tower-lsp reads from and writes to.
pub struct LspPipes {
    /// What tower-lsp reads: only well-formed messages.
    pub server_input: DuplexStream,
    /// Where tower-lsp writes its messages.
    pub server_output: DuplexStream,
}

/// The transport's tasks, to await once tower-lsp is done.
pub struct Transport {
    reader: tokio::task::JoinHandle<InputEnd>,
    writer: tokio::task::JoinHandle<()>,
}

/// Starts reading `input` and writing `output`; tower-lsp talks to the returned pipes.
/// `patch_initialize` edits the `result` of the `initialize` response before it leaves.
pub fn start<R, W>(input: R, output: W, patch_initialize: fn(&mut Value)) -> (LspPipes, Transport)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (server_input, to_server) = tokio::io::duplex(PIPE_BYTES);
    let (server_output, from_server) = tokio::io::duplex(PIPE_BYTES);
    let (errors_tx, errors_rx) = mpsc::channel(QUEUED_ERRORS);
    let (init_id_tx, init_id_rx) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read_input(input, to_server, errors_tx, init_id_tx));
    let writer = tokio::spawn(write_output(from_server, output, errors_rx, init_id_rx, patch_initialize));
    (LspPipes { server_input, server_output }, Transport { reader, writer })
}

impl Transport {
    /// Waits for the input to end (`exit`, or stdin closed).
    pub async fn input_end(&mut self) -> InputEnd {
        (&mut self.reader).await.unwrap_or(InputEnd::Eof)
    }

    /// Waits, at most `limit`, for everything queued to be written.
    pub async fn flush(self, limit: std::time::Duration) {
        let _ = tokio::time::timeout(limit, self.writer).await;
    }
}

async fn read_input<R: AsyncRead + Unpin>(
    mut input: R,
    mut to_server: DuplexStream,
    errors: mpsc::Sender<Value>,
    init_ids: mpsc::UnboundedSender<jsonrpc::Id>,
) -> InputEnd {
    let mut frames = FrameReader::default();
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        while let Some(frame) = frames.next_frame() {
            match check(frame) {
                Checked::Forward { body, method, id } => {
                    if method.as_deref() == Some("initialize") {
                        if let Some(id) = id {
                            let _ = init_ids.send(id);
                        }
                    }
                    let header = format!("Content-Length: {}\r\n\r\n", body.len());
                    let sent = async {
                        to_server.write_all(header.as_bytes()).await?;
                        to_server.write_all(&body).await
                    };
                    if sent.await.is_err() {
                        return InputEnd::Eof;
                    }
                    if method.as_deref() == Some("exit") {
                        // Dropping `to_server` ends tower-lsp's read loop after it handles exit.
                        return InputEnd::Exit;
                    }
                }
                Checked::Reject(response) => {
                    if errors.send(response).await.is_err() {
                        return InputEnd::Eof;
                    }
                }
            }
        }
        match input.read(&mut chunk).await {
            Ok(0) | Err(_) => return InputEnd::Eof,
            Ok(n) => frames.push(&chunk[..n]),
        }
    }
}

enum Checked {
    Forward { body: Vec<u8>, method: Option<String>, id: Option<jsonrpc::Id> },
    Reject(Value),
}

/// Decides whether tower-lsp can take a frame; if not, builds the error response.
fn check(frame: Frame) -> Checked {
    let (reason, body) = match frame {
        Frame::Message(body) => {
            // The same order as tower-lsp's untagged `Message`: a response first.
            if serde_json::from_slice::<jsonrpc::Response>(&body).is_ok() {
                return Checked::Forward { body, method: None, id: None };
            }
            if let Ok(request) = serde_json::from_slice::<jsonrpc::Request>(&body) {
                let method = Some(request.method().to_owned());
                let id = request.id().cloned();
                let body = drop_null_params(request).unwrap_or(body);
                return Checked::Forward { body, method, id };
            }
            (None, Some(body))
        }
        Frame::Malformed { reason, body } => (Some(reason), body),
    };
    let parsed = body.as_deref().and_then(|b| serde_json::from_slice::<Value>(b).ok());
    let id = parsed.as_ref().and_then(|v| v.get("id")).cloned().unwrap_or(Value::Null);
    let (code, message) = match (&parsed, reason) {
        (_, Some(reason)) => (INVALID_REQUEST, reason),
        (Some(_), None) => (INVALID_REQUEST, "not a valid JSON-RPC 2.0 message".to_owned()),
        (None, None) => (PARSE_ERROR, "message body is not valid JSON".to_owned()),
    };
    tracing::warn!(code, %message, "rejected a message from the client");
    Checked::Reject(json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message },
    }))
}

/// JSON-RPC allows leaving `params` out, not setting it to `null`, and tower-lsp refuses
/// `"params": null` for methods without parameters (`shutdown`); some clients send it.
/// Returns the message without it, or `None` when there was nothing to drop.
fn drop_null_params(request: jsonrpc::Request) -> Option<Vec<u8>> {
    if request.params() != Some(&Value::Null) {
        return None;
    }
    let (method, id, _) = request.into_parts();
    let mut message = json!({ "jsonrpc": "2.0", "method": method });
    if let Some(id) = id {
        message["id"] = serde_json::to_value(id).ok()?;
    }
    serde_json::to_vec(&message).ok()
}

async fn write_output<W: AsyncWrite + Unpin>(
    mut from_server: DuplexStream,
    mut output: W,
    mut errors: mpsc::Receiver<Value>,
    mut init_ids: mpsc::UnboundedReceiver<jsonrpc::Id>,
    patch_initialize: fn(&mut Value),
) {
    let mut frames = FrameReader::default();
    let mut chunk = vec![0u8; 1 << 16];
    let mut init_ids_pending: Vec<Value> = Vec::new();
    let mut server_open = true;
    loop {
        tokio::select! {
            biased;
            Some(id) = init_ids.recv() => {
                if let Ok(id) = serde_json::to_value(id) {
                    init_ids_pending.push(id);
                }
            }
            Some(error) = errors.recv() => {
                if write_message(&mut output, &serde_json::to_vec(&error).unwrap_or_default()).await.is_err() {
                    return;
                }
            }
            read = from_server.read(&mut chunk), if server_open => {
                match read {
                    Ok(0) | Err(_) => server_open = false,
                    Ok(n) => frames.push(&chunk[..n]),
                }
                while let Some(Frame::Message(mut body)) = frames.next_frame() {
                    if !init_ids_pending.is_empty() {
                        body = patch_if_initialize_response(body, &mut init_ids_pending, patch_initialize);
                    }
                    if write_message(&mut output, &body).await.is_err() {
                        return;
                    }
                }
            }
            else => break,
        }
        if !server_open && errors.is_empty() {
            break;
        }
    }
    let _ = output.flush().await;
}

fn patch_if_initialize_response(body: Vec<u8>, pending: &mut Vec<Value>, patch: fn(&mut Value)) -> Vec<u8> {
    let Ok(mut message) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    let Some(pos) = message.get("id").and_then(|id| pending.iter().position(|p| p == id)) else {
        return body;
    };
    if message.get("method").is_some() {
        return body; // a request of ours to the client that happens to share the id
    }
    pending.remove(pos);
    match message.get_mut("result") {
        Some(result) => {
            patch(result);
            serde_json::to_vec(&message).unwrap_or(body)
        }
        None => body,
    }
}

async fn write_message<W: AsyncWrite + Unpin>(output: &mut W, body: &[u8]) -> std::io::Result<()> {
    let mut framed = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    framed.extend_from_slice(body);
    output.write_all(&framed).await?;
    output.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_gets_a_parse_error_with_a_null_id() {
        let Checked::Reject(response) = check(Frame::Message(b"{\"id\": 3, oops".to_vec())) else {
            panic!("malformed JSON must be rejected");
        };
        assert_eq!(response["error"]["code"], PARSE_ERROR);
        assert_eq!(response["id"], Value::Null);
    }

    #[test]
    fn valid_json_that_is_not_json_rpc_is_an_invalid_request_with_its_id() {
        let Checked::Reject(response) = check(Frame::Message(br#"{"id": 3, "method": 5}"#.to_vec())) else {
            panic!("a non-string method must be rejected");
        };
        assert_eq!(response["error"]["code"], INVALID_REQUEST);
        assert_eq!(response["id"], 3);
    }

    #[test]
    fn requests_and_responses_are_forwarded() {
        let request = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#.to_vec();
        assert!(
            matches!(check(Frame::Message(request)), Checked::Forward { method: Some(m), .. } if m == "initialize")
        );
        let response = br#"{"jsonrpc":"2.0","id":1,"result":null}"#.to_vec();
        assert!(matches!(check(Frame::Message(response)), Checked::Forward { method: None, .. }));
    }

    #[test]
    fn null_params_are_dropped() {
        let body = br#"{"jsonrpc":"2.0","id":4,"method":"shutdown","params":null}"#.to_vec();
        let Checked::Forward { body, .. } = check(Frame::Message(body)) else { panic!("must forward") };
        let message: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(message, json!({ "jsonrpc": "2.0", "id": 4, "method": "shutdown" }));
    }

    #[test]
    fn only_the_initialize_response_is_patched() {
        fn patch(result: &mut Value) {
            result["capabilities"]["extra"] = json!(true);
        }
        let mut pending = vec![json!(1)];
        let other = br#"{"jsonrpc":"2.0","id":2,"result":{"capabilities":{}}}"#.to_vec();
        assert_eq!(patch_if_initialize_response(other.clone(), &mut pending, patch), other);
        let init = br#"{"jsonrpc":"2.0","id":1,"result":{"capabilities":{}}}"#.to_vec();
        let patched: Value =
            serde_json::from_slice(&patch_if_initialize_response(init, &mut pending, patch)).expect("json");
        assert_eq!(patched["result"]["capabilities"]["extra"], true);
        assert!(pending.is_empty());
    }
}
