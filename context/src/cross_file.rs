//! Context from other open buffers: the definitions (signatures, struct and class
//! headers, a few lines each) of names used near the cursor and defined or imported
//! from elsewhere, and the regions of other buffers edited most recently.

use std::collections::HashSet;

use ropey::Rope;
use tree_sitter::{Node, Tree};

use crate::language::Language;
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

/// The first line of the doc comments and attributes right above `line`.
fn with_docs(rope: &Rope, line: usize) -> usize {
    let mut first = line;
    while first > 0 && line - first < MAX_DOC_LINES {
        let above = rope.line(first - 1).to_string();
        let above = above.trim_start();
        if above.starts_with("///") || above.starts_with("#[") || above.starts_with("//!") {
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
    let names = names_near(rope, cursor);
    if names.is_empty() {
        return Vec::new();
    }
    let imported = imported_names(rope, language);
    let local: HashSet<String> =
        tree.map(|t| defined(rope, t).into_iter().map(|d| d.name).collect()).unwrap_or_default();
    let mut out = Vec::new();
    let indexes: Vec<(usize, Vec<Definition>)> =
        others.iter().enumerate().filter_map(|(i, o)| o.tree.as_ref().map(|t| (i, defined(&o.rope, t)))).collect();
    for name in names.iter().filter(|n| imported.contains(*n) || !local.contains(*n)) {
        for (i, defs) in &indexes {
            let other = &others[*i];
            for def in defs.iter().filter(|d| &d.name == name) {
                if out.len() < MAX_DEFINITIONS {
                    out.push(Snippet {
                        path: other.path.clone(),
                        text: lines(&other.rope, def.first, def.last),
                        kind: SnippetKind::Definition(name.clone()),
                        line: def.first,
                    });
                }
            }
        }
    }
    out
}

/// Identifiers near the cursor, nearest first, without keywords.
fn names_near(rope: &Rope, cursor: usize) -> Vec<String> {
    let line = rope.byte_to_line(cursor.min(rope.len_bytes()));
    let first = line.saturating_sub(LINES_ABOVE);
    let last = (line + LINES_BELOW).min(rope.len_lines().saturating_sub(1));
    let mut order: Vec<(usize, String)> = Vec::new();
    let mut seen = HashSet::new();
    for l in first..=last {
        for word in identifiers(&rope.line(l).to_string()) {
            if !KEYWORDS.contains(&word.as_str()) && seen.insert(word.clone()) {
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

/// Names brought in by `use` (Rust) or `import`/`from ... import` (Python) lines.
fn imported_names(rope: &Rope, language: Language) -> HashSet<String> {
    let mut names = HashSet::new();
    for line in rope.lines().take(IMPORT_LINES) {
        // Most lines are not imports: look at their first characters before copying them.
        let head: String = line.chars().skip_while(|c| c.is_whitespace()).take(8).collect();
        if !["use ", "pub use ", "import ", "from "]
            .iter()
            .any(|k| head.starts_with(k) || k.starts_with(head.as_str()) && head.len() >= 4)
        {
            continue;
        }
        let line = line.to_string();
        let trimmed = line.trim_start();
        let is_import = match language {
            Language::Rust => trimmed.starts_with("use ") || trimmed.starts_with("pub use "),
            Language::Python => trimmed.starts_with("import ") || trimmed.starts_with("from "),
            Language::Other(_) => false,
        };
        if is_import {
            names.extend(identifiers(trimmed).into_iter().filter(|w| !KEYWORDS.contains(&w.as_str())));
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

/// Definitions at the top level and one level into `impl`, `trait`, `mod` and `class` bodies.
fn defined(rope: &Rope, tree: &Tree) -> Vec<Definition> {
    let mut out = Vec::new();
    collect(rope, tree.root_node(), 0, &mut out);
    out
}

fn collect(rope: &Rope, node: Node<'_>, depth: usize, out: &mut Vec<Definition>) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        let target =
            if child.kind() == "decorated_definition" { child.child_by_field_name("definition") } else { Some(child) };
        let Some(def) = target else { continue };
        let kind = def.kind();
        let container = matches!(kind, "impl_item" | "trait_item" | "mod_item" | "class_definition");
        if let Some(name) = def.child_by_field_name("name").and_then(|n| rope.get_byte_slice(n.byte_range())) {
            let first = with_docs(rope, child.start_position().row);
            let body = def.child_by_field_name("body");
            let body_row = body.map_or(def.end_position().row, |b| b.start_position().row);
            let shows_body = matches!(
                kind,
                "struct_item"
                    | "enum_item"
                    | "union_item"
                    | "class_definition"
                    | "type_item"
                    | "const_item"
                    | "static_item"
            );
            let last = if shows_body { def.end_position().row.min(body_row + MAX_BODY_LINES) } else { body_row };
            if DEFINITION_KINDS.contains(&kind) {
                out.push(Definition { name: name.to_string(), first, last });
            }
        }
        if container && depth == 0 {
            if let Some(body) = def.child_by_field_name("body") {
                collect(rope, body, depth + 1, out);
            }
        }
    }
}

/// Node kinds that define a name worth showing.
const DEFINITION_KINDS: &[&str] = &[
    "function_item",
    "function_signature_item",
    "struct_item",
    "enum_item",
    "union_item",
    "trait_item",
    "type_item",
    "const_item",
    "static_item",
    "macro_definition",
    "mod_item",
    "function_definition",
    "class_definition",
];

/// Words never worth looking up.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "and", "assert", "class",
    "def", "del", "elif", "except", "finally", "from", "global", "import", "is", "lambda", "None", "nonlocal", "not",
    "or", "pass", "raise", "True", "False", "try", "with", "yield", "print", "len", "str", "int", "float", "bool",
    "list", "dict", "String", "Vec", "Option", "Some", "Ok", "Err", "Result", "Box", "usize", "u8", "u32", "u64",
    "i32", "i64", "f32", "f64",
];
