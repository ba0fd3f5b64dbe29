//! LSP base-protocol framing (`Content-Length` headers) that survives bad input.
//!
//! Bytes go in with [`FrameReader::push`]; whole message bodies, or a description of
//! what was wrong, come out of [`FrameReader::next_frame`]. After garbage, a bad header
//! or a body whose length does not match its header, the reader skips to the next
//! `Content-Length` and goes on, so one bad message never stops the stream.

use memchr::memmem;
use serde::de::IgnoredAny;

const HEADER_END: &[u8] = b"\r\n\r\n";
const CONTENT_LENGTH: &[u8] = b"Content-Length:";
/// Longest header section we wait for before calling it garbage.
const MAX_HEADER_BYTES: usize = 8 * 1024;
/// Largest body accepted (a 256 MiB buffer is far past anything an editor edits). A
/// larger length is refused at once rather than waited for: waiting would hold
/// everything the client sends after it, and the sum could overflow.
pub const MAX_BODY_BYTES: usize = 256 << 20;

/// One item read from the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A body as framed by its header (not yet checked to be JSON).
    Message(Vec<u8>),
    /// Something was wrong; `body` holds the message text when one could be recovered,
    /// so that an error response can carry its id.
    Malformed {
        /// What was wrong, for the error answer.
        reason: String,
        /// The recovered body, when there is one.
        body: Option<Vec<u8>>,
    },
}

/// Incremental reader of framed messages.
#[derive(Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    /// Header parsed, waiting for the body: (header length, content length).
    pending: Option<(usize, usize)>,
    /// How far into the pending body we already looked for a following header.
    scanned: usize,
}

impl FrameReader {
    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held but not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            if self.buf.is_empty() {
                return None;
            }
            let Some((header_len, content_len)) = self.pending else {
                match self.parse_header() {
                    HeaderResult::NeedMore => return None,
                    HeaderResult::Bad(reason) => {
                        self.skip_to_next_header(1);
                        return Some(Frame::Malformed { reason, body: None });
                    }
                    HeaderResult::Ok(header_len, content_len) => {
                        self.pending = Some((header_len, content_len));
                        self.scanned = 0;
                        continue;
                    }
                }
            };
            if self.buf.len() >= header_len + content_len {
                let body = self.buf[header_len..header_len + content_len].to_vec();
                self.buf.drain(..header_len + content_len);
                self.pending = None;
                return Some(Frame::Message(body));
            }
            return self.detect_overlong_length(header_len, content_len);
        }
    }

    /// While waiting for a body: if a complete JSON value is already followed by the
    /// next message's header, the declared length was too large. Waiting would hang
    /// the client, so the value is given back as malformed and reading resumes there.
    fn detect_overlong_length(&mut self, header_len: usize, content_len: usize) -> Option<Frame> {
        let body = &self.buf[header_len..];
        let from = self.scanned.saturating_sub(CONTENT_LENGTH.len());
        let mut found = None;
        for rel in memmem::find_iter(&body[from..], CONTENT_LENGTH) {
            let at = from + rel;
            if at > 0 && is_complete_json(&body[..at]) {
                found = Some(at);
                break;
            }
        }
        self.scanned = body.len();
        let at = found?;
        let recovered = trim_ascii_whitespace(&body[..at]).to_vec();
        self.buf.drain(..header_len + at);
        self.pending = None;
        Some(Frame::Malformed {
            reason: format!("Content-Length {content_len} is longer than the message ({at} bytes)"),
            body: Some(recovered),
        })
    }

    fn parse_header(&self) -> HeaderResult {
        let Some(end) = memmem::find(&self.buf, HEADER_END) else {
            if self.buf.len() > MAX_HEADER_BYTES || !could_start_header(&self.buf) {
                return HeaderResult::Bad("no message header found".into());
            }
            return HeaderResult::NeedMore;
        };
        let mut content_len = None;
        for line in self.buf[..end].split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                return HeaderResult::Bad(format!("bad header line {:?}", String::from_utf8_lossy(line)));
            };
            let (name, value) = (&line[..colon], &line[colon + 1..]);
            if name.eq_ignore_ascii_case(b"content-length") {
                let value = std::str::from_utf8(value).unwrap_or("").trim();
                match value.parse::<usize>() {
                    Ok(n) if n > MAX_BODY_BYTES => {
                        return HeaderResult::Bad(format!("Content-Length {n} is over the {MAX_BODY_BYTES}-byte limit"))
                    }
                    Ok(n) => content_len = Some(n),
                    Err(_) => return HeaderResult::Bad(format!("bad Content-Length {value:?}")),
                }
            }
        }
        match content_len {
            Some(n) => HeaderResult::Ok(end + HEADER_END.len(), n),
            None => HeaderResult::Bad("header without Content-Length".into()),
        }
    }

    /// Drops bytes up to the next `Content-Length` found at or after `from`.
    fn skip_to_next_header(&mut self, from: usize) {
        let from = from.min(self.buf.len());
        match memmem::find(&self.buf[from..], CONTENT_LENGTH) {
            Some(rel) => {
                self.buf.drain(..from + rel);
            }
            None => {
                // Keep a tail that may be the start of a header split across reads.
                let keep = self.buf.len().min(CONTENT_LENGTH.len() - 1);
                let cut = self.buf.len() - keep;
                self.buf.drain(..cut);
                if !could_start_header(&self.buf) {
                    self.buf.clear();
                }
            }
        }
    }
}

enum HeaderResult {
    NeedMore,
    Bad(String),
    Ok(usize, usize),
}

/// Whether `bytes` could be the beginning of a header section (a header name's letters).
fn could_start_header(bytes: &[u8]) -> bool {
    let n = bytes.len().min(CONTENT_LENGTH.len());
    bytes[..n].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b':')
        || CONTENT_LENGTH[..n].eq_ignore_ascii_case(&bytes[..n])
}

fn is_complete_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<IgnoredAny>(trim_ascii_whitespace(bytes)).is_ok()
}

fn trim_ascii_whitespace(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |i| i + 1);
    &bytes[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{}", body.len(), body)
    }

    fn frames(reader: &mut FrameReader) -> Vec<Frame> {
        std::iter::from_fn(|| reader.next_frame()).collect()
    }

    fn message(body: &str) -> Frame {
        Frame::Message(body.as_bytes().to_vec())
    }

    #[test]
    fn reads_messages_split_at_every_byte() {
        let input = framed(r#"{"a":1}"#) + &framed(r#"{"b":"ü"}"#);
        let mut reader = FrameReader::default();
        let mut out = Vec::new();
        for byte in input.as_bytes() {
            reader.push(&[*byte]);
            out.extend(frames(&mut reader));
        }
        assert_eq!(out, vec![message(r#"{"a":1}"#), message(r#"{"b":"ü"}"#)]);
        assert_eq!(reader.buffered(), 0);
    }

    #[test]
    fn header_names_are_case_insensitive_and_content_type_is_ignored() {
        let mut reader = FrameReader::default();
        reader.push(b"content-length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}");
        assert_eq!(frames(&mut reader), vec![message("{}")]);
    }

    #[test]
    fn garbage_before_a_message_is_reported_then_skipped() {
        let mut reader = FrameReader::default();
        reader.push(format!("garbage!{{]]\r\n\r\n{}", framed("{}")).as_bytes());
        let out = frames(&mut reader);
        assert!(matches!(&out[0], Frame::Malformed { body: None, .. }), "{out:?}");
        assert_eq!(out[1..], [message("{}")]);
    }

    #[test]
    fn a_bad_content_length_value_is_reported_then_skipped() {
        let mut reader = FrameReader::default();
        reader.push(format!("Content-Length: lots\r\n\r\n{{}}{}", framed("[1]")).as_bytes());
        let out = frames(&mut reader);
        assert!(matches!(&out[0], Frame::Malformed { .. }), "{out:?}");
        assert_eq!(out.last(), Some(&message("[1]")));
    }

    #[test]
    fn a_too_short_content_length_yields_a_bad_body_then_recovers() {
        let mut reader = FrameReader::default();
        reader.push(format!("Content-Length: 5\r\n\r\n{{\"id\":1}}{}", framed("{}")).as_bytes());
        let out = frames(&mut reader);
        assert_eq!(out[0], message("{\"id\""));
        assert!(matches!(&out[1], Frame::Malformed { .. }), "{out:?}");
        assert_eq!(out.last(), Some(&message("{}")));
    }

    #[test]
    fn a_too_long_content_length_does_not_swallow_the_next_message() {
        let mut reader = FrameReader::default();
        reader.push(b"Content-Length: 500\r\n\r\n{\"id\":7}");
        assert_eq!(frames(&mut reader), vec![]);
        reader.push(framed(r#"{"id":8}"#).as_bytes());
        let out = frames(&mut reader);
        assert!(matches!(&out[0], Frame::Malformed { body: Some(b), .. } if b == br#"{"id":7}"#), "{out:?}");
        assert_eq!(out[1..], [message(r#"{"id":8}"#)]);
    }

    #[test]
    fn header_text_inside_a_large_body_is_not_mistaken_for_a_new_message() {
        let body = r#"{"text":"Content-Length: 3\r\n\r\nabc"}"#;
        let input = framed(body);
        let mut reader = FrameReader::default();
        let (first, rest) = input.as_bytes().split_at(input.len() - 4);
        reader.push(first);
        assert_eq!(frames(&mut reader), vec![]);
        reader.push(rest);
        assert_eq!(frames(&mut reader), vec![message(body)]);
    }
}
