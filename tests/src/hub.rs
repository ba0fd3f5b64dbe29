//! A local stand-in for the Hugging Face hub's file API (what `HF_ENDPOINT` points
//! hf-hub at): `GET /{owner}/{repo}/resolve/main/{file}` with `Range`, answering with the
//! headers hf-hub reads (`x-repo-commit`, `x-linked-etag` = the SHA-256, `content-range`),
//! and faults on demand: connections cut halfway, a wrong checksum, a missing file.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// The commit every answer names.
pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// What the fake hub does wrong.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Requests for file data (not the one-byte metadata probe) cut after half of what
    /// they send, counting from the first.
    pub cut_first: usize,
    /// Announce another SHA-256 than the file's.
    pub wrong_checksum: bool,
    /// Answer 404 for everything.
    pub missing: bool,
}

/// One request as the hub saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The request path.
    pub path: String,
    /// The first byte asked for (`Range: bytes=N-`), 0 without a range.
    pub from: u64,
    /// Whether it was the one-byte metadata probe (`bytes=0-0`).
    pub probe: bool,
}

/// A running fake hub serving one file.
pub struct FakeHub {
    /// `http://127.0.0.1:PORT`, for `HF_ENDPOINT`.
    pub endpoint: String,
    /// Every request, in order.
    pub seen: Arc<Mutex<Vec<Seen>>>,
    faults: Arc<Mutex<Faults>>,
}

impl FakeHub {
    /// Serves `data` as `owner/repo/file` (every path under `/owner/repo/resolve/main/`).
    pub fn start(data: Vec<u8>, faults: Faults) -> FakeHub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let faults = Arc::new(Mutex::new(faults));
        let sha: String = Sha256::digest(&data).iter().map(|b| format!("{b:02x}")).collect();
        let (log, rules) = (seen.clone(), faults.clone());
        let data = Arc::new(data);
        std::thread::spawn(move || {
            let mut data_requests = 0usize;
            for stream in listener.incoming().map_while(Result::ok) {
                let faults = rules.lock().map(|f| f.clone()).unwrap_or_default();
                let _ = serve(stream, &data, &sha, &faults, &log, &mut data_requests);
            }
        });
        FakeHub { endpoint, seen, faults }
    }

    /// Changes the faults for the next requests.
    pub fn set_faults(&self, faults: Faults) {
        if let Ok(mut f) = self.faults.lock() {
            *f = faults;
        }
    }

    /// The requests seen so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

fn serve(
    stream: TcpStream,
    data: &[u8],
    sha: &str,
    faults: &Faults,
    log: &Mutex<Vec<Seen>>,
    data_requests: &mut usize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
    let mut range: Option<(u64, Option<u64>)> = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.trim().eq_ignore_ascii_case("range") {
                let spec = value.trim().trim_start_matches("bytes=");
                let (a, b) = spec.split_once('-').unwrap_or((spec, ""));
                range = Some((a.parse().unwrap_or(0), b.parse().ok()));
            }
        }
    }
    let probe = range == Some((0, Some(0)));
    let from = range.map_or(0, |r| r.0);
    if let Ok(mut seen) = log.lock() {
        seen.push(Seen { path: path.clone(), from, probe });
    }
    let mut out = stream;
    if faults.missing || !path.contains("/resolve/main/") {
        let body = "Entry not found";
        write!(out, "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())?;
        return Ok(());
    }
    let size = data.len() as u64;
    let announced = if faults.wrong_checksum { "f".repeat(64) } else { sha.to_owned() };
    let end = range.and_then(|r| r.1).unwrap_or(size.saturating_sub(1)).min(size.saturating_sub(1));
    let from = from.min(size);
    let body = &data[from as usize..=(end as usize).max(from as usize).min(data.len().saturating_sub(1))];
    write!(
        out,
        "HTTP/1.1 206 Partial Content\r\nx-repo-commit: {COMMIT}\r\nx-linked-etag: \"{announced}\"\r\netag: \"{announced}\"\r\n\
         content-range: bytes {from}-{end}/{size}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if !probe {
        *data_requests += 1;
        if *data_requests <= faults.cut_first {
            out.write_all(&body[..body.len() / 2])?;
            out.flush()?;
            return out.shutdown(std::net::Shutdown::Both);
        }
    }
    out.write_all(body)?;
    out.flush()
}
