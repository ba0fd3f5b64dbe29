//! A first, plain answer to "what kind of completion fits here, and when is it done":
//! nothing mid-identifier, one line after code on the line, a block on an empty line
//! or after a line that opens one. The syntax-aware version (tree-sitter) replaces
//! this in the context crate.

/// The kind of completion the cursor calls for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Do not ask the model: the cursor is inside a word.
    Nothing,
    /// Finish the current line.
    SingleLine,
    /// Write lines, indented at least `indent` columns, until the block ends.
    MultiLine {
        /// Indentation of the block being written.
        indent: usize,
    },
}

/// Decides the shape from the current line around the cursor.
pub fn decide(line_before: &str, line_after: &str) -> Shape {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    if line_before.chars().last().is_some_and(word) && line_after.chars().next().is_some_and(word) {
        return Shape::Nothing;
    }
    let code = line_before.trim_end();
    if code.trim_start().is_empty() {
        return Shape::MultiLine { indent: indent_width(line_before) };
    }
    if line_after.trim().is_empty() && code.ends_with([':', '{', '(', '[']) {
        return Shape::MultiLine { indent: indent_width(line_before) + 1 };
    }
    Shape::SingleLine
}

/// Columns of leading whitespace (a tab counts as one: only comparisons matter).
fn indent_width(line: &str) -> usize {
    line.chars().take_while(|c| *c == ' ' || *c == '\t').count()
}

/// Where `text`, generated at a cursor of this shape, is complete: the byte length to
/// keep, once it is known (`None`: keep generating).
pub fn complete_at(shape: Shape, text: &str) -> Option<usize> {
    match shape {
        Shape::Nothing => Some(0),
        Shape::SingleLine => text.find('\n'),
        Shape::MultiLine { indent } => {
            let mut offset = 0;
            let mut seen_code = false;
            for line in text.split_inclusive('\n') {
                if !line.ends_with('\n') {
                    break; // the last line is still being written
                }
                let body = line.trim_end();
                if body.trim().is_empty() {
                    if seen_code && text[offset + line.len()..].starts_with('\n') {
                        return Some(offset); // a blank line after code: the block is done
                    }
                } else {
                    // The first line continues the cursor's line: its indentation is there already.
                    let width = if offset == 0 { indent } else { indent_width(body) };
                    if seen_code && width < indent {
                        return Some(offset);
                    }
                    seen_code = true;
                }
                offset += line.len();
            }
            None
        }
    }
}

/// The suggestion to show: cut where complete, without trailing whitespace.
pub fn finish(shape: Shape, text: &str) -> String {
    let end = complete_at(shape, text).unwrap_or(text.len());
    text[..end].trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_the_line() {
        assert_eq!(decide("    let val", "ue = 1;"), Shape::Nothing);
        assert_eq!(decide("    ", ""), Shape::MultiLine { indent: 4 });
        assert_eq!(decide("def f(x):", ""), Shape::MultiLine { indent: 1 });
        assert_eq!(decide("    x = foo(", ")"), Shape::SingleLine);
        assert_eq!(decide("let x = ", ""), Shape::SingleLine);
    }

    #[test]
    fn single_lines_end_at_the_line_end() {
        assert_eq!(complete_at(Shape::SingleLine, "a + b"), None);
        assert_eq!(finish(Shape::SingleLine, "a + b  \nc"), "a + b");
    }

    #[test]
    fn blocks_end_when_the_indentation_falls_back() {
        let shape = Shape::MultiLine { indent: 4 };
        let text = "total = 0\n    for x in xs:\n        total += x\n    return total\n\ndef other():\n";
        assert_eq!(finish(shape, text), "total = 0\n    for x in xs:\n        total += x\n    return total");
        assert_eq!(complete_at(shape, "total = 0\n    for x"), None, "still writing");
        let text = "x = 1\n    y = 2\nprint(y)\n";
        assert_eq!(finish(shape, text), "x = 1\n    y = 2");
    }
}
