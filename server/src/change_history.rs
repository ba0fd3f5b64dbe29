//! The last changes applied to a document, so that a change that arrives late can still
//! be put in its place.
//!
//! Some clients send `didChange` notifications out of order when keystrokes come in a
//! burst (Helix 25.01 was seen sending versions 4, 5, 6 and then 3). Refusing the late
//! one would leave our copy of the buffer different from the editor's for good. Instead,
//! a version that was skipped over is remembered as a gap; when it arrives, the later
//! changes are undone, it is applied, and they are applied again. Versions may also jump
//! for real (Neovim sends its changedtick), so a gap that is never filled costs nothing.

use std::collections::{BTreeSet, VecDeque};

use tower_lsp::lsp_types::TextDocumentContentChangeEvent;

/// Versions kept for undoing and replaying.
const KEPT_VERSIONS: usize = 32;
/// Wider jumps are taken as real (no change will fill them).
const MAX_GAP: i32 = 16;
/// Text removed by one change that is kept for undoing it; a larger one ends the history.
const MAX_UNDO_BYTES: usize = 1 << 20;

/// How to undo one applied content change: put `removed` back over the
/// `inserted_len` bytes that start at `start`.
#[derive(Clone, Debug)]
pub struct Undo {
    /// First byte the change touched.
    pub start: usize,
    /// Length of the text the change inserted.
    pub inserted_len: usize,
    /// The text the change removed.
    pub removed: String,
}

/// One applied `didChange`: its version, its content changes (to replay them) and how
/// to undo each of them.
#[derive(Clone, Debug)]
pub struct Applied {
    /// The version it carried.
    pub version: i32,
    /// Its content changes as the client sent them.
    pub changes: Vec<TextDocumentContentChangeEvent>,
    /// How to undo each change, in the order they were applied.
    pub undo: Vec<Undo>,
}

/// The recent changes of a document and the versions skipped between them.
#[derive(Clone, Debug, Default)]
pub struct ChangeHistory {
    applied: VecDeque<Applied>,
    gaps: BTreeSet<i32>,
    /// The newest version that was dropped from `applied`: a gap at or below it cannot
    /// be filled (a change after it can no longer be undone).
    floor: Option<i32>,
}

impl ChangeHistory {
    /// Records a change applied on top of `previous` (the version before it).
    pub fn record(&mut self, previous: i32, applied: Applied) {
        if applied.undo.iter().any(|u| u.removed.len() > MAX_UNDO_BYTES) {
            self.clear();
            return;
        }
        let skipped = applied.version.saturating_sub(previous) - 1;
        if (1..=MAX_GAP).contains(&skipped) {
            self.gaps.extend(previous + 1..applied.version);
        }
        self.applied.push_back(applied);
        while self.applied.len() > KEPT_VERSIONS {
            if let Some(dropped) = self.applied.pop_front() {
                self.floor = Some(self.floor.map_or(dropped.version, |f| f.max(dropped.version)));
            }
        }
        if let Some(floor) = self.floor {
            self.gaps.retain(|&gap| gap > floor);
        }
    }

    /// Whether a late change of `version` can be put in its place: it was skipped, and
    /// every change after it can be undone.
    pub fn can_insert(&self, version: i32) -> bool {
        self.gaps.contains(&version) && self.floor.is_none_or(|floor| version > floor)
    }

    /// The version of the newest change kept.
    pub fn newest(&self) -> Option<i32> {
        self.applied.back().map(|a| a.version)
    }

    /// Takes the changes after `version` off the history, newest first (to be undone,
    /// then replayed in the opposite order), and marks `version` as no longer missing.
    pub fn take_after(&mut self, version: i32) -> Vec<Applied> {
        self.gaps.remove(&version);
        let mut after = Vec::new();
        while self.applied.back().is_some_and(|a| a.version > version) {
            if let Some(a) = self.applied.pop_back() {
                after.push(a);
            }
        }
        after
    }

    /// Forgets everything (a full-text change or a huge one): no earlier change can be
    /// put in its place after this.
    pub fn clear(&mut self) {
        self.floor = self.newest().or(self.floor);
        self.applied.clear();
        self.gaps.clear();
    }
}
