//! Conversions between LSP positions (in the negotiated encoding) and offsets in a rope.
//!
//! Inside the server every location is a byte (or char) offset into a `ropey::Rope`;
//! LSP positions exist only at the protocol edge and pass through this module.
//! Out-of-range input is clamped the way LSP 3.17 §"Position" asks: a character past
//! the end of a line means the end of that line (before its line break), and a line
//! past the end of the document means the end of the document. A position that falls
//! inside a character (the middle of a UTF-16 surrogate pair or of a UTF-8 sequence)
//! snaps back to the start of that character. Nothing here panics on any input.

use ropey::Rope;
use tower_lsp::lsp_types::{Position, PositionEncodingKind};

/// The unit in which LSP `Position.character` counts, agreed once at `initialize`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PositionEncoding {
    /// Bytes of UTF-8 (preferred: it is what we store).
    Utf8,
    /// UTF-16 code units: the LSP default every client supports.
    #[default]
    Utf16,
    /// Unicode scalar values.
    Utf32,
}

impl PositionEncoding {
    /// Picks the encoding from the client's `general.positionEncodings`:
    /// UTF-8 when offered, else UTF-16 (mandatory for every client), else UTF-32
    /// when it is the only one offered.
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Self {
        let offered = offered.unwrap_or_default();
        let has = |kind: &PositionEncodingKind| offered.iter().any(|o| o == kind);
        if has(&PositionEncodingKind::UTF8) {
            PositionEncoding::Utf8
        } else if offered.is_empty() || has(&PositionEncodingKind::UTF16) {
            PositionEncoding::Utf16
        } else if has(&PositionEncodingKind::UTF32) {
            PositionEncoding::Utf32
        } else {
            PositionEncoding::Utf16
        }
    }

    /// The value to advertise in `ServerCapabilities.positionEncoding`.
    pub fn kind(self) -> PositionEncodingKind {
        match self {
            PositionEncoding::Utf8 => PositionEncodingKind::UTF8,
            PositionEncoding::Utf16 => PositionEncodingKind::UTF16,
            PositionEncoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }
}

/// Char index of the start of `line` and of the end of its content (before the line break).
/// `None` when the line does not exist.
fn line_bounds(rope: &Rope, line: usize) -> Option<(usize, usize)> {
    let start = rope.try_line_to_char(line).ok()?;
    if line >= rope.len_lines() {
        return None;
    }
    let slice = rope.line(line);
    let mut len = slice.len_chars();
    if len > 0 && slice.char(len - 1) == '\n' {
        len -= 1;
        if len > 0 && slice.char(len - 1) == '\r' {
            len -= 1;
        }
    } else if len > 0 && slice.char(len - 1) == '\r' {
        len -= 1;
    }
    Some((start, start + len))
}

/// Converts an LSP position to a char index in `rope`, clamping and snapping as the
/// module documentation describes.
pub fn position_to_char(rope: &Rope, pos: Position, encoding: PositionEncoding) -> usize {
    let Some((start, end)) = line_bounds(rope, pos.line as usize) else {
        return rope.len_chars();
    };
    let character = pos.character as usize;
    match encoding {
        PositionEncoding::Utf32 => start.saturating_add(character).min(end),
        PositionEncoding::Utf16 => {
            let start_cu = rope.char_to_utf16_cu(start);
            let end_cu = rope.char_to_utf16_cu(end);
            let target = start_cu.saturating_add(character).min(end_cu);
            // ropey maps a unit inside a surrogate pair to the char it belongs to: a snap back.
            rope.utf16_cu_to_char(target)
        }
        PositionEncoding::Utf8 => {
            let start_byte = rope.char_to_byte(start);
            let end_byte = rope.char_to_byte(end);
            let target = start_byte.saturating_add(character).min(end_byte);
            // byte_to_char returns the char that contains the byte: a snap back.
            rope.byte_to_char(target)
        }
    }
}

/// Converts an LSP position to a byte offset in `rope` (always on a char boundary).
pub fn position_to_byte(rope: &Rope, pos: Position, encoding: PositionEncoding) -> usize {
    rope.char_to_byte(position_to_char(rope, pos, encoding))
}

/// Converts a char index in `rope` to an LSP position; an index past the end means the end.
pub fn char_to_position(rope: &Rope, char_idx: usize, encoding: PositionEncoding) -> Position {
    let char_idx = char_idx.min(rope.len_chars());
    let line = rope.char_to_line(char_idx);
    let line_start = rope.line_to_char(line);
    let character = match encoding {
        PositionEncoding::Utf32 => char_idx - line_start,
        PositionEncoding::Utf16 => rope.char_to_utf16_cu(char_idx) - rope.char_to_utf16_cu(line_start),
        PositionEncoding::Utf8 => rope.char_to_byte(char_idx) - rope.char_to_byte(line_start),
    };
    Position::new(saturate_u32(line), saturate_u32(character))
}

/// Converts a byte offset in `rope` to an LSP position. An offset inside a character
/// snaps back to its start; an offset past the end means the end.
pub fn byte_to_position(rope: &Rope, byte: usize, encoding: PositionEncoding) -> Position {
    let byte = byte.min(rope.len_bytes());
    char_to_position(rope, rope.byte_to_char(byte), encoding)
}

fn saturate_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PositionEncoding::{Utf16, Utf32, Utf8};

    fn pos(line: u32, character: u32) -> Position {
        Position::new(line, character)
    }

    #[test]
    fn negotiation_prefers_utf8_and_defaults_to_utf16() {
        use PositionEncodingKind as K;
        assert_eq!(PositionEncoding::negotiate(None), Utf16);
        assert_eq!(PositionEncoding::negotiate(Some(&[])), Utf16);
        assert_eq!(PositionEncoding::negotiate(Some(&[K::UTF16, K::UTF8])), Utf8);
        assert_eq!(PositionEncoding::negotiate(Some(&[K::UTF32, K::UTF16])), Utf16);
        assert_eq!(PositionEncoding::negotiate(Some(&[K::UTF32])), Utf32);
        assert_eq!(PositionEncoding::negotiate(Some(&[K::new("utf-7")])), Utf16);
    }

    #[test]
    fn every_line_break_lsp_knows_ends_a_line() {
        let rope = Rope::from_str("a\nb\r\nc\rd");
        for enc in [Utf8, Utf16, Utf32] {
            assert_eq!(position_to_char(&rope, pos(1, 0), enc), 2);
            assert_eq!(position_to_char(&rope, pos(2, 0), enc), 5);
            assert_eq!(position_to_char(&rope, pos(3, 0), enc), 7);
            // Past the end of a CRLF line means before the CR.
            assert_eq!(position_to_char(&rope, pos(1, 9), enc), 3);
            assert_eq!(char_to_position(&rope, 7, enc), pos(3, 0));
        }
    }

    #[test]
    fn unicode_line_separators_are_not_line_breaks() {
        // LSP counts only \n, \r\n and \r; ropey must not split on U+2028 or NEL.
        let rope = Rope::from_str("a\u{2028}b\u{85}c\nd");
        assert_eq!(rope.len_lines(), 2);
        assert_eq!(position_to_char(&rope, pos(1, 0), Utf32), 6);
    }

    #[test]
    fn positions_count_in_the_negotiated_unit() {
        // 'é' is 2 UTF-8 bytes, 1 UTF-16 unit; '😀' is 4 bytes, 2 units, 1 scalar.
        let rope = Rope::from_str("xé😀y\n");
        let y = 3; // char index of 'y'
        assert_eq!(position_to_char(&rope, pos(0, 7), Utf8), y);
        assert_eq!(position_to_char(&rope, pos(0, 4), Utf16), y);
        assert_eq!(position_to_char(&rope, pos(0, 3), Utf32), y);
        assert_eq!(char_to_position(&rope, y, Utf8), pos(0, 7));
        assert_eq!(char_to_position(&rope, y, Utf16), pos(0, 4));
        assert_eq!(char_to_position(&rope, y, Utf32), pos(0, 3));
    }

    #[test]
    fn positions_inside_a_character_snap_to_its_start() {
        let rope = Rope::from_str("a😀b");
        // UTF-16 unit 2 is the low half of the surrogate pair.
        assert_eq!(position_to_char(&rope, pos(0, 2), Utf16), 1);
        // UTF-8 bytes 2..=4 are inside the emoji.
        for c in 2..=4 {
            assert_eq!(position_to_char(&rope, pos(0, c), Utf8), 1);
        }
        assert_eq!(byte_to_position(&rope, 3, Utf16), pos(0, 1));
    }

    #[test]
    fn out_of_range_positions_clamp() {
        let rope = Rope::from_str("ab\ncd");
        for enc in [Utf8, Utf16, Utf32] {
            assert_eq!(position_to_char(&rope, pos(0, 99), enc), 2);
            assert_eq!(position_to_char(&rope, pos(1, u32::MAX), enc), 5);
            assert_eq!(position_to_char(&rope, pos(7, 0), enc), 5);
            assert_eq!(position_to_char(&rope, pos(u32::MAX, u32::MAX), enc), 5);
            assert_eq!(char_to_position(&rope, 999, enc), pos(1, 2));
            assert_eq!(byte_to_position(&rope, usize::MAX, enc), pos(1, 2));
        }
        let empty = Rope::new();
        assert_eq!(position_to_char(&empty, pos(3, 3), Utf16), 0);
        assert_eq!(char_to_position(&empty, 0, Utf16), pos(0, 0));
    }

    #[test]
    fn trailing_newline_makes_an_empty_last_line() {
        let rope = Rope::from_str("ab\n");
        assert_eq!(position_to_char(&rope, pos(1, 0), Utf16), 3);
        assert_eq!(char_to_position(&rope, 3, Utf16), pos(1, 0));
    }
}
