//! Server-sent events as both backends stream them: `data: <json>` lines, blank lines
//! between events, `:` comments. A reply that is not an event stream (a server that
//! ignored `stream: true`) is kept whole and handed back at the end.
//! Written here rather than taken from an SSE crate: this is the only part of the
//! format either backend uses, and it is a dozen lines over bytes we already hold.

/// Splits streamed bytes into event payloads.
#[derive(Default)]
pub struct Reader {
    /// Bytes of a line not yet ended.
    pending: Vec<u8>,
    /// Lines that are not part of an event stream.
    plain: String,
    /// Whether any `data:` line came.
    events: bool,
}

impl Reader {
    /// The payloads of the `data:` lines completed by `bytes`.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if let Some(data) = line.strip_prefix("data:") {
                self.events = true;
                out.push(data.trim_start().to_owned());
            } else if !self.events && !line.starts_with(':') && !line.starts_with("event:") && !line.starts_with("id:")
            {
                self.plain.push_str(line);
                self.plain.push('\n');
            }
        }
        out
    }

    /// Whether the reply was an event stream.
    pub fn saw_events(&self) -> bool {
        self.events
    }

    /// At the end of the reply: its text when it was not an event stream.
    pub fn finish(&mut self) -> Option<String> {
        if self.events {
            return None;
        }
        self.plain.push_str(&String::from_utf8_lossy(&self.pending));
        let whole = self.plain.trim();
        (!whole.is_empty()).then(|| whole.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_whole_however_the_bytes_are_cut() {
        let stream = "data: {\"a\":1}\n\n: keep-alive\ndata: {\"b\":\"é\"}\r\n\ndata: [DONE]\n\n";
        for cut in 0..stream.len() {
            let mut reader = Reader::default();
            let mut events = reader.push(&stream.as_bytes()[..cut]);
            events.extend(reader.push(&stream.as_bytes()[cut..]));
            assert_eq!(events, ["{\"a\":1}", "{\"b\":\"é\"}", "[DONE]"], "cut at {cut}");
            assert_eq!(reader.finish(), None);
        }
    }

    #[test]
    fn a_plain_json_reply_is_kept_whole() {
        let mut reader = Reader::default();
        assert!(reader.push(b"{\"content\":\n\"x\"}").is_empty());
        assert_eq!(reader.finish().as_deref(), Some("{\"content\":\n\"x\"}"));
        assert!(!reader.saw_events());
    }
}
