//! Property test of the document store: 10,000 random edits per encoding, checked after
//! every edit against a plain `String` edited through an independent, naive reference
//! of the LSP position rules.

use infill_server::document_store::DocumentStore;
use infill_server::lsp_types::{Position, Range, TextDocumentContentChangeEvent, Url};
use infill_server::position::{byte_to_position, PositionEncoding};

const EDITS: usize = 10_000;
/// Pieces random inserts are made of: ASCII, CJK, astral-plane emoji, every line break.
const PIECES: &[&str] =
    &["a", "xyz", " ", "\t", "é", "漢字", "😀", "🦀x", "\n", "\r\n", "\r", "\r\r\n", "fn f() {", "}"];

/// The naive reference: the text as a `String`, positions resolved by walking chars.
struct Reference {
    text: String,
    encoding: PositionEncoding,
}

impl Reference {
    /// (start byte, content end byte) of every line, split on `\n`, `\r\n` and `\r`.
    fn lines(&self) -> Vec<(usize, usize)> {
        let bytes = self.text.as_bytes();
        let mut lines = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                    lines.push((start, i));
                    i += 2;
                    start = i;
                }
                b'\n' | b'\r' => {
                    lines.push((start, i));
                    i += 1;
                    start = i;
                }
                _ => i += 1,
            }
        }
        lines.push((start, bytes.len()));
        lines
    }

    fn units(&self, c: char) -> usize {
        match self.encoding {
            PositionEncoding::Utf8 => c.len_utf8(),
            PositionEncoding::Utf16 => c.len_utf16(),
            PositionEncoding::Utf32 => 1,
        }
    }

    fn to_byte(&self, pos: Position) -> usize {
        let lines = self.lines();
        let Some(&(start, end)) = lines.get(pos.line as usize) else {
            return self.text.len();
        };
        let mut units = 0usize;
        for (offset, c) in self.text[start..end].char_indices() {
            let next = units + self.units(c);
            if next > pos.character as usize {
                return start + offset; // inside or before this char: its start
            }
            units = next;
        }
        end
    }

    fn to_position(&self, byte: usize) -> Position {
        let lines = self.lines();
        let line = lines.iter().rposition(|&(start, _)| start <= byte).unwrap_or(0);
        let (start, _) = lines[line];
        let character: usize = self.text[start..byte].chars().map(|c| self.units(c)).sum();
        Position::new(line as u32, character as u32)
    }

    /// A random position: usually on a char boundary inside a line, sometimes past the
    /// end of the line or document, sometimes inside a character.
    fn random_position(&self, rng: &mut fastrand::Rng) -> Position {
        let lines = self.lines();
        match rng.u8(0..20) {
            0 => Position::new(lines.len() as u32 + rng.u32(0..3), rng.u32(0..5)),
            1 => Position::new(rng.u32(0..lines.len() as u32), rng.u32(0..1000)),
            2 => Position::new(rng.u32(0..lines.len() as u32), rng.u32(0..6)), // may split a char
            _ => {
                let line = rng.usize(0..lines.len());
                let (start, end) = lines[line];
                let boundaries: Vec<usize> =
                    self.text[start..end].char_indices().map(|(i, _)| i).chain([end - start]).collect();
                let byte = start + boundaries[rng.usize(0..boundaries.len())];
                self.to_position(byte)
            }
        }
    }

    fn apply(&mut self, range: Range, new_text: &str) {
        let (a, b) = (self.to_byte(range.start), self.to_byte(range.end));
        self.text.replace_range(a.min(b)..a.max(b), new_text);
    }
}

fn random_text(rng: &mut fastrand::Rng, grow: bool) -> String {
    let pieces = if grow { rng.usize(0..6) } else { rng.usize(0..2) };
    (0..pieces).map(|_| PIECES[rng.usize(0..PIECES.len())]).collect()
}

fn run(encoding: PositionEncoding, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let store = DocumentStore::default();
    let uri: Url = "file:///prop.txt".parse().expect("url");
    let initial = "fn main() {\r\n    println!(\"héllo 😀\");\r}\n漢字\n";
    store.open(uri.clone(), initial, 0, "rust");
    let mut reference = Reference { text: initial.to_owned(), encoding };
    for version in 1..=EDITS as i32 {
        let grow = reference.text.len() < 3_000;
        let changes: Vec<TextDocumentContentChangeEvent> = (0..rng.usize(1..4))
            .map(|_| {
                let range = Range::new(reference.random_position(&mut rng), reference.random_position(&mut rng));
                let text = random_text(&mut rng, grow);
                reference.apply(range, &text);
                TextDocumentContentChangeEvent { range: Some(range), range_length: None, text }
            })
            .collect();
        store.change(&uri, version, &changes, encoding).expect("edit accepted");
        let snapshot = store.snapshot(&uri).expect("open");
        assert_eq!(
            snapshot.rope.to_string(),
            reference.text,
            "{encoding:?} seed {seed} after edit {version}: {changes:?}"
        );
        assert_eq!(snapshot.version, version);
        // And back: a random char boundary maps to the position the reference computes.
        let boundaries: Vec<usize> =
            reference.text.char_indices().map(|(i, _)| i).chain([reference.text.len()]).collect();
        let byte = boundaries[rng.usize(0..boundaries.len())];
        assert_eq!(
            byte_to_position(&snapshot.rope, byte, encoding),
            reference.to_position(byte),
            "{encoding:?} byte {byte}"
        );
    }
}

#[test]
fn ten_thousand_random_edits_in_utf16_match_the_reference() {
    run(PositionEncoding::Utf16, 0x1f_2b);
}

#[test]
fn ten_thousand_random_edits_in_utf8_match_the_reference() {
    run(PositionEncoding::Utf8, 0x5eed);
}

#[test]
fn ten_thousand_random_edits_in_utf32_match_the_reference() {
    run(PositionEncoding::Utf32, 32);
}
