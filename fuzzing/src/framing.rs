//! The transport's framing on arbitrary bytes: any bytes, cut into any chunks, never
//! panic and never yield more than was pushed; well-formed messages cut into any chunks
//! come out whole, in order, and nothing is left over.

use arbitrary::{Arbitrary, Unstructured};
use infill_server::transport::framing::{Frame, FrameReader};

/// What one run pushes through the reader.
#[derive(Arbitrary, Debug)]
struct Input {
    /// Raw bytes read from the wire.
    raw: Vec<u8>,
    /// Bodies sent as proper messages (each becomes a JSON string value).
    bodies: Vec<String>,
    /// Chunk lengths the stream is cut into (cycled; 0 reads as 1).
    cuts: Vec<u8>,
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else { return };
    let (frames, left) = read_in_chunks(&input.raw, &input.cuts);
    let out: usize = frames.iter().map(frame_len).sum();
    assert!(out + left <= input.raw.len(), "{out} bytes out and {left} held from {} in", input.raw.len());

    let bodies: Vec<Vec<u8>> = input
        .bodies
        .iter()
        .map(|b| serde_json::to_vec(&serde_json::json!({ "text": b })).unwrap_or_default())
        .collect();
    let mut wire = Vec::new();
    for body in &bodies {
        wire.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        wire.extend_from_slice(body);
    }
    let (frames, left) = read_in_chunks(&wire, &input.cuts);
    let expected: Vec<Frame> = bodies.into_iter().map(Frame::Message).collect();
    assert_eq!(frames, expected, "well-formed messages must come out as sent");
    assert_eq!(left, 0, "nothing may be held after whole messages");
}

/// Pushes `bytes` in chunks of the lengths `cuts` gives, taking frames after each push;
/// returns the frames and how many bytes the reader still holds.
fn read_in_chunks(bytes: &[u8], cuts: &[u8]) -> (Vec<Frame>, usize) {
    let mut reader = FrameReader::default();
    let mut frames = Vec::new();
    let mut at = 0;
    let mut cut = cuts.iter().cycle();
    while at < bytes.len() {
        let len = if cuts.is_empty() { bytes.len() } else { usize::from(*cut.next().unwrap_or(&1)).max(1) };
        let end = (at + len).min(bytes.len());
        reader.push(&bytes[at..end]);
        at = end;
        frames.extend(std::iter::from_fn(|| reader.next_frame()));
    }
    (frames, reader.buffered())
}

fn frame_len(frame: &Frame) -> usize {
    match frame {
        Frame::Message(body) => body.len(),
        Frame::Malformed { body, .. } => body.as_ref().map_or(0, Vec::len),
    }
}
