//! Context from other open buffers: the definitions (signatures, struct and class
//! headers, a few lines each) of names used near the cursor and defined or imported
//! from elsewhere, and the regions of other buffers edited most recently. What counts
//! as a definition or an import is each grammar's `definitions.scm` and `imports.scm`.

use std::collections::HashSet;

use ropey::Rope;
use tree_sitter::{Node, Tree};

use crate::language::Language;
use crate::queries::Extent;
use crate::text::is_word;
use crate::PromptInput;

/// Lines above the cursor whose names are looked up.
const LINES_ABOVE: usize = 30;
/// Lines below the cursor whose names are looked up.
const LINES_BELOW: usize = 5;
/// Most definition snippets per prompt.
const MAX_DEFINITIONS: usize = 8;
/// Most lines of a struct, enum or class body shown.
const MAX_BODY_LINES: usize = 10;
/// Lines shown around a recent edit (before, after).
const EDIT_CONTEXT: (usize, usize) = (3, 6);
/// Most doc-comment and attribute lines shown above a definition.
const MAX_DOC_LINES: usize = 4;
/// Most recent-edit snippets per prompt.
const MAX_EDITS: usize = 3;
/// Lines of the current file scanned for imports.
const IMPORT_LINES: usize = 400;

/// Another open buffer (a snapshot: ropes and trees are cheap to clone).
#[derive(Clone)]
pub struct OtherFile {
    /// Its path as shown in prompts (relative to the repository when known).
    pub path: String,
    /// Its language.
    pub language: Language,
    /// Its text.
    pub rope: Rope,
    /// Its syntax tree, when parsed.
    pub tree: Option<Tree>,
    /// Byte offsets of its latest edits, most recent last.
    pub recent_edits: Vec<usize>,
}

/// Why a snippet was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnippetKind {
    /// The definition of a name used near the cursor.
    Definition(String),
    /// A region edited recently.
    RecentEdit,
}

/// A piece of another file for the prompt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snippet {
    /// The file's path.
    pub path: String,
    /// Whole lines, each ending in a line break.
    pub text: String,
    /// Why it was chosen.
    pub kind: SnippetKind,
    /// Its first line in the file (to order and merge snippets).
    pub line: usize,
}

/// Snippets for the input's cursor, best first. Its `others` should list the most
/// recently edited buffers first.
pub(crate) fn gather(input: &PromptInput<'_>) -> Vec<Snippet> {
    let others = input.others;
    let mut snippets = definitions(input);
    let mut seen: HashSet<(String, usize)> = snippets.iter().map(|s| (s.path.clone(), s.line)).collect();
    for other in others {
        if snippets.iter().filter(|s| s.kind == SnippetKind::RecentEdit).count() >= MAX_EDITS {
            break;
        }
        let Some(&edit) = other.recent_edits.last() else { continue };
        let line = other.rope.byte_to_line(edit.min(other.rope.len_bytes()));
        let first = line.saturating_sub(EDIT_CONTEXT.0);
        let last = (line + EDIT_CONTEXT.1).min(other.rope.len_lines().saturating_sub(1));
        if seen.insert((other.path.clone(), first)) {
            let text = lines(&other.rope, first, last);
            if !text.trim().is_empty() {
                snippets.push(Snippet { path: other.path.clone(), text, kind: SnippetKind::RecentEdit, line: first });
            }
        }
    }
    snippets
}

/// Lines `first..=last` of `rope`, without blank lines at either end.
fn lines(rope: &Rope, first: usize, last: usize) -> String {
    let mut out = String::new();
    for line in first..=last.min(rope.len_lines().saturating_sub(1)) {
        let text = rope.line(line).to_string();
        let text = text.trim_end_matches(['\n', '\r']);
        if out.is_empty() && text.trim().is_empty() {
            continue;
        }
        out.push_str(text);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// The first line of the doc comments and attributes right above `line` (lines that
/// start with one of the language's doc prefixes).
fn with_docs(rope: &Rope, language: Language, line: usize) -> usize {
    let mut first = line;
    while first > 0 && line - first < MAX_DOC_LINES {
        let above = rope.line(first - 1).to_string();
        let above = above.trim_start();
        if language.spec().doc_prefixes.iter().any(|p| above.starts_with(p)) {
            first -= 1;
        } else {
            break;
        }
    }
    first
}

fn definitions(input: &PromptInput<'_>) -> Vec<Snippet> {
    let PromptInput { rope, cursor, language, tree, others, .. } = *input;
    if others.iter().all(|o| o.tree.is_none()) {
        return Vec::new();
    }
    let names = names_near(rope, language, cursor);
    if names.is_empty() {
        return Vec::new();
    }
    let imported = tree.map(|t| imported_names(rope, language, t)).unwrap_or_default();
    let local: HashSet<String> =
        tree.map(|t| defined(rope, language, t).into_iter().map(|d| d.name).collect()).unwrap_or_default();
    let mut out = Vec::new();
    let indexes: Vec<(usize, Vec<Definition>)> = others
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.tree.as_ref().map(|t| (i, defined(&o.rope, o.language, t))))
        .collect();
    for name in names.iter().filter(|n| imported.contains(*n) || !local.contains(*n)) {
        for (i, defs) in &indexes {
            let other = &others[*i];
            for def in defs.iter().filter(|d| &d.name == name) {
                // A definition inside one already shown (a method of a class shown
                // whole) adds nothing; one that holds an earlier one replaces it.
                let inside = |s: &(Snippet, usize)| s.0.path == other.path && s.0.line <= def.first && def.last <= s.1;
                if out.iter().any(inside) {
                    continue;
                }
                out.retain(|s| !(s.0.path == other.path && def.first <= s.0.line && s.1 <= def.last));
                if out.len() < MAX_DEFINITIONS {
                    let snippet = Snippet {
                        path: other.path.clone(),
                        text: lines(&other.rope, def.first, def.last),
                        kind: SnippetKind::Definition(name.clone()),
                        line: def.first,
                    };
                    out.push((snippet, def.last));
                }
            }
        }
    }
    out.into_iter().map(|(snippet, _)| snippet).collect()
}

/// Identifiers near the cursor, nearest first, without the language's keywords.
fn names_near(rope: &Rope, language: Language, cursor: usize) -> Vec<String> {
    let keywords = language.spec().keywords;
    let line = rope.byte_to_line(cursor.min(rope.len_bytes()));
    let first = line.saturating_sub(LINES_ABOVE);
    let last = (line + LINES_BELOW).min(rope.len_lines().saturating_sub(1));
    let mut order: Vec<(usize, String)> = Vec::new();
    let mut seen = HashSet::new();
    for l in first..=last {
        for word in identifiers(&rope.line(l).to_string()) {
            if !keywords.contains(&word.as_str()) && seen.insert(word.clone()) {
                order.push((l.abs_diff(line), word));
            }
        }
    }
    order.sort_by_key(|(distance, _)| *distance);
    order.into_iter().map(|(_, w)| w).collect()
}

fn identifiers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if is_word(c) {
            current.push(c);
        } else {
            if current.len() > 1 && !current.starts_with(|c: char| c.is_ascii_digit()) {
                out.push(std::mem::take(&mut current));
            }
            current.clear();
        }
    }
    out
}

/// Names brought in by the file's imports (the nodes its grammar's `imports.scm` marks
/// among the top-level ones in its first lines).
fn imported_names(rope: &Rope, language: Language, tree: &Tree) -> HashSet<String> {
    let keywords = language.spec().keywords;
    let mut names = HashSet::new();
    let root = tree.root_node();
    let mut cursor = root.walk();
    for child in root.named_children(&mut cursor) {
        if child.start_position().row >= IMPORT_LINES {
            break;
        }
        if crate::queries::is_import(language, child, rope) {
            let Some(text) = rope.get_byte_slice(child.byte_range()) else { continue };
            let text = text.to_string();
            names.extend(identifiers(&text).into_iter().filter(|w| !keywords.contains(&w.as_str())));
        }
    }
    names
}

/// A definition in a file: its name and the lines to show.
struct Definition {
    name: String,
    first: usize,
    last: usize,
}

/// Definitions at the top level and in the members its grammar's `definitions.scm`
/// marks (`impl` and `class` bodies, namespaces, exports), up to two levels in.
fn defined(rope: &Rope, language: Language, tree: &Tree) -> Vec<Definition> {
    let mut out = Vec::new();
    collect(rope, language, tree.root_node(), 0, &mut out);
    out
}

/// Levels of `@members` searched below the top level.
const MAX_MEMBER_DEPTH: usize = 2;

fn collect(rope: &Rope, language: Language, node: Node<'_>, depth: usize, out: &mut Vec<Definition>) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        let (found, members) = crate::queries::definitions_at(language, child, rope);
        for def in found {
            let Some(name) = rope.get_byte_slice(def.name.byte_range()) else { continue };
            let first = with_docs(rope, language, def.node.start_position().row);
            let body_row = def.body.map_or(def.node.end_position().row, |b| b.start_position().row);
            let last = match def.extent {
                Extent::Signature => body_row,
                Extent::Outline => def.node.end_position().row.min(body_row + MAX_BODY_LINES),
            };
            out.push(Definition { name: name.to_string(), first, last });
        }
        if depth < MAX_MEMBER_DEPTH {
            for members in members {
                collect(rope, language, members, depth + 1, out);
            }
        }
    }
}
