//! Small text helpers over ropes and lines: char boundaries, words, the cursor's line,
//! line boundaries, indentation, and the file's indentation style. The server uses the
//! public ones too: each fact about text has its one implementation here.

use ropey::Rope;

use crate::Language;

/// Columns a tab counts for when indentation widths are compared.
pub(crate) const TAB_COLUMNS: usize = 4;

/// Whether `c` can be part of an identifier.
pub fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Byte offset where the identifier ending at `cursor` starts (clamped to the text).
pub fn word_start(rope: &Rope, cursor: usize) -> usize {
    let cursor_char = rope.byte_to_char(cursor.min(rope.len_bytes()));
    let typed = rope.chars_at(cursor_char).reversed().take_while(|&c| is_word(c)).count();
    rope.char_to_byte(cursor_char - typed)
}

/// The cursor's line split at the cursor (no line break in either part). A cursor
/// between a `\r` and its `\n` is at the line's end.
pub(crate) fn line_around(rope: &Rope, cursor: usize) -> (String, String) {
    let cursor = floor_char(rope, cursor);
    let line = rope.byte_to_line(cursor);
    let start = rope.line_to_byte(line);
    let end = line_end(rope, cursor);
    let cursor = cursor.min(end);
    (rope.byte_slice(start..cursor).to_string(), rope.byte_slice(cursor..end).to_string())
}

/// The byte offset of the line break ending `byte`'s line (or the text's end).
pub(crate) fn line_end(rope: &Rope, byte: usize) -> usize {
    let line = rope.byte_to_line(byte.min(rope.len_bytes()));
    let next = if line + 1 < rope.len_lines() { rope.line_to_byte(line + 1) } else { rope.len_bytes() };
    let start = rope.line_to_byte(line);
    let mut end = next;
    while end > start && matches!(rope.byte(end - 1), b'\n' | b'\r') {
        end -= 1;
    }
    end
}

/// The largest char boundary at or before `byte` (clamped to the text).
pub fn floor_char(rope: &Rope, byte: usize) -> usize {
    rope.char_to_byte(rope.byte_to_char(byte.min(rope.len_bytes())))
}

/// The smallest char boundary at or after `byte` (clamped to the text).
pub fn ceil_char(rope: &Rope, byte: usize) -> usize {
    let byte = byte.min(rope.len_bytes());
    let floor = floor_char(rope, byte);
    if floor == byte {
        byte
    } else {
        rope.char_to_byte(rope.byte_to_char(floor) + 1)
    }
}

/// Whether the bytes of `rope` from `start` are `text` (false when they run past the end).
pub(crate) fn slice_equals(rope: &Rope, start: usize, text: &str) -> bool {
    let Some(end) = start.checked_add(text.len()).filter(|&end| end <= rope.len_bytes()) else {
        return false;
    };
    if text.is_empty() {
        return true;
    }
    // Compare chunk by chunk: no copy of the slice.
    let (chunks, chunk_start, _, _) = rope.chunks_at_byte(start);
    let mut at = chunk_start;
    let mut rest = text.as_bytes();
    for chunk in chunks {
        let bytes = chunk.as_bytes();
        let from = start.saturating_sub(at).min(bytes.len());
        let take = (bytes.len() - from).min(rest.len());
        if bytes[from..from + take] != rest[..take] {
            return false;
        }
        rest = &rest[take..];
        at += bytes.len();
        if rest.is_empty() || at >= end {
            break;
        }
    }
    rest.is_empty()
}

/// A hash of the bytes `range` of `rope` (`None` when the range is out of bounds).
pub(crate) fn hash_slice(rope: &Rope, range: std::ops::Range<usize>) -> Option<u64> {
    use std::hash::Hasher;
    let mut hasher = std::hash::DefaultHasher::new();
    for chunk in rope.get_byte_slice(range)?.chunks() {
        hasher.write(chunk.as_bytes());
    }
    Some(hasher.finish())
}

/// The largest char boundary of `text` at or before `byte`.
pub(crate) fn floor_char_str(text: &str, byte: usize) -> usize {
    let mut byte = byte.min(text.len());
    while !text.is_char_boundary(byte) {
        byte -= 1;
    }
    byte
}

/// The smallest char boundary of `text` at or after `byte` (clamped to its end).
pub fn ceil_char_str(text: &str, byte: usize) -> usize {
    (byte.min(text.len())..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len())
}

/// Indentation width in columns.
pub(crate) fn indent_columns(line: &str) -> usize {
    line.chars().take_while(|c| *c == ' ' || *c == '\t').map(|c| if c == '\t' { TAB_COLUMNS } else { 1 }).sum()
}

/// Whether a line holds only whitespace.
pub(crate) fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Lines looked at to tell a file's indentation style.
const STYLE_LINES: usize = 200;

/// How a file indents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndentStyle {
    /// One tab per level.
    Tabs,
    /// This many spaces per level.
    Spaces(usize),
}

impl IndentStyle {
    /// The style of the lines around `near` (a byte offset): tabs when more lines
    /// start with a tab than with spaces; the space unit is the most common step
    /// between consecutive indentation widths (4 when nothing says otherwise).
    pub fn detect(rope: &Rope, near: usize) -> IndentStyle {
        let line = rope.byte_to_line(near.min(rope.len_bytes()));
        let first = line.saturating_sub(STYLE_LINES / 2);
        let last = (first + STYLE_LINES).min(rope.len_lines());
        let (mut tabs, mut spaces) = (0usize, 0usize);
        let mut steps = [0usize; 9];
        let mut previous = 0usize;
        for line in (first..last).map(|l| rope.line(l)) {
            let first = line.chars().next();
            if first == Some('\t') {
                tabs += 1;
                continue;
            }
            if line.chars().all(char::is_whitespace) {
                continue;
            }
            let width = line.chars().take_while(|c| *c == ' ').count();
            if width > 0 {
                spaces += 1;
            }
            let step = width.abs_diff(previous);
            if (1..steps.len()).contains(&step) {
                steps[step] += 1;
            }
            previous = width;
        }
        if tabs > spaces {
            return IndentStyle::Tabs;
        }
        let unit = (2..steps.len()).max_by_key(|&s| (steps[s], s == 4)).filter(|&s| steps[s] > 0).unwrap_or(4);
        IndentStyle::Spaces(unit)
    }

    /// The indentation of the line after `line` (its text up to the cursor): the same,
    /// one level of this style more after a line that opens a block in `language`.
    pub fn next_line(self, line: &str, language: Language) -> String {
        let mut indent: String = line.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
        if language.opens_block(line) {
            match self {
                IndentStyle::Tabs => indent.push('\t'),
                IndentStyle::Spaces(n) => indent.extend(std::iter::repeat_n(' ', n)),
            }
        }
        indent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_line_is_split_at_the_cursor() {
        let rope = Rope::from_str("ab\r\ncd ef\r\ngh");
        assert_eq!(line_around(&rope, 7), ("cd ".to_owned(), "ef".to_owned()));
        assert_eq!(line_around(&rope, 2), ("ab".to_owned(), String::new()));
        assert_eq!(line_around(&rope, 99), ("gh".to_owned(), String::new()));
        assert_eq!(line_end(&rope, 5), 9);
    }

    /// Found by the random-text robustness test: a cursor between `\r` and `\n`
    /// sliced the line backwards and panicked.
    #[test]
    fn a_cursor_inside_a_crlf_is_at_the_line_end() {
        let rope = Rope::from_str("ab\r\ncd");
        assert_eq!(line_around(&rope, 3), ("ab".to_owned(), String::new()));
    }

    #[test]
    fn the_next_line_keeps_the_indentation_or_opens_a_block() {
        let next = |line, style| IndentStyle::next_line(style, line, Language::PYTHON);
        assert_eq!(next("    x = 1", IndentStyle::Spaces(4)), "    ");
        assert_eq!(next("    if x:", IndentStyle::Spaces(4)), "        ");
        assert_eq!(IndentStyle::Tabs.next_line("\tfn f() {", Language::RUST), "\t\t");
        assert_eq!(next("y", IndentStyle::Spaces(4)), "");
        assert_eq!(next("if x:", IndentStyle::Spaces(2)), "  ", "the file's own unit");
        assert_eq!(IndentStyle::Spaces(4).next_line("match x:", Language::RUST), "", "`:` opens no Rust block");
    }

    #[test]
    fn the_word_before_the_cursor_is_found() {
        let rope = ropey::Rope::from_str("let café_2 = x");
        assert_eq!(word_start(&rope, 11), 4); // after "café_2"
        assert_eq!(word_start(&rope, 4), 4); // after a space
        assert_eq!(word_start(&rope, 0), 0);
        assert_eq!(word_start(&rope, 999), 14); // clamped to the end, after "x"
    }

    #[test]
    fn char_boundaries_round_down_and_up() {
        let rope = Rope::from_str("aé");
        assert_eq!((floor_char(&rope, 2), ceil_char(&rope, 2)), (1, 3));
        assert_eq!((floor_char(&rope, 1), ceil_char(&rope, 1)), (1, 1));
        assert_eq!((floor_char(&rope, 9), ceil_char(&rope, 9)), (3, 3));
        assert_eq!((floor_char_str("aé", 2), ceil_char_str("aé", 2), ceil_char_str("aé", 9)), (1, 3, 3));
    }

    #[test]
    fn indentation_styles_are_detected() {
        assert_eq!(IndentStyle::detect(&Rope::from_str("a:\n\tb\n\t\tc\n"), 0), IndentStyle::Tabs);
        assert_eq!(IndentStyle::detect(&Rope::from_str("a:\n  b\n    c\n  d\n"), 0), IndentStyle::Spaces(2));
        assert_eq!(IndentStyle::detect(&Rope::from_str("a\n    b\n        c\n"), 0), IndentStyle::Spaces(4));
        assert_eq!(IndentStyle::detect(&Rope::from_str(""), 0), IndentStyle::Spaces(4));
    }
}
