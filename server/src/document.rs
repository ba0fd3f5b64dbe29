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
            ChangeError::VersionWentBackwards { current, received } => write!(
                f,
                "change for version {received} refused: the document is already at version {current}"
            ),
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
        }
    }

    /// Remembers where the last prompt's text started (for the next request's anchor).
    pub fn set_prompt_start(&mut self, anchor: PrefixAnchor) {
        self.prompt_start = Some(anchor);
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
    /// A version lower than the current one is refused and nothing changes.
    pub fn apply_changes(
        &mut self,
        version: i32,
        changes: &[TextDocumentContentChangeEvent],
        encoding: PositionEncoding,
    ) -> Result<Vec<ByteEdit>, ChangeError> {
        if version < self.version {
            return Err(ChangeError::VersionWentBackwards { current: self.version, received: version });
        }
        let edits = changes
            .iter()
            .map(|change| self.apply_change(change.range, &change.text, encoding))
            .collect();
        self.version = version;
        Ok(edits)
    }

    /// Replaces `range` (the whole text when `None`) with `text`. Positions out of range
    /// are clamped; a range whose end comes before its start is read the other way round.
    pub fn apply_change(&mut self, range: Option<Range>, text: &str, encoding: PositionEncoding) -> ByteEdit {
        self.edited_at = Some(Instant::now());
        let Some(range) = range else {
            let old_end = self.rope.len_bytes();
            self.rope = Rope::from_str(text);
            self.syntax.reset();
            self.recent_edits.clear();
            self.prompt_start = None;
            return ByteEdit { start: 0, old_end, new_end: text.len() };
        };
        let (a, b) = (range.start, range.end);
        let (first, last): (Position, Position) =
            if (a.line, a.character) <= (b.line, b.character) { (a, b) } else { (b, a) };
        let start = position_to_char(&self.rope, first, encoding);
        let end = position_to_char(&self.rope, last, encoding).max(start);
        let start_byte = self.rope.char_to_byte(start);
        let old_end = self.rope.char_to_byte(end);
        let start_point = SyntaxEdit::point(&self.rope, start_byte);
        let old_end_point = SyntaxEdit::point(&self.rope, old_end);
        if end > start {
            self.rope.remove(start..end);
        }
        if !text.is_empty() {
            self.rope.insert(start, text);
        }
        let new_end = start_byte + text.len();
        self.syntax.edit(SyntaxEdit {
            start_byte,
            old_end_byte: old_end,
            new_end_byte: new_end,
            start: start_point,
            old_end: old_end_point,
            new_end: SyntaxEdit::point(&self.rope, new_end),
        });
        self.note_edit(start_byte, old_end, new_end);
        ByteEdit { start: start_byte, old_end, new_end }
    }

    /// Remembers where the text changed, shifting earlier positions past the edit;
    /// an edit next to the last one replaces it (typing is one region, not many).
    fn note_edit(&mut self, start: usize, old_end: usize, new_end: usize) {
        // Edits after the prompt's start leave it be; one before it (its header lines
        // may have changed) means a fresh cut next time.
        if self.prompt_start.as_ref().is_some_and(|anchor| start < anchor.start) {
            self.prompt_start = None;
        }
        for at in &mut self.recent_edits {
            if *at >= old_end {
                *at = *at - old_end + new_end;
            } else if *at > start {
                *at = start;
            }
        }
        let near = |at: usize| self.rope.byte_to_line(at.min(self.rope.len_bytes())).abs_diff(self.rope.byte_to_line(start.min(self.rope.len_bytes()))) <= 3;
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
            .apply_changes(2, &[change(0, 11, 0, 11, "\n    let x = 1;"), change(1, 8, 1, 9, "y")], PositionEncoding::Utf16)
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
        doc.apply_changes(2, &[change(1, 12, 1, 13, "compute(\"é😀\")"), change(0, 0, 0, 0, "// héllo\n")], PositionEncoding::Utf16)
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
        doc.apply_change(Some(Range::new(Position::new(2, 0), Position::new(2, 0))), "new line\n", PositionEncoding::Utf16);
        let edits = doc.snapshot().recent_edits;
        assert_eq!(edits.len(), 2, "typing on one line is one region: {edits:?}");
        assert_eq!(doc.rope().byte_to_line(edits[0]), 31, "the earlier region moved down with the inserted line");
        assert_eq!(doc.rope().byte_to_line(edits[1]), 2);
    }
}
