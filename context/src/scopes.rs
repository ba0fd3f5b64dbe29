//! The header lines of the scopes around the cursor (`impl`, `fn`, `class`, `def`
//! lines and the like, as each grammar's `scopes.scm` names them), so a prompt cut by
//! its budget still says where the cursor is.

use ropey::Rope;
use tree_sitter::Tree;

use crate::language::Language;
use crate::text::{indent_columns, is_blank};

/// Most lines one header may take (long signatures keep their first and last lines).
const MAX_HEADER_LINES: usize = 4;
/// How far back the text rule looks for less-indented lines.
const MAX_LINES_BACK: usize = 5000;

/// Header lines (each ending in a line break) of the scopes that enclose `cut` (the
/// first byte the prompt keeps) and begin before it, outermost first.
pub(crate) fn headers(rope: &Rope, language: Language, tree: Option<&Tree>, cut: usize) -> Vec<String> {
    if cut == 0 {
        return Vec::new();
    }
    let cut_line = rope.byte_to_line(cut);
    let ranges = match tree {
        Some(tree) => from_tree(rope, language, tree, cut_line),
        None => from_indentation(rope, cut_line),
    };
    ranges
        .into_iter()
        .flat_map(|(first, last)| {
            let lines: Vec<usize> = if last - first < MAX_HEADER_LINES {
                (first..=last).collect()
            } else {
                (first..first + MAX_HEADER_LINES - 1).chain(std::iter::once(last)).collect()
            };
            lines.into_iter().map(|l| line_text(rope, l))
        })
        .collect()
}

fn line_text(rope: &Rope, line: usize) -> String {
    let mut text = rope.line(line).to_string();
    while text.ends_with(['\n', '\r']) {
        text.pop();
    }
    text.push('\n');
    text
}

/// (first, last) header lines of the scope nodes that enclose the first kept line
/// and start above it. They depend on the cut only, not on the cursor, so they stay the
/// same while the user types below the cut (the prompt's start, and the model's cached
/// keys and values, do not move).
fn from_tree(rope: &Rope, language: Language, tree: &Tree, cut_line: usize) -> Vec<(usize, usize)> {
    let root = tree.root_node();
    let line = rope.line(cut_line).to_string();
    let indent = line.len() - line.trim_start().len();
    let at = rope.line_to_byte(cut_line) + indent;
    let mut node = root.descendant_for_byte_range(at, at);
    let mut ranges = Vec::new();
    while let Some(n) = node {
        let first = n.start_position().row;
        if first < cut_line {
            // The grammar's `scopes.scm` says whether this is a scope and where its header ends.
            if let Some(header_end) = crate::queries::scope_header_end(language, n, rope) {
                ranges.push((first, header_end.clamp(first, cut_line - 1)));
            }
        }
        node = n.parent();
    }
    ranges.reverse();
    // A decorated definition and its inner function share lines: keep distinct ones.
    ranges.dedup_by(|b, a| b.0 <= a.1);
    ranges
}

/// Without a tree: the nearest line above the cut with less indentation than the
/// first kept line, then the nearest with less than that, and so on.
fn from_indentation(rope: &Rope, cut_line: usize) -> Vec<(usize, usize)> {
    let first_kept = (cut_line..rope.len_lines()).map(|l| rope.line(l).to_string()).find(|l| !is_blank(l));
    let Some(mut level) = first_kept.map(|l| indent_columns(&l)) else { return Vec::new() };
    let mut ranges = Vec::new();
    let lowest = cut_line.saturating_sub(MAX_LINES_BACK);
    for line in (lowest..cut_line).rev() {
        if level == 0 {
            break;
        }
        let text = rope.line(line).to_string();
        if is_blank(&text) {
            continue;
        }
        let width = indent_columns(&text);
        if width < level {
            ranges.push((line, line));
            level = width;
        }
    }
    ranges.reverse();
    ranges
}
