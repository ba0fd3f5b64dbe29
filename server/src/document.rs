//! One open buffer: its text as a rope, its version, its language and its syntax state.
//!
//! Edits arrive as LSP content changes and are applied in order; each one reports the
//! byte range it replaced, and is recorded for the incremental syntax tree (parsed
//! lazily, when a completion needs it) and as a recent edit (cross-file context).

use std::fmt;
use std::time::Instant;

use infill_context::{Language, PrefixAnchor, Syntax, SyntaxEdit, SyntaxSnapshot};
use ropey::Rope;
use tower_lsp::lsp_types::{Position, Range, TextDocumentContentChangeEvent};

use crate::change_history::{Applied, ChangeHistory, Undo};
use crate::position::{position_to_char, PositionEncoding};

/// Recent edit positions kept per document (for cross-file context).
const RECENT_EDITS: usize = 4;

/// The text, version and language of one open document.
#[derive(Clone)]
pub struct Document {
    rope: Rope,
    version: i32,
    language_id: String,
    language: Language,
    syntax: Syntax,
    recent_edits: Vec<usize>,
    edited_at: Option<Instant>,
    prompt_start: Option<PrefixAnchor>,
    history: ChangeHistory,
}

/// The bytes one edit replaced: `start..old_end` in the text before the edit became
/// `start..new_end` in the text after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteEdit {
    /// First byte that changed.
    pub start: usize,
    /// End of the replaced range, in the old text.
    pub old_end: usize,
    /// End of the inserted text, in the new text.
    pub new_end: usize,
}

/// Why a `didChange` was refused (the document is left as it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeError {
    /// The change's version is lower than the one the document already has.
    VersionWentBackwards {
        /// The version the document holds.
        current: i32,
        /// The version the change carried.
        received: i32,
    },
}

impl fmt::Display for ChangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChangeError::VersionWentBackwards { current, received } => {
                write!(f, "change for version {received} refused: the document is already at version {current}")
            }
        }
    }
}

impl std::error::Error for ChangeError {}

/// A cheap, immutable copy of a document for readers (a rope clone shares its tree).
#[derive(Clone)]
pub struct Snapshot {
    /// The text.
    pub rope: Rope,
    /// The version the text belongs to.
    pub version: i32,
    /// The language id the client gave at `didOpen`.
    pub language_id: String,
    /// The language, from the id or the path.
    pub language: Language,
    /// What a parse of this text needs.
    pub syntax: SyntaxSnapshot,
    /// Byte offsets of the latest edits, most recent last.
    pub recent_edits: Vec<usize>,
    /// When the document was last edited (`None`: not since it was opened).
    pub edited_at: Option<Instant>,
    /// Where the last prompt's text started (moved along by edits after it, dropped by
    /// an edit before it).
    pub prompt_start: Option<PrefixAnchor>,
}

impl Document {
    /// Creates a document from the text the client sent with `didOpen`; `path` (the
    /// URI's path) helps tell the language when the id does not.
    pub fn new(text: &str, version: i32, language_id: impl Into<String>, path: &str) -> Self {
        let language_id = language_id.into();
        let language = Language::detect(&language_id, path);
        Document {
            rope: Rope::from_str(text),
            version,
            language_id,
            language,
            syntax: Syntax::new(language),
            recent_edits: Vec::new(),
            edited_at: None,
            prompt_start: None,
            history: ChangeHistory::default(),
        }
    }

    /// Remembers where the last prompt's text started (for the next request's anchor).
    pub fn set_prompt_start(&mut self, anchor: PrefixAnchor) {
        self.prompt_start = Some(anchor);
    }

    /// Forgets where the last prompt started.
    pub fn forget_prompt_start(&mut self) {
        self.prompt_start = None;
    }

    /// Keeps a parse's tree for the next one (unless the text moved on meanwhile in a
    /// way the tree cannot follow).
    pub fn store_syntax(&mut self, parsed: &infill_context::Parsed) {
        self.syntax.store(parsed);
    }

    /// The current text.
    pub fn rope(&self) -> &Rope {
        &self.rope
    }

    /// The current version.
    pub fn version(&self) -> i32 {
        self.version
    }

    /// The language id given at `didOpen`.
    pub fn language_id(&self) -> &str {
        &self.language_id
    }

    /// A copy for readers; O(1).
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            rope: self.rope.clone(),
            version: self.version,
            language_id: self.language_id.clone(),
            language: self.language,
            syntax: self.syntax.snapshot(),
            recent_edits: self.recent_edits.clone(),
            edited_at: self.edited_at,
            prompt_start: self.prompt_start.clone(),
        }
    }

    /// Applies the content changes of one `didChange`, in order, and takes its version.
    /// A version lower than the current one is refused and nothing changes, unless it is
    /// one that was skipped a moment ago (a client that sent changes out of order): then
    /// it goes in its place, between the changes before and after it.
    pub fn apply_changes(
        &mut self,
        version: i32,
        changes: &[TextDocumentContentChangeEvent],
        encoding: PositionEncoding,
    ) -> Result<Vec<ByteEdit>, ChangeError> {
        if version < self.version {
            if !self.history.can_insert(version) {
                return Err(ChangeError::VersionWentBackwards { current: self.version, received: version });
            }
            return Ok(self.insert_late(version, changes, encoding));
        }
        let previous = self.version;
        let edits = self.apply_recorded(previous, version, changes, encoding);
        self.version = version;
        Ok(edits)
    }

    /// Applies changes and records them (with their undo) in the history.
    fn apply_recorded(
        &mut self,
        previous: i32,
        version: i32,
        changes: &[TextDocumentContentChangeEvent],
        encoding: PositionEncoding,
    ) -> Vec<ByteEdit> {
        let mut edits = Vec::with_capacity(changes.len());
        let mut undo = Vec::with_capacity(changes.len());
        let mut full_text = false;
        for change in changes {
            full_text |= change.range.is_none();
            let (edit, removed) = self.apply_change_undoable(change.range, &change.text, encoding);
            undo.push(Undo { start: edit.start, inserted_len: edit.new_end - edit.start, removed });
            edits.push(edit);
        }
        if full_text {
            self.history.clear();
        } else {
            self.history.record(previous, Applied { version, changes: changes.to_vec(), undo });
        }
        edits
    }

    /// Puts a late change in its place: undoes the changes after it, applies it, and
    /// applies them again. The document keeps its (newest) version.
    fn insert_late(
        &mut self,
        version: i32,
        changes: &[TextDocumentContentChangeEvent],
        encoding: PositionEncoding,
    ) -> Vec<ByteEdit> {
        let after = self.history.take_after(version);
        let mut edits = Vec::new();
        for applied in &after {
            for undo in applied.undo.iter().rev() {
                edits.push(self.replace_bytes(undo.start, undo.start + undo.inserted_len, &undo.removed).0);
            }
        }
        // Gaps between the newest change left and this one stay open.
        let previous = self.history.newest().unwrap_or(version - 1);
        edits.extend(self.apply_recorded(previous, version, changes, encoding));
        let mut previous = version;
        for applied in after.iter().rev() {
            edits.extend(self.apply_recorded(previous, applied.version, &applied.changes, encoding));
            previous = applied.version;
        }
        tracing::debug!(version, replayed = after.len(), "a late change was put in its place");
        edits
    }

    /// Replaces `range` (the whole text when `None`) with `text`. Positions out of range
    /// are clamped; a range whose end comes before its start is read the other way round.
    pub fn apply_change(&mut self, range: Option<Range>, text: &str, encoding: PositionEncoding) -> ByteEdit {
        self.apply_change_undoable(range, text, encoding).0
    }

    /// [`Document::apply_change`], also returning the text it removed.
    fn apply_change_undoable(
        &mut self,
        range: Option<Range>,
        text: &str,
        encoding: PositionEncoding,
    ) -> (ByteEdit, String) {
        self.edited_at = Some(Instant::now());
        let Some(range) = range else {
            let old_end = self.rope.len_bytes();
            self.rope = Rope::from_str(text);
            self.syntax.reset();
            self.recent_edits.clear();
            self.prompt_start = None;
            // No copy of the old text: a full-text change ends the history (nothing before
            // it can be undone), so its undo is never used.
            return (ByteEdit { start: 0, old_end, new_end: text.len() }, String::new());
        };
        let (a, b) = (range.start, range.end);
        let (first, last): (Position, Position) =
            if (a.line, a.character) <= (b.line, b.character) { (a, b) } else { (b, a) };
        let start = position_to_char(&self.rope, first, encoding);
        let end = position_to_char(&self.rope, last, encoding).max(start);
        let start_byte = self.rope.char_to_byte(start);
        let old_end = self.rope.char_to_byte(end);
        self.replace_bytes(start_byte, old_end, text)
    }

    /// Replaces the bytes `start_byte..old_end` (on char boundaries) with `text`, telling
    /// the syntax state and the recent edits; returns the edit and the removed text.
    fn replace_bytes(&mut self, start_byte: usize, old_end: usize, text: &str) -> (ByteEdit, String) {
        self.edited_at = Some(Instant::now());
        let start = self.rope.byte_to_char(start_byte);
        let end = self.rope.byte_to_char(old_end);
        let removed: String = self.rope.slice(start..end).into();
        let edit = SyntaxEdit::apply(&mut self.rope, start_byte, old_end, text);
        let new_end = edit.new_end_byte;
        self.syntax.edit(edit);
        self.note_edit(start_byte, old_end, new_end);
        (ByteEdit { start: start_byte, old_end, new_end }, removed)
    }

    /// Remembers where the text changed, shifting earlier positions past the edit;
    /// an edit next to the last one replaces it (typing is one region, not many).
    fn note_edit(&mut self, start: usize, old_end: usize, new_end: usize) {
        // Edits after the prompt's start leave it be; one before it (its header lines
        // may have changed) means a fresh cut next time, and one before the place
        // where a fill-in-the-middle head was frozen, a fresh head.
        if self.prompt_start.as_ref().is_some_and(|anchor| start < anchor.start) {
            self.prompt_start = None;
        }
        if let Some(anchor) = self.prompt_start.as_mut().filter(|a| a.middle.as_ref().is_some_and(|m| start < m.at)) {
            anchor.middle = None;
        }
        for at in &mut self.recent_edits {
            if *at >= old_end {
                *at = *at - old_end + new_end;
            } else if *at > start {
                *at = start;
            }
        }
        let near = |at: usize| {
            self.rope
                .byte_to_line(at.min(self.rope.len_bytes()))
                .abs_diff(self.rope.byte_to_line(start.min(self.rope.len_bytes())))
                <= 3
        };
        self.recent_edits.retain(|&at| !near(at));
        self.recent_edits.push(start);
        if self.recent_edits.len() > RECENT_EDITS {
            self.recent_edits.remove(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(l1: u32, c1: u32, l2: u32, c2: u32, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(l1, c1), Position::new(l2, c2))),
            range_length: None,
            text: text.into(),
        }
    }

    #[test]
    fn changes_apply_in_order_and_report_byte_edits() {
        let mut doc = Document::new("fn main() {\n}\n", 1, "rust", "a.rs");
        let edits = doc
            .apply_changes(
                2,
                &[change(0, 11, 0, 11, "\n    let x = 1;"), change(1, 8, 1, 9, "y")],
                PositionEncoding::Utf16,
            )
            .expect("version goes forward");
        assert_eq!(doc.rope().to_string(), "fn main() {\n    let y = 1;\n}\n");
        assert_eq!(doc.version(), 2);
        assert_eq!(edits[0], ByteEdit { start: 11, old_end: 11, new_end: 26 });
        assert_eq!(edits[1], ByteEdit { start: 20, old_end: 21, new_end: 21 });
    }

    #[test]
    fn a_version_going_backwards_is_refused_and_changes_nothing() {
        let mut doc = Document::new("abc", 5, "python", "");
        let err = doc.apply_changes(4, &[change(0, 0, 0, 3, "zzz")], PositionEncoding::Utf16).unwrap_err();
        assert_eq!(err, ChangeError::VersionWentBackwards { current: 5, received: 4 });
        assert_eq!(doc.rope().to_string(), "abc");
        assert_eq!(doc.version(), 5);
    }

    #[test]
    fn full_sync_replaces_everything() {
        let mut doc = Document::new("old", 1, "x", "");
        let full = TextDocumentContentChangeEvent { range: None, range_length: None, text: "new\ntext".into() };
        let edits = doc.apply_changes(2, &[full], PositionEncoding::Utf8).expect("forward");
        assert_eq!(doc.rope().to_string(), "new\ntext");
        assert_eq!(edits, vec![ByteEdit { start: 0, old_end: 3, new_end: 8 }]);
    }

    #[test]
    fn reversed_and_out_of_range_ranges_are_clamped_not_panics() {
        let mut doc = Document::new("hello\nworld", 1, "x", "");
        doc.apply_change(Some(Range::new(Position::new(1, 99), Position::new(0, 5))), "", PositionEncoding::Utf16);
        assert_eq!(doc.rope().to_string(), "hello");
        doc.apply_change(Some(Range::new(Position::new(40, 0), Position::new(50, 7))), "!", PositionEncoding::Utf16);
        assert_eq!(doc.rope().to_string(), "hello!");
    }

    #[test]
    fn snapshots_do_not_see_later_edits() {
        let mut doc = Document::new("a", 1, "x", "");
        let snap = doc.snapshot();
        doc.apply_change(None, "b", PositionEncoding::Utf16);
        assert_eq!(snap.rope.to_string(), "a");
        assert_eq!(doc.rope().to_string(), "b");
    }

    #[test]
    fn lsp_edits_keep_the_syntax_tree_incremental_and_exact() {
        let mut doc = Document::new("fn main() {\n    let x = 1;\n}\n", 1, "rust", "/src/main.rs");
        let parsed = doc.snapshot().syntax.parse(&doc.rope().clone(), std::time::Duration::from_secs(1));
        doc.store_syntax(&parsed);
        doc.apply_changes(
            2,
            &[change(1, 12, 1, 13, "compute(\"é😀\")"), change(0, 0, 0, 0, "// héllo\n")],
            PositionEncoding::Utf16,
        )
        .expect("forward");
        let snapshot = doc.snapshot();
        let parsed = snapshot.syntax.parse(&snapshot.rope, std::time::Duration::from_secs(1));
        assert!(parsed.stats.incremental);
        let fresh = Document::new(&doc.rope().to_string(), 1, "rust", "");
        let fresh = fresh.snapshot().syntax.parse(&fresh.rope().clone(), std::time::Duration::from_secs(1));
        let sexp = |p: &infill_context::Parsed| p.tree().map(|t| t.root_node().to_sexp());
        assert_eq!(sexp(&parsed), sexp(&fresh));
        assert!(sexp(&parsed).is_some_and(|s| s.contains("call_expression") && !s.contains("ERROR")));
    }

    #[test]
    fn recent_edits_follow_the_text_and_merge_nearby_typing() {
        let text: String = (0..40).map(|i| format!("line {i}\n")).collect();
        let mut doc = Document::new(&text, 1, "python", "/a.py");
        doc.apply_change(Some(Range::new(Position::new(30, 0), Position::new(30, 0))), "x", PositionEncoding::Utf16);
        doc.apply_change(Some(Range::new(Position::new(30, 1), Position::new(30, 1))), "y", PositionEncoding::Utf16);
        doc.apply_change(
            Some(Range::new(Position::new(2, 0), Position::new(2, 0))),
            "new line\n",
            PositionEncoding::Utf16,
        );
        let edits = doc.snapshot().recent_edits;
        assert_eq!(edits.len(), 2, "typing on one line is one region: {edits:?}");
        assert_eq!(doc.rope().byte_to_line(edits[0]), 31, "the earlier region moved down with the inserted line");
        assert_eq!(doc.rope().byte_to_line(edits[1]), 2);
    }

    /// Typing `return` in Python one change per keystroke, delivered as Helix 25.01 was
    /// seen delivering a burst: versions 2, 3, 5, 6, 7 and then 4.
    #[test]
    fn a_late_change_that_was_skipped_goes_in_its_place() {
        let text = "def greet(name):\n    \n";
        let keys: Vec<(i32, TextDocumentContentChangeEvent)> = "return"
            .chars()
            .enumerate()
            .map(|(i, c)| (i as i32 + 2, change(1, 4 + i as u32, 1, 4 + i as u32, &c.to_string())))
            .collect();
        let mut in_order = Document::new(text, 1, "python", "/a.py");
        for (version, key) in &keys {
            in_order.apply_changes(*version, std::slice::from_ref(key), PositionEncoding::Utf16).expect("forward");
        }
        let mut doc = Document::new(text, 1, "python", "/a.py");
        let parsed = doc.snapshot().syntax.parse(&doc.rope().clone(), std::time::Duration::from_secs(1));
        doc.store_syntax(&parsed);
        for i in [0, 1, 3, 4, 5, 2] {
            let (version, key) = &keys[i];
            doc.apply_changes(*version, std::slice::from_ref(key), PositionEncoding::Utf16).expect("accepted");
        }
        assert_eq!(doc.rope().to_string(), "def greet(name):\n    return\n");
        assert_eq!(doc.rope().to_string(), in_order.rope().to_string());
        assert_eq!(doc.version(), 7, "the newest version stays");
        // The syntax state followed the undo and replay exactly.
        let snapshot = doc.snapshot();
        let parsed = snapshot.syntax.parse(&snapshot.rope, std::time::Duration::from_secs(1));
        assert!(parsed.stats.incremental);
        let fresh = in_order.snapshot().syntax.parse(&in_order.rope().clone(), std::time::Duration::from_secs(1));
        let sexp = |p: &infill_context::Parsed| p.tree().map(|t| t.root_node().to_sexp());
        assert_eq!(sexp(&parsed), sexp(&fresh));
        // The filled gap is filled: the same version again is refused.
        let again = doc.apply_changes(4, &[change(1, 0, 1, 0, "x")], PositionEncoding::Utf16);
        assert_eq!(again.unwrap_err(), ChangeError::VersionWentBackwards { current: 7, received: 4 });
    }

    #[test]
    fn versions_that_jump_for_real_cost_nothing_and_old_versions_stay_refused() {
        let mut doc = Document::new("ab", 1, "x", "");
        doc.apply_changes(4, &[change(0, 2, 0, 2, "c")], PositionEncoding::Utf8).expect("a jump is fine");
        doc.apply_changes(5, &[change(0, 3, 0, 3, "d")], PositionEncoding::Utf8).expect("forward");
        assert_eq!(doc.rope().to_string(), "abcd");
        assert!(
            doc.apply_changes(1, &[change(0, 0, 0, 0, "z")], PositionEncoding::Utf8).is_err(),
            "1 was never skipped"
        );
        // A gap wider than any burst is taken as a real jump.
        doc.apply_changes(100, &[change(0, 4, 0, 4, "e")], PositionEncoding::Utf8).expect("forward");
        assert!(doc.apply_changes(50, &[change(0, 0, 0, 0, "z")], PositionEncoding::Utf8).is_err());
        assert_eq!(doc.rope().to_string(), "abcde");
    }

    /// Random multi-byte edits, each delivered late by up to three places: the text is
    /// always the text of the same edits applied in order.
    #[test]
    fn shuffled_bursts_of_random_edits_end_as_the_ordered_text() {
        let mut seed = 0x2545_f491_u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n.max(1)
        };
        for round in 0..200 {
            let mut reference = Document::new("fn a() {\n    é 😀\n}\n", 0, "rust", "/a.rs");
            let mut changes = Vec::new();
            for version in 1..=12 {
                let lines = reference.rope().len_lines() as u64;
                let line = next(lines) as u32;
                let width = reference.rope().line(line as usize).len_chars() as u64;
                let (c1, c2) = (next(width + 1) as u32, next(width + 1) as u32);
                let text = ["x", "", "ü\n", "{}", "  ", "😀"][next(6) as usize];
                let edit = change(line, c1.min(c2), line, c1.max(c2), text);
                reference
                    .apply_changes(version, std::slice::from_ref(&edit), PositionEncoding::Utf16)
                    .expect("forward");
                changes.push((version, edit));
            }
            // Deliver each change up to three places late.
            let mut order: Vec<usize> = (0..changes.len()).collect();
            for i in 0..order.len() {
                let j = (i + next(4) as usize).min(order.len() - 1);
                order.swap(i, j);
            }
            let mut doc = Document::new("fn a() {\n    é 😀\n}\n", 0, "rust", "/a.rs");
            for &i in &order {
                let (version, edit) = &changes[i];
                doc.apply_changes(*version, std::slice::from_ref(edit), PositionEncoding::Utf16).expect("accepted");
            }
            assert_eq!(doc.rope().to_string(), reference.rope().to_string(), "round {round}, order {order:?}");
            assert_eq!(doc.version(), 12);
        }
    }
}
