//! A plain-`String` model of an LSP text document, written from the specification and
//! sharing no code with the server: what the server's copy of a buffer must equal.
//!
//! Lines end at `\n`, `\r\n` or `\r`. A position past a line's end means the line's end,
//! a line past the document's end means the document's end, and a position inside a
//! character (a UTF-16 surrogate pair, a UTF-8 sequence) means that character's start.
//! A range given backwards is read forwards. Changes apply in version order: one that
//! arrives late (its version was skipped) goes in its place.

use infill_server::position::PositionEncoding;

/// One content change as a client sends it.
#[derive(Clone, Debug)]
pub struct Change {
    /// `((line, character), (line, character))`, or `None` for the whole text.
    pub range: Option<((u32, u32), (u32, u32))>,
    /// The new text.
    pub text: String,
}

/// A document: the text it was opened with and the changes taken since, by version.
#[derive(Clone, Debug)]
pub struct RefDoc {
    opened: String,
    /// Accepted `didChange`s in version order (equal versions in arrival order).
    changes: Vec<(i32, Vec<Change>)>,
    /// The text after every change.
    pub text: String,
    /// The newest version taken.
    pub version: i32,
}

impl RefDoc {
    /// A document as `didOpen` gives it.
    pub fn open(text: &str, version: i32) -> RefDoc {
        RefDoc { opened: text.to_owned(), changes: Vec::new(), text: text.to_owned(), version }
    }

    /// Takes a `didChange` the server accepted; `late` when its version is older than
    /// the newest (it goes in its place).
    pub fn take(&mut self, version: i32, changes: Vec<Change>, encoding: PositionEncoding) {
        let at = self.changes.partition_point(|(v, _)| *v <= version);
        self.changes.insert(at, (version, changes));
        self.version = self.version.max(version);
        let mut text = self.opened.clone();
        for (_, changes) in &self.changes {
            for change in changes {
                apply(&mut text, change, encoding);
            }
        }
        self.text = text;
    }
}

/// Applies one content change to `text`.
pub fn apply(text: &mut String, change: &Change, encoding: PositionEncoding) {
    let Some((a, b)) = change.range else {
        change.text.clone_into(text);
        return;
    };
    let (first, last) = if a <= b { (a, b) } else { (b, a) };
    let start = offset(text, first, encoding);
    let end = offset(text, last, encoding).max(start);
    text.replace_range(start..end, &change.text);
}

/// The byte offset of an LSP position in `text`.
pub fn offset(text: &str, (line, character): (u32, u32), encoding: PositionEncoding) -> usize {
    let Some((start, end)) = line_span(text, line as usize) else { return text.len() };
    let mut units = 0usize;
    for (at, c) in text[start..end].char_indices() {
        let width = match encoding {
            PositionEncoding::Utf8 => c.len_utf8(),
            PositionEncoding::Utf16 => c.len_utf16(),
            PositionEncoding::Utf32 => 1,
        };
        if units + width > character as usize {
            return start + at;
        }
        units += width;
    }
    end
}

/// Byte span of line `n`'s content (without its line break).
fn line_span(text: &str, n: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut line = 0;
    let mut i = 0;
    while i < bytes.len() {
        let brk = match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => 2,
            b'\r' | b'\n' => 1,
            _ => {
                i += 1;
                continue;
            }
        };
        if line == n {
            return Some((start, i));
        }
        line += 1;
        i += brk;
        start = i;
    }
    (line == n).then_some((start, bytes.len()))
}

/// The hash of a text the server's test engine reports (64-bit FNV-1a).
pub fn fnv1a(text: &str) -> u64 {
    infill_server::engine::test_double::fnv1a(&ropey::Rope::from_str(text))
}

/// The end of the test engine's suggestion for a buffer holding `text`: its length and hash.
pub fn answer_tail(text: &str) -> String {
    format!("#{}:{:016x}»", text.len(), fnv1a(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_clamp_and_snap() {
        let text = "ab\r\nx😀y\rz";
        let utf16 = PositionEncoding::Utf16;
        assert_eq!(offset(text, (0, 9), utf16), 2);
        assert_eq!(offset(text, (1, 2), utf16), 5, "inside the surrogate pair: its start");
        assert_eq!(offset(text, (1, 3), utf16), 9);
        assert_eq!(offset(text, (2, 0), utf16), 11);
        assert_eq!(offset(text, (7, 0), utf16), text.len());
        assert_eq!(offset(text, (1, 2), PositionEncoding::Utf8), 5);
        assert_eq!(offset(text, (1, 2), PositionEncoding::Utf32), 9);
    }
}
