//! A completion server for tests, on 127.0.0.1: it speaks the OpenAI-compatible
//! `/v1/completions` API (streamed as server-sent events), or fails in a chosen way
//! (HTTP 500, garbage, a hang, a connection cut mid-reply). It records each request
//! and notices when a client closes a connection it is holding open.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the stub answers.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Streams these pieces as `choices[0].text`, then `[DONE]`.
    Complete(Vec<String>),
    /// Like `Complete`, but answers HTTP 400 naming `suffix` to a request that has one.
    RefuseSuffix(Vec<String>),
    /// Answers with this HTTP status and a short body.
    Status(u16),
    /// Answers 200 with a body that is not a completion.
    Garbage,
    /// Reads the request and never answers (until the client closes the connection).
    Hang,
    /// Starts a streamed reply and closes the connection in the middle of it.
    Cut,
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Received {
    /// The request line and headers.
    pub head: String,
    /// The body.
    pub body: String,
}

/// The running stub (stops when dropped).
pub struct StubServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The requests received, in order.
    pub requests: Arc<Mutex<Vec<Received>>>,
    /// Connections held open by `Hang` that the client closed.
    pub closed_by_client: Arc<AtomicUsize>,
    behaviour: Arc<Mutex<Behaviour>>,
    stop: Arc<AtomicBool>,
}

impl StubServer {
    /// Starts a stub answering as `behaviour`.
    pub fn start(behaviour: Behaviour) -> StubServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a port");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        listener.set_nonblocking(true).expect("nonblocking");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let closed_by_client = Arc::new(AtomicUsize::new(0));
        let behaviour = Arc::new(Mutex::new(behaviour));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, c, b, s) = (requests.clone(), closed_by_client.clone(), behaviour.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (r, c, b, s) = (r.clone(), c.clone(), b.clone(), s.clone());
                        std::thread::spawn(move || serve(stream, &r, &c, &b, &s));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        StubServer { url, requests, closed_by_client, behaviour, stop }
    }

    /// Answers as `behaviour` from now on.
    pub fn set(&self, behaviour: Behaviour) {
        if let Ok(mut b) = self.behaviour.lock() {
            *b = behaviour;
        }
    }

    /// How many requests came.
    pub fn count(&self) -> usize {
        self.requests.lock().map_or(0, |r| r.len())
    }
}

impl Drop for StubServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(
    stream: TcpStream,
    requests: &Mutex<Vec<Received>>,
    closed: &AtomicUsize,
    behaviour: &Mutex<Behaviour>,
    stop: &AtomicBool,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;
    // One request per connection is all the client under test needs; keep-alive
    // requests on the same connection are served in turn.
    loop {
        let mut head = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        let has_suffix = serde_json::from_str::<serde_json::Value>(&body).is_ok_and(|v| v.get("suffix").is_some());
        if let Ok(mut r) = requests.lock() {
            r.push(Received { head, body });
        }
        let current = behaviour.lock().map(|b| b.clone()).unwrap_or(Behaviour::Garbage);
        let reply = |status: u16, body: &str| {
            format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        let sse = |pieces: &[String]| {
            let mut out =
                String::from("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
            for p in pieces {
                out.push_str(&format!("data: {}\n\n", serde_json::json!({ "choices": [{ "text": p, "index": 0 }] })));
            }
            out.push_str("data: [DONE]\n\n");
            out
        };
        match current {
            Behaviour::Complete(pieces) => {
                let _ = writer.write_all(sse(&pieces).as_bytes());
                return;
            }
            Behaviour::RefuseSuffix(_) if has_suffix => {
                let _ = writer.write_all(reply(400, r#"{"error":"suffix is not supported"}"#).as_bytes());
            }
            Behaviour::RefuseSuffix(pieces) => {
                let _ = writer.write_all(sse(&pieces).as_bytes());
                return;
            }
            Behaviour::Status(code) => {
                let _ = writer.write_all(reply(code, r#"{"error":"boom"}"#).as_bytes());
            }
            Behaviour::Garbage => {
                let _ = writer.write_all(reply(200, "<html>not json</html>").as_bytes());
            }
            Behaviour::Hang => {
                // Hold the connection until the client closes it (read gives 0) or the stub stops.
                let _ = reader.get_ref().set_read_timeout(Some(Duration::from_millis(20)));
                let mut byte = [0u8; 1];
                while !stop.load(Ordering::Relaxed) {
                    match reader.get_mut().read(&mut byte) {
                        Ok(0) => {
                            closed.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                        Ok(_) => {}
                        Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                        }
                        Err(_) => {
                            closed.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    }
                }
                return;
            }
            Behaviour::Cut => {
                let full = sse(&vec!["partial".to_owned(); 3]);
                let _ = writer.write_all(&full.as_bytes()[..full.len() / 2]);
                let _ = writer.shutdown(std::net::Shutdown::Both);
                return;
            }
        }
    }
}
