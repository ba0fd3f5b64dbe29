//! A small lexer that finds the brackets of code outside strings and comments, for
//! post-processing text the model wrote (which is usually not parseable on its own).
//! Written here because a syntax tree of a fragment cannot say which of its brackets
//! are unmatched; tree-sitter would see errors, not brackets.

use crate::language::Language;

/// Where the lexer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LexState {
    /// In code.
    Code,
    /// In a string opened by `quote` (`triple`: Python's `"""`/`'''`).
    Str { quote: char, triple: bool },
    /// In a line comment.
    LineComment,
    /// In a block comment (`depth` counts nesting, where comments nest).
    BlockComment { depth: usize },
}

/// A bracket or quote event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    /// `(`, `[` or `{` at a byte offset.
    Open(char, usize),
    /// `)`, `]` or `}` at a byte offset.
    Close(char, usize),
    /// A string closed at a byte offset (its closing quote's), having opened before the text began.
    CloseOuterString(usize),
}

/// The opener `close` matches.
pub(crate) fn opener_of(close: char) -> char {
    match close {
        ')' => '(',
        ']' => '[',
        _ => '{',
    }
}

/// The closer `open` needs.
pub(crate) fn closer_of(open: char) -> char {
    match open {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

/// Lexes `text` starting in `state`, returning the events and the final state.
pub(crate) fn lex(language: Language, mut state: LexState, text: &str) -> (Vec<Token>, LexState) {
    let lexical = &language.spec().lexical;
    let mut events = Vec::new();
    let bytes = text.as_bytes();
    let started_in_string = matches!(state, LexState::Str { .. });
    let mut closed_outer = false;
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        let Some(c) = rest.chars().next() else { break };
        let width = c.len_utf8();
        match state {
            LexState::Code => {
                if let Some(marker) = lexical.line_comments.iter().find(|m| rest.starts_with(**m)) {
                    state = LexState::LineComment;
                    i += marker.len();
                    continue;
                }
                if let Some((open, _)) = lexical.block_comment.filter(|(open, _)| rest.starts_with(open)) {
                    state = LexState::BlockComment { depth: 1 };
                    i += open.len();
                    continue;
                }
                match c {
                    '(' | '[' | '{' => events.push(Token::Open(c, i)),
                    ')' | ']' | '}' => events.push(Token::Close(c, i)),
                    '\'' if lexical.char_or_lifetime => {
                        // Rust: a char literal ('x', '\n', '\u{..}'), else a lifetime or label.
                        if let Some(len) = rust_char_literal(rest) {
                            i += len;
                            continue;
                        }
                    }
                    _ if lexical.quotes.contains(&c) => {
                        let triple = lexical.triple_quotes && rest.starts_with(&c.to_string().repeat(3));
                        state = LexState::Str { quote: c, triple };
                        i += if triple { 3 } else { 1 };
                        continue;
                    }
                    _ => {}
                }
                i += width;
            }
            LexState::Str { quote, triple } => {
                if c == '\\' {
                    i += 1 + rest[1..].chars().next().map_or(0, char::len_utf8);
                    continue;
                }
                if c == '\n' && !triple && lexical.strings_end_at_line_end {
                    state = LexState::Code; // an unterminated Python string ends at the line
                } else if c == quote && (!triple || rest.starts_with(&quote.to_string().repeat(3))) {
                    state = LexState::Code;
                    if started_in_string && !closed_outer {
                        closed_outer = true;
                        events.push(Token::CloseOuterString(i));
                    }
                    i += if triple { 3 } else { 1 };
                    continue;
                }
                i += width;
            }
            LexState::LineComment => {
                if c == '\n' {
                    state = LexState::Code;
                }
                i += width;
            }
            LexState::BlockComment { depth } => {
                let (open, close) = lexical.block_comment.unwrap_or(("/*", "*/"));
                if rest.starts_with(close) {
                    state = if depth <= 1 { LexState::Code } else { LexState::BlockComment { depth: depth - 1 } };
                    i += close.len();
                } else if lexical.nested_comments && rest.starts_with(open) {
                    state = LexState::BlockComment { depth: depth + 1 };
                    i += open.len();
                } else {
                    i += width;
                }
            }
        }
    }
    (events, state)
}

/// The length of a Rust char literal at the start of `text`, if one is there.
fn rust_char_literal(text: &str) -> Option<usize> {
    let mut chars = text.char_indices().skip(1);
    let (_, first) = chars.next()?;
    if first == '\\' {
        // '\n', '\'', '\x7f', '\u{1F600}': up to the closing quote, within a few chars.
        return text[1..].char_indices().skip(2).take(10).find(|(_, c)| *c == '\'').map(|(j, _)| j + 2);
    }
    let (j, second) = chars.next()?;
    (second == '\'' && first != '\'').then_some(j + 1)
}

/// The state at the end of `line_before` (the text of the cursor's line before it),
/// so a completion can be lexed as its continuation.
pub(crate) fn state_after(language: Language, line_before: &str) -> LexState {
    lex(language, LexState::Code, line_before).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let (events, state) = lex(Language::RUST, LexState::Code, "f(\"(\", '(', 'a) // (\n{");
        assert_eq!(events, vec![Token::Open('(', 1), Token::Close(')', 14), Token::Open('{', 21)]);
        assert_eq!(state, LexState::Code);
        let (events, _) = lex(Language::PYTHON, LexState::Code, "x = ')' + \"\"\"(\n)\"\"\" # (\n[");
        assert_eq!(events, vec![Token::Open('[', 24)]);
    }

    #[test]
    fn a_string_open_before_the_text_is_seen_closing() {
        let state = state_after(Language::PYTHON, "print(\"hello");
        assert_eq!(state, LexState::Str { quote: '"', triple: false });
        let (events, _) = lex(Language::PYTHON, state, " world\")");
        assert_eq!(events, vec![Token::CloseOuterString(6), Token::Close(')', 7)]);
    }
}
