//! A grammar's query files, compiled once on first use, and the questions prompts ask
//! of them: is this node a scope (and where does its header end), which definitions
//! does this node hold, is it an import. Each question runs the query on one node with
//! patterns rooted there (`max_start_depth` 0), so its cost does not grow with the file.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use ropey::Rope;
use tree_sitter::{Node, Query, QueryCursor, StreamingIterator};

use crate::language::Language;
use crate::language_table::{Grammar, LANGUAGES};

/// A compiled query and the capture indexes read from it.
struct Compiled {
    query: Query,
    captures: HashMap<String, u32>,
}

impl Compiled {
    fn new(grammar: &tree_sitter::Language, source: &str) -> Result<Compiled, tree_sitter::QueryError> {
        let query = Query::new(grammar, source)?;
        let captures = query.capture_names().iter().enumerate().map(|(i, n)| ((*n).to_owned(), i as u32)).collect();
        Ok(Compiled { query, captures })
    }

    fn capture(&self, name: &str) -> Option<u32> {
        self.captures.get(name).copied()
    }
}

/// The three queries of one grammar.
struct Queries {
    scopes: Compiled,
    definitions: Compiled,
    imports: Compiled,
}

/// Why a grammar's queries did not compile (a bug in a query file; a test compiles them all).
#[derive(Debug, thiserror::Error)]
#[error("{language}/{file}.scm: {error}")]
pub(crate) struct QueryFileError {
    language: &'static str,
    file: &'static str,
    error: tree_sitter::QueryError,
}

fn compile(language: Language, grammar: &Grammar) -> Result<Queries, QueryFileError> {
    let ts_language: tree_sitter::Language = grammar.language.into();
    let sources = &grammar.queries;
    let one = |file, source| {
        Compiled::new(&ts_language, source).map_err(|error| QueryFileError { language: language.name(), file, error })
    };
    Ok(Queries {
        scopes: one("scopes", sources.scopes)?,
        definitions: one("definitions", sources.definitions)?,
        imports: one("imports", sources.imports)?,
    })
}

/// Each grammar's queries, compiled when a buffer of its language first needs them.
static COMPILED: LazyLock<HashMap<&'static str, OnceLock<Option<Queries>>>> =
    LazyLock::new(|| LANGUAGES.iter().map(|spec| (spec.name, OnceLock::new())).collect());

fn queries(language: Language) -> Option<&'static Queries> {
    let grammar = language.spec().grammar.as_ref()?;
    COMPILED.get(language.name())?.get_or_init(|| compile(language, grammar).ok()).as_ref()
}

#[cfg(test)]
/// Compiles every grammar's queries (for tests: a broken query file fails here, not
/// silently at run time, where its language falls back to text rules).
pub(crate) fn check_all() -> Result<usize, QueryFileError> {
    let mut count = 0;
    for language in Language::parsed() {
        if let Some(grammar) = &language.spec().grammar {
            compile(language, grammar)?;
            count += 1;
        }
    }
    Ok(count)
}

/// The text of a node, for queries with predicates.
fn node_text<'a>(rope: &'a Rope) -> impl FnMut(Node<'_>) -> std::vec::IntoIter<&'a [u8]> + 'a {
    move |node: Node<'_>| {
        let chunks: Vec<&[u8]> = rope
            .get_byte_slice(node.byte_range())
            .map(|slice| slice.chunks().map(str::as_bytes).collect())
            .unwrap_or_default();
        chunks.into_iter()
    }
}

/// The matches of `compiled` rooted at `node`, each as (capture index, node) pairs.
fn matches_at<'tree>(compiled: &Compiled, node: Node<'tree>, rope: &Rope) -> Vec<Vec<(u32, Node<'tree>)>> {
    let mut cursor = QueryCursor::new();
    cursor.set_max_start_depth(Some(0));
    let mut out = Vec::new();
    let mut matches = cursor.matches(&compiled.query, node, node_text(rope));
    while let Some(m) = matches.next() {
        out.push(m.captures.iter().map(|c| (c.index, c.node)).collect());
    }
    out
}

/// If `node` is a scope: the row its header ends on (the end of what precedes its
/// `@body`; its first row when the pattern marks no body).
pub(crate) fn scope_header_end(language: Language, node: Node<'_>, rope: &Rope) -> Option<usize> {
    let q = &queries(language)?.scopes;
    let (scope, body) = (q.capture("scope")?, q.capture("body"));
    let found = matches_at(q, node, rope);
    let captures = found.iter().find(|m| m.iter().any(|&(i, n)| i == scope && n == node))?;
    let first = node.start_position().row;
    let body = captures.iter().find(|&&(i, _)| Some(i) == body).map(|&(_, n)| n);
    Some(body.map_or(first, |body| body.prev_sibling().map_or(body.start_position().row, |p| p.end_position().row)))
}

/// How much of a definition a snippet shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Extent {
    /// Its lines up to its body (a function's signature).
    Signature,
    /// Its lines and the first lines of its body (a struct's or class's fields).
    Outline,
}

/// A definition found by a grammar's `definitions.scm`.
pub(crate) struct FoundDefinition<'tree> {
    /// The defining node.
    pub node: Node<'tree>,
    /// Its name's node.
    pub name: Node<'tree>,
    /// Its body, when the pattern marks one.
    pub body: Option<Node<'tree>>,
    /// How much to show.
    pub extent: Extent,
}

/// The definitions rooted at `node`, and the nodes whose children hold more (`@members`).
pub(crate) fn definitions_at<'tree>(
    language: Language,
    node: Node<'tree>,
    rope: &Rope,
) -> (Vec<FoundDefinition<'tree>>, Vec<Node<'tree>>) {
    let Some(q) = queries(language).map(|q| &q.definitions) else { return (Vec::new(), Vec::new()) };
    let (definition, outline, name, body, members) =
        (q.capture("definition"), q.capture("outline"), q.capture("name"), q.capture("body"), q.capture("members"));
    let mut found = Vec::new();
    let mut more = Vec::new();
    for m in matches_at(q, node, rope) {
        let get = |index: Option<u32>| m.iter().find(|&&(i, _)| Some(i) == index).map(|&(_, n)| n);
        more.extend(m.iter().filter(|&&(i, _)| Some(i) == members).map(|&(_, n)| n));
        let (def, extent) = match (get(definition), get(outline)) {
            (Some(def), _) => (def, Extent::Signature),
            (None, Some(def)) => (def, Extent::Outline),
            (None, None) => continue,
        };
        if let Some(name) = get(name) {
            if !found.iter().any(|f: &FoundDefinition<'_>| f.node == def && f.name == name) {
                found.push(FoundDefinition { node: def, name, body: get(body), extent });
            }
        }
    }
    more.dedup();
    (found, more)
}

/// Whether `node` is an import, by the grammar's `imports.scm`.
pub(crate) fn is_import(language: Language, node: Node<'_>, rope: &Rope) -> bool {
    let Some(q) = queries(language).map(|q| &q.imports) else { return false };
    let Some(import) = q.capture("import") else { return false };
    matches_at(q, node, rope).iter().any(|m| m.iter().any(|&(i, n)| i == import && n == node))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_query_file_compiles() {
        match super::check_all() {
            Ok(count) => assert!(count >= 9, "only {count} grammars"),
            Err(e) => panic!("{e}"),
        }
    }
}
