//! Incremental syntax trees for open buffers.
//!
//! A [`Syntax`] lives beside each buffer. Edits are recorded as they arrive (cheap:
//! nothing is parsed); a completion takes a [`SyntaxSnapshot`], parses it off the
//! editing path with a time limit ([`SyntaxSnapshot::parse`]) and hands the tree back
//! with [`Syntax::store`], so the next parse starts from it. Parsing is lazy: a buffer
//! edited for an hour without a completion is parsed once, when one is asked for.
//! A parse that runs past its limit leaves the buffer without a tree (prompts then
//! use text rules only) until the buffer is replaced.

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use ropey::Rope;
use tree_sitter::{InputEdit, ParseOptions, Parser, Point, Tree};

use crate::language::Language;

/// Edits kept before a tree is dropped and the next parse starts afresh (a burst of
/// thousands of edits is cheaper to parse from scratch than to replay).
const MAX_PENDING_EDITS: usize = 4096;

/// One edit of a buffer, in bytes and (row, byte column) points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyntaxEdit {
    /// First byte that changed.
    pub start_byte: usize,
    /// End of the replaced bytes, in the old text.
    pub old_end_byte: usize,
    /// End of the inserted bytes, in the new text.
    pub new_end_byte: usize,
    /// `start_byte` as (line, byte column).
    pub start: (usize, usize),
    /// `old_end_byte` as (line, byte column) in the old text.
    pub old_end: (usize, usize),
    /// `new_end_byte` as (line, byte column) in the new text.
    pub new_end: (usize, usize),
}

impl SyntaxEdit {
    /// Replaces bytes `start..old_end` of `rope` (char boundaries) with `text` and
    /// returns the edit, its points read from the rope before and after.
    pub fn apply(rope: &mut Rope, start: usize, old_end: usize, text: &str) -> SyntaxEdit {
        let (start_point, old_end_point) = (SyntaxEdit::point(rope, start), SyntaxEdit::point(rope, old_end));
        let char_start = rope.byte_to_char(start);
        if old_end > start {
            rope.remove(char_start..rope.byte_to_char(old_end));
        }
        if !text.is_empty() {
            rope.insert(char_start, text);
        }
        let new_end = start + text.len();
        SyntaxEdit {
            start_byte: start,
            old_end_byte: old_end,
            new_end_byte: new_end,
            start: start_point,
            old_end: old_end_point,
            new_end: SyntaxEdit::point(rope, new_end),
        }
    }

    /// The point of `byte` in `rope` (clamped to the end).
    fn point(rope: &Rope, byte: usize) -> (usize, usize) {
        let byte = byte.min(rope.len_bytes());
        let line = rope.byte_to_line(byte);
        (line, byte - rope.line_to_byte(line))
    }

    fn input_edit(&self) -> InputEdit {
        let point = |(row, column): (usize, usize)| Point { row, column };
        InputEdit {
            start_byte: self.start_byte,
            old_end_byte: self.old_end_byte,
            new_end_byte: self.new_end_byte,
            start_position: point(self.start),
            old_end_position: point(self.old_end),
            new_end_position: point(self.new_end),
        }
    }
}

/// The syntax state of one buffer.
#[derive(Clone, Debug)]
pub struct Syntax {
    language: Language,
    tree: Option<Tree>,
    pending: Vec<InputEdit>,
    generation: u64,
    gave_up: bool,
}

/// What a parse needs, taken from a [`Syntax`] without holding it.
#[derive(Clone, Debug)]
pub struct SyntaxSnapshot {
    language: Language,
    tree: Option<Tree>,
    pending: Vec<InputEdit>,
    generation: u64,
    gave_up: bool,
}

/// How a parse went.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ParseStats {
    /// Whether an earlier tree was reused.
    pub incremental: bool,
    /// Whether any parsing was needed (false: the stored tree was current).
    pub parsed: bool,
    /// Whether the time limit stopped it.
    pub timed_out: bool,
    /// Time spent, ms.
    pub ms: f64,
}

/// A parse's result, to read and to hand back with [`Syntax::store`].
#[derive(Clone, Debug)]
pub struct Parsed {
    tree: Option<Tree>,
    generation: u64,
    consumed: usize,
    /// How it went.
    pub stats: ParseStats,
}

impl Parsed {
    /// The tree, when the language has a grammar and parsing finished in time.
    pub fn tree(&self) -> Option<&Tree> {
        self.tree.as_ref()
    }
}

impl Syntax {
    /// A buffer not parsed yet.
    pub fn new(language: Language) -> Syntax {
        Syntax { language, tree: None, pending: Vec::new(), generation: 0, gave_up: false }
    }

    /// The buffer's language.
    pub fn language(&self) -> Language {
        self.language
    }

    /// Records an edit (the text itself is the caller's). O(1).
    pub fn edit(&mut self, edit: SyntaxEdit) {
        if self.tree.is_none() {
            return; // the next parse starts from scratch anyway
        }
        if self.pending.len() >= MAX_PENDING_EDITS {
            self.tree = None;
            self.pending.clear();
            self.generation += 1;
            return;
        }
        self.pending.push(edit.input_edit());
    }

    /// Forgets the tree (the whole text was replaced).
    pub fn reset(&mut self) {
        self.tree = None;
        self.pending.clear();
        self.generation += 1;
        self.gave_up = false;
    }

    /// What a parse of the current text needs.
    pub fn snapshot(&self) -> SyntaxSnapshot {
        SyntaxSnapshot {
            language: self.language,
            tree: self.tree.clone(),
            pending: self.pending.clone(),
            generation: self.generation,
            gave_up: self.gave_up,
        }
    }

    /// Takes a parse's tree back, unless another parse stored one meanwhile. Edits
    /// recorded after the snapshot stay pending, to be applied to the new tree.
    pub fn store(&mut self, parsed: &Parsed) {
        if parsed.generation != self.generation || !parsed.stats.parsed {
            return;
        }
        self.generation += 1;
        self.pending.drain(..parsed.consumed.min(self.pending.len()));
        self.tree = parsed.tree.clone();
        if parsed.stats.timed_out {
            self.gave_up = true;
            self.pending.clear();
        }
    }
}

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new(Parser::new());
}

impl SyntaxSnapshot {
    /// The same snapshot with one more edit (for text that exists only here, such as
    /// a suggestion supposed accepted).
    pub fn with_edit(mut self, edit: SyntaxEdit) -> SyntaxSnapshot {
        if self.tree.is_some() {
            self.pending.push(edit.input_edit());
        }
        self
    }

    /// Brings the tree up to `rope` (the text the snapshot's edits lead to), stopping
    /// after `limit`. Never fails: a language without grammar, a grammar that does not
    /// load or a parse out of time all give a result without a tree.
    pub fn parse(self, rope: &Rope, limit: Duration) -> Parsed {
        let started = Instant::now();
        let consumed = self.pending.len();
        let mut stats = ParseStats::default();
        let done =
            |tree: Option<Tree>, stats: ParseStats| Parsed { tree, generation: self.generation, consumed, stats };
        let Some(grammar) = self.language.grammar() else {
            return done(None, stats);
        };
        if self.gave_up {
            return done(None, stats);
        }
        let mut old = self.tree;
        if let Some(tree) = old.as_mut() {
            if self.pending.is_empty() {
                return done(old, stats);
            }
            for edit in &self.pending {
                tree.edit(edit);
            }
        }
        stats.parsed = true;
        stats.incremental = old.is_some();
        let tree = PARSER.with(|parser| {
            let mut parser = parser.borrow_mut();
            if parser.set_language(&grammar).is_err() {
                return None;
            }
            let len = rope.len_bytes();
            let mut read = |byte: usize, _: Point| -> &[u8] {
                if byte >= len {
                    return &[];
                }
                let (chunk, chunk_start, _, _) = rope.chunk_at_byte(byte);
                &chunk.as_bytes()[byte - chunk_start..]
            };
            let mut out_of_time = |_: &tree_sitter::ParseState| {
                if started.elapsed() > limit {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            };
            let options = ParseOptions::new().progress_callback(&mut out_of_time);
            let tree = parser.parse_with_options(&mut read, old.as_ref(), Some(options));
            if tree.is_none() {
                parser.reset(); // the next parse is of other text: do not resume this one
            }
            tree
        });
        stats.timed_out = tree.is_none();
        stats.ms = started.elapsed().as_secs_f64() * 1e3;
        done(tree, stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(rope: &mut Rope, syntax: &mut Syntax, start: usize, end: usize, text: &str) {
        syntax.edit(SyntaxEdit::apply(rope, start, end, text));
    }

    #[test]
    fn an_edit_is_applied_and_its_points_are_the_ropes_own() {
        let mut rope = Rope::from_str("ab\r\ncd\n");
        let edit = SyntaxEdit::apply(&mut rope, 4, 6, "x\ny");
        assert_eq!(rope.to_string(), "ab\r\nx\ny\n");
        assert_eq!((edit.start_byte, edit.old_end_byte, edit.new_end_byte), (4, 6, 7));
        assert_eq!((edit.start, edit.old_end, edit.new_end), ((1, 0), (1, 2), (2, 1)));
        // A `\r` typed before a `\n` joins it into one line break, as the rope counts them.
        let edit = SyntaxEdit::apply(&mut rope, 5, 5, "\r");
        assert_eq!((edit.start, edit.new_end), ((1, 1), (1, 2)));
    }

    #[test]
    fn incremental_parses_equal_fresh_ones() {
        let mut rope = Rope::from_str("fn main() {\n    let x = 1;\n}\n");
        let mut syntax = Syntax::new(Language::RUST);
        let parsed = syntax.snapshot().parse(&rope, Duration::from_secs(1));
        assert!(parsed.stats.parsed && !parsed.stats.incremental);
        syntax.store(&parsed);
        edit(&mut rope, &mut syntax, 24, 25, "compute(2)");
        edit(&mut rope, &mut syntax, 0, 0, "// héllo\n");
        let parsed = syntax.snapshot().parse(&rope, Duration::from_secs(1));
        assert!(parsed.stats.incremental);
        syntax.store(&parsed);
        let fresh = Syntax::new(Language::RUST).snapshot().parse(&rope, Duration::from_secs(1));
        let sexp = |p: &Parsed| p.tree().map(|t| t.root_node().to_sexp());
        assert_eq!(sexp(&parsed), sexp(&fresh));
        assert!(sexp(&parsed).is_some_and(|s| s.contains("call_expression")), "{:?}", sexp(&parsed));
        // Nothing changed since: no parsing at all.
        let again = syntax.snapshot().parse(&rope, Duration::from_secs(1));
        assert!(!again.stats.parsed && again.tree().is_some());
    }

    #[test]
    fn edits_after_a_snapshot_survive_its_store() {
        let mut rope = Rope::from_str("x = 1\n");
        let mut syntax = Syntax::new(Language::PYTHON);
        let first = syntax.snapshot().parse(&rope, Duration::from_secs(1));
        syntax.store(&first);
        edit(&mut rope, &mut syntax, 4, 5, "2");
        let snapshot = syntax.snapshot();
        let text_at_snapshot = rope.clone();
        edit(&mut rope, &mut syntax, 0, 0, "y = 0\n");
        syntax.store(&snapshot.parse(&text_at_snapshot, Duration::from_secs(1)));
        let parsed = syntax.snapshot().parse(&rope, Duration::from_secs(1));
        let fresh = Syntax::new(Language::PYTHON).snapshot().parse(&rope, Duration::from_secs(1));
        assert_eq!(parsed.tree().map(|t| t.root_node().to_sexp()), fresh.tree().map(|t| t.root_node().to_sexp()));
    }

    #[test]
    fn a_parse_out_of_time_gives_no_tree_and_is_not_retried() {
        let text = "def f(x):\n    return [x, (x, {x: x})]\n".repeat(20_000);
        let rope = Rope::from_str(&text);
        let mut syntax = Syntax::new(Language::PYTHON);
        let started = Instant::now();
        let parsed = syntax.snapshot().parse(&rope, Duration::from_millis(5));
        assert!(started.elapsed() < Duration::from_millis(500), "the limit holds: {:?}", started.elapsed());
        assert!(parsed.stats.timed_out && parsed.tree().is_none());
        syntax.store(&parsed);
        let again = syntax.snapshot().parse(&rope, Duration::from_secs(10));
        assert!(!again.stats.parsed && again.tree().is_none());
    }

    #[test]
    fn languages_without_grammar_have_no_tree() {
        let parsed =
            Syntax::new(Language::PLAIN_TEXT).snapshot().parse(&Rope::from_str("int x;"), Duration::from_secs(1));
        assert!(parsed.tree().is_none() && !parsed.stats.timed_out);
    }
}
