//! What kind of completion fits the cursor, decided before the model runs: nothing
//! (mid-identifier), one line (inside an expression, a string or a comment, or after
//! code on the line) or a block (on an empty line in a block, or after a line that
//! opens one). The decision travels with the request and drives post-processing.

use ropey::Rope;
use tree_sitter::{Node, Tree};

use crate::brackets::LexState;
use crate::language::Language;
use crate::text::{indent_columns, is_blank, is_word, line_around};

/// The kind of completion the cursor calls for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Do not ask the model.
    Nothing,
    /// Finish the current line.
    SingleLine,
    /// Write lines until the block ends; its lines are indented at least `indent`
    /// columns (a tab counts 4).
    MultiLine {
        /// Indentation of the block being written.
        indent: usize,
    },
}

/// A shape and why it was chosen (shown by `infill-ls prompt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShapeDecision {
    /// The shape.
    pub shape: Shape,
    /// Why, in a few words.
    pub reason: &'static str,
}

impl std::fmt::Display for ShapeDecision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.shape {
            Shape::Nothing => write!(f, "nothing ({})", self.reason),
            Shape::SingleLine => write!(f, "single-line ({})", self.reason),
            Shape::MultiLine { indent } => write!(f, "multi-line, indent {indent} ({})", self.reason),
        }
    }
}

/// Decides the shape for a cursor (a byte offset) in `rope`. `tree` is the buffer's
/// syntax tree when it has one; text rules decide without it.
pub fn decide(rope: &Rope, cursor: usize, language: Language, tree: Option<&Tree>) -> ShapeDecision {
    let (before, after) = line_around(rope, cursor);
    let decision = |shape, reason| ShapeDecision { shape, reason };
    if before.chars().last().is_some_and(is_word) && after.chars().next().is_some_and(is_word) {
        return decision(Shape::Nothing, "inside an identifier");
    }
    if let Some(tree) = tree {
        if let Some(reason) = inside_string_or_comment(language, tree, cursor) {
            return decision(Shape::SingleLine, reason);
        }
    }
    // Without a tree, or where the tree sees only an error: the line's own text says.
    match crate::brackets::state_after(language, &before) {
        LexState::Str { .. } => return decision(Shape::SingleLine, "inside a string"),
        LexState::LineComment | LexState::BlockComment { .. } => {
            return decision(Shape::SingleLine, "inside a comment")
        }
        LexState::Code => {}
    }
    if !is_blank(&after) {
        return decision(Shape::SingleLine, "text after the cursor");
    }
    if is_blank(&before) {
        if tree.is_some_and(|tree| inside_list(language, tree, cursor)) {
            return decision(Shape::SingleLine, "a new line inside brackets");
        }
        return decision(Shape::MultiLine { indent: indent_columns(&before) }, "an empty line in a block");
    }
    if language.opens_block(&before) {
        return decision(Shape::MultiLine { indent: indent_columns(&before) + 1 }, "the line opens a block");
    }
    decision(Shape::SingleLine, "the end of a line of code")
}

/// The innermost named node around `cursor` (the one before it at a boundary).
fn node_at(tree: &Tree, cursor: usize) -> Node<'_> {
    let root = tree.root_node();
    root.descendant_for_byte_range(cursor.saturating_sub(1), cursor).unwrap_or(root)
}

fn inside_string_or_comment(language: Language, tree: &Tree, cursor: usize) -> Option<&'static str> {
    let kinds = &language.spec().kinds;
    let mut node = Some(node_at(tree, cursor));
    while let Some(n) = node {
        let kind = n.kind();
        // A comment runs to its line's end: typing at that end is typing the comment.
        if kinds.comments.contains(&kind) && n.start_byte() < cursor && cursor <= n.end_byte() {
            return Some("inside a comment");
        }
        if kinds.strings.contains(&kind)
            && n.start_byte() < cursor
            && (cursor < n.end_byte() || n.has_error() || n.is_missing())
        {
            return Some("inside a string");
        }
        if kinds.blocks.contains(&kind) {
            return None;
        }
        node = n.parent();
    }
    None
}

fn inside_list(language: Language, tree: &Tree, cursor: usize) -> bool {
    let kinds = &language.spec().kinds;
    let mut node = Some(tree.root_node().descendant_for_byte_range(cursor, cursor).unwrap_or(tree.root_node()));
    while let Some(n) = node {
        if n.start_byte() < cursor && cursor < n.end_byte() {
            if kinds.lists.iter().any(|group| group.contains(&n.kind())) {
                return true;
            }
            if kinds.blocks.contains(&n.kind()) {
                return false;
            }
        }
        node = n.parent();
    }
    false
}
