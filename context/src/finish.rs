//! Post-processing of the model's answer, run while tokens stream (it is the engine's
//! stop check, so generation ends as soon as the answer is complete) and once more on
//! the final text. It cuts where the completion is done, removes what the text after
//! the cursor already has, and tidies what is left.

use ropey::Rope;

use crate::brackets::{self, closer_of, opener_of, LexState, Token};
use crate::language::Language;
use crate::shape::Shape;
use crate::text::{indent_columns, is_blank, line_around, IndentStyle};

/// Non-blank lines after the cursor's line kept to recognise an answer that repeats them.
const NEXT_LINES: usize = 4;
/// A line shorter than this (trimmed) is too common to count as a repetition.
const MIN_REPEAT_CHARS: usize = 4;

/// Decides where an answer ends and what the editor shows, for one request.
#[derive(Clone, Debug)]
pub struct Finisher {
    language: Language,
    shape: Shape,
    start: LexState,
    line_before: String,
    line_after: String,
    next_lines: Vec<String>,
    /// The first bracket after the cursor that closes one opened before it.
    suffix_closer: Option<char>,
    indent_style: IndentStyle,
}

/// Bytes after the cursor searched for the bracket that closes the enclosing block.
const SUFFIX_SCAN_BYTES: usize = 8 * 1024;

/// How a scan of the answer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// Keep this many bytes; the answer is complete.
    At(usize),
    /// Not complete yet.
    Open,
}

impl Finisher {
    /// A finisher for an answer at `cursor` (a byte offset) in `rope`.
    pub fn new(rope: &Rope, cursor: usize, language: Language, shape: Shape, indent_style: IndentStyle) -> Finisher {
        let (line_before, line_after) = line_around(rope, cursor);
        let first_next = rope.byte_to_line(cursor.min(rope.len_bytes())) + 1;
        let next_lines = (first_next..rope.len_lines())
            .map(|l| rope.line(l).to_string())
            .filter(|l| !is_blank(l))
            .take(NEXT_LINES)
            .map(|l| l.trim().to_owned())
            .collect();
        let start = brackets::state_after(language, &line_before);
        let cursor = crate::text::floor_char(rope, cursor);
        let scan_end = crate::text::floor_char(rope, cursor + SUFFIX_SCAN_BYTES);
        let suffix = rope.byte_slice(cursor..scan_end).to_string();
        let suffix_closer = first_unmatched_closer(language, start, &suffix);
        Finisher { language, shape, start, line_before, line_after, next_lines, suffix_closer, indent_style }
    }

    /// The shape this finisher applies.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// The stop check: whether `text`, the answer so far, is complete.
    pub fn is_complete(&self, text: &str) -> bool {
        matches!(self.scan(text, false), End::At(_))
    }

    /// What the editor shows for the model's whole answer `text` (empty: show nothing).
    pub fn finish(&self, text: &str) -> String {
        self.finish_with(text, false)
    }

    /// Like [`Finisher::finish`], for an answer the engine cut off (token limit, time
    /// budget) rather than one that ended: a block's unfinished last line is dropped.
    pub fn finish_cut_off(&self, text: &str) -> String {
        self.finish_with(text, true)
    }

    fn finish_with(&self, text: &str, cut_off: bool) -> String {
        if self.shape == Shape::Nothing {
            return String::new();
        }
        let mut text = text;
        if cut_off && matches!(self.shape, Shape::MultiLine { .. }) {
            if let Some(last_break) = text.trim_end_matches([' ', '\t']).rfind('\n') {
                if !text.ends_with('\n') {
                    text = &text[..last_break + 1];
                }
            }
        }
        let mut text = match self.scan(text, true) {
            End::At(end) => text[..end].to_owned(),
            End::Open => text.to_owned(),
        };
        text = trim_lines(&text);
        if self.shape == Shape::SingleLine {
            text = self.drop_suffix_overlap(text);
        }
        text = self.cut_unclosed(text);
        text = trim_lines(&text);
        if self.repeats_next_line(&text) {
            return String::new();
        }
        let text = self.reindent(&text);
        if text.trim().is_empty() {
            String::new()
        } else {
            text
        }
    }

    /// Where the answer is complete. `last` treats a last line without a break as whole.
    fn scan(&self, text: &str, last: bool) -> End {
        match self.shape {
            Shape::Nothing => End::At(0),
            Shape::SingleLine => self.scan_line(text, last),
            Shape::MultiLine { indent } => self.scan_block(text, indent, last),
        }
    }

    fn scan_line(&self, text: &str, last: bool) -> End {
        let line_end = text.find('\n');
        let first_line = &text[..line_end.unwrap_or(text.len())];
        if let Some(at) = self.closes_what_the_suffix_has(first_line, &self.line_after) {
            return End::At(at);
        }
        match line_end {
            Some(end) => End::At(end),
            None if last => End::At(text.len()),
            None => End::Open,
        }
    }

    /// The first bracket or quote in `text` that closes one opened before the cursor
    /// while `after` (the text after the cursor) starts with that same closer.
    fn closes_what_the_suffix_has(&self, text: &str, after: &str) -> Option<usize> {
        let after = after.trim_start();
        let (events, _) = brackets::lex(self.language, self.start, text);
        let mut own = Vec::new();
        for event in events {
            match event {
                Token::Open(c, _) => own.push(c),
                Token::Close(c, at) => {
                    if own.last() == Some(&opener_of(c)) {
                        own.pop();
                    } else if own.is_empty() && after.starts_with(c) {
                        return Some(at);
                    }
                }
                Token::CloseOuterString(at) => {
                    let quote = text[at..].chars().next();
                    if own.is_empty() && quote.is_some_and(|q| after.starts_with(q)) {
                        return Some(at);
                    }
                }
            }
        }
        None
    }

    fn scan_block(&self, text: &str, indent: usize, last: bool) -> End {
        let (events, _) = brackets::lex(self.language, self.start, text);
        let mut events = events.into_iter().peekable();
        let mut own: Vec<char> = Vec::new();
        let mut offset = 0;
        let mut seen_code = false;
        let mut seen_nested = false;
        let mut blank_before = false;
        let mut lines: Vec<(&str, usize)> = Vec::new();
        for (index, line) in text.split_inclusive('\n').enumerate() {
            let whole = line.ends_with('\n') || last;
            if !whole {
                break;
            }
            let body = line.trim_end();
            let line_end = offset + line.len();
            // Brackets on this line: one that closes the enclosing block ends the answer.
            while let Some(event) = events.next_if(|e| token_at(e) < line_end) {
                match event {
                    Token::Open(c, _) => own.push(c),
                    Token::Close(c, _) if own.last() == Some(&opener_of(c)) => {
                        own.pop();
                    }
                    Token::Close(c, at) if own.is_empty() && !self.language.indentation_blocks() => {
                        if self.suffix_closer != Some(c) {
                            return End::At(offset + body.len()); // the answer closes the block itself
                        }
                        let before_close = &text[offset..at];
                        return End::At(if is_blank(before_close) { offset } else { at });
                    }
                    _ => {}
                }
            }
            if is_blank(body) {
                let rest = &text[line_end..];
                if seen_code && (rest.starts_with('\n') || rest.starts_with("\r\n")) {
                    return End::At(offset); // two blank lines: the block is done
                }
                blank_before = seen_code;
                offset = line_end;
                continue;
            }
            let width = if index == 0 { indent_columns(&self.line_before) } else { indent_columns(body) };
            if index > 0 && seen_code {
                if width < indent {
                    return End::At(offset); // the indentation fell back below the block
                }
                let starts_with_closer = body.trim_start().starts_with([')', ']', '}']);
                if indent == 0 && width == 0 && seen_nested && blank_before && !starts_with_closer {
                    return End::At(offset); // a second top-level item begins
                }
                if self.next_lines.first().is_some_and(|next| next.len() >= MIN_REPEAT_CHARS && body.trim() == next) {
                    return End::At(offset); // the answer runs into the lines after the cursor
                }
                lines.push((body.trim(), offset));
                if let Some(at) = repetition(&lines) {
                    return End::At(at);
                }
                lines.pop();
            }
            if index > 0 && width > indent {
                seen_nested = true;
            }
            seen_code = true;
            blank_before = false;
            lines.push((body.trim(), offset));
            offset = line_end;
        }
        if last {
            End::At(text.len())
        } else {
            End::Open
        }
    }

    /// Single-line answers: drop an ending that the text after the cursor already has.
    fn drop_suffix_overlap(&self, text: String) -> String {
        let after = self.line_after.trim();
        if after.is_empty() {
            return text;
        }
        let trimmed = text.trim_end();
        if let Some(stripped) = trimmed.strip_suffix(after) {
            return stripped.to_owned();
        }
        text
    }

    /// Cuts before brackets the answer opens and never closes (a line-final opener,
    /// which starts a block or a continued line, is kept).
    fn cut_unclosed(&self, text: String) -> String {
        let (events, _) = brackets::lex(self.language, self.start, &text);
        let mut open: Vec<(char, usize)> = Vec::new();
        for event in events {
            match event {
                Token::Open(c, at) => open.push((c, at)),
                Token::Close(c, _) if open.last().is_some_and(|(o, _)| *o == opener_of(c)) => {
                    open.pop();
                }
                _ => {}
            }
        }
        let Some(&(first, at)) = open.first() else { return text };
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let last_line_start = text.trim_end().rfind('\n').map_or(0, |i| i + 1);
        let only_the_last_opener = open.len() == 1 && text[at + 1..].trim().is_empty();
        if only_the_last_opener && (line_start == last_line_start || closer_of(first) == '}') {
            return text;
        }
        if line_start > 0 {
            text[..line_start].to_owned()
        } else {
            text[..at].to_owned()
        }
    }

    /// Whether the answer is only a copy of the next line of the file.
    fn repeats_next_line(&self, text: &str) -> bool {
        is_blank(&self.line_before) && self.next_lines.first().is_some_and(|next| text.trim() == next)
    }

    /// Lines after the first, in the file's indentation style.
    fn reindent(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for (index, line) in text.split_inclusive('\n').enumerate() {
            if index == 0 {
                out.push_str(line);
                continue;
            }
            let lead = line.len() - line.trim_start_matches([' ', '\t']).len();
            let (indent, rest) = line.split_at(lead);
            match self.indent_style {
                IndentStyle::Tabs if indent.contains(' ') => {
                    let columns = indent_columns(indent);
                    out.push_str(&"\t".repeat(columns / crate::text::TAB_COLUMNS));
                    out.push_str(&" ".repeat(columns % crate::text::TAB_COLUMNS));
                }
                IndentStyle::Spaces(unit) if indent.contains('\t') => {
                    for c in indent.chars() {
                        if c == '\t' {
                            out.push_str(&" ".repeat(unit));
                        } else {
                            out.push(c);
                        }
                    }
                }
                _ => out.push_str(indent),
            }
            out.push_str(rest);
        }
        out
    }
}

/// The first closer in `text` without an opener before it in `text`.
fn first_unmatched_closer(language: Language, start: LexState, text: &str) -> Option<char> {
    let mut depth: Vec<char> = Vec::new();
    for event in brackets::lex(language, start, text).0 {
        match event {
            Token::Open(c, _) => depth.push(c),
            Token::Close(c, _) => {
                if depth.pop().is_none() {
                    return Some(c);
                }
            }
            Token::CloseOuterString(_) => {}
        }
    }
    None
}

fn token_at(token: &Token) -> usize {
    match *token {
        Token::Open(_, at) | Token::Close(_, at) | Token::CloseOuterString(at) => at,
    }
}

/// When the lines so far end in a repetition: one line three times in a row, or a
/// run of two or three lines twice. Returns the byte offset where the repetition's
/// second copy began (to cut there). `lines` holds non-blank lines and their offsets.
fn repetition(lines: &[(&str, usize)]) -> Option<usize> {
    let n = lines.len();
    for period in 1..=3usize {
        let copies = if period == 1 { 3 } else { 2 };
        if n < period * copies {
            continue;
        }
        let tail = &lines[n - period..];
        let chars: usize = tail.iter().map(|(l, _)| l.len()).sum();
        if chars < MIN_REPEAT_CHARS * period || tail.iter().all(|(l, _)| l.chars().all(|c| "()[]{};,".contains(c))) {
            continue;
        }
        let same = |a: &[(&str, usize)], b: &[(&str, usize)]| a.iter().zip(b).all(|(x, y)| x.0 == y.0);
        if (1..copies).all(|k| same(&lines[n - period * (k + 1)..n - period * k], tail)) {
            return Some(lines[n - period * (copies - 1)].1);
        }
    }
    None
}

/// Removes trailing whitespace on every line and trailing blank lines.
fn trim_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let has_break = line.ends_with('\n');
        out.push_str(line.trim_end());
        if has_break {
            out.push('\n');
        }
    }
    out.trim_end().to_owned()
}
