//! Every open buffer, keyed by URI, shared by all handlers.
//!
//! Handlers run concurrently (tower-lsp polls several at once), so each method here
//! takes the map entry, does its work synchronously and releases the entry before it
//! returns: no guard ever lives across an `.await`.

use dashmap::DashMap;
use tower_lsp::lsp_types::{TextDocumentContentChangeEvent, Url};

use crate::document::{ByteEdit, ChangeError, Document, Snapshot};
use crate::position::PositionEncoding;

/// The open documents.
#[derive(Default)]
pub struct DocumentStore {
    docs: DashMap<Url, Document>,
}

/// Why a change could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The client changed a document it never opened (or already closed).
    NotOpen,
    /// The document refused the change.
    Change(ChangeError),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::NotOpen => f.write_str("the document is not open"),
            StoreError::Change(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StoreError {}

impl DocumentStore {
    /// Opens (or reopens, replacing) a document.
    pub fn open(&self, uri: Url, text: &str, version: i32, language_id: &str) {
        let document = Document::new(text, version, language_id, uri.path());
        self.docs.insert(uri, document);
    }

    /// Applies one `didChange`.
    pub fn change(
        &self,
        uri: &Url,
        version: i32,
        changes: &[TextDocumentContentChangeEvent],
        encoding: PositionEncoding,
    ) -> Result<Vec<ByteEdit>, StoreError> {
        let mut doc = self.docs.get_mut(uri).ok_or(StoreError::NotOpen)?;
        doc.apply_changes(version, changes, encoding).map_err(StoreError::Change)
    }

    /// Forgets a document; returns whether it was open.
    pub fn close(&self, uri: &Url) -> bool {
        self.docs.remove(uri).is_some()
    }

    /// Hands a parse's tree back to the document it was made from.
    pub fn store_syntax(&self, uri: &Url, parsed: &infill_context::Parsed) {
        if let Some(mut doc) = self.docs.get_mut(uri) {
            doc.store_syntax(parsed);
        }
    }

    /// Remembers where the prompt for `version` of a document started, unless the
    /// document moved on since (its edits would have had to move it).
    pub fn set_prompt_start(&self, uri: &Url, version: i32, anchor: infill_context::PrefixAnchor) {
        if let Some(mut doc) = self.docs.get_mut(uri) {
            if doc.version() == version {
                doc.set_prompt_start(anchor);
            }
        }
    }

    /// Forgets every document's prompt start (the model changed: its frozen prompt
    /// heads hold another vocabulary's ids).
    pub fn forget_prompt_starts(&self) {
        for mut doc in self.docs.iter_mut() {
            doc.forget_prompt_start();
        }
    }

    /// Snapshots of the other open documents, most recently edited first (then the
    /// rest in no particular order), at most `limit`.
    pub fn others(&self, uri: &Url, limit: usize) -> Vec<(Url, Snapshot)> {
        let mut others: Vec<(Url, Snapshot)> = self
            .docs
            .iter()
            .filter(|entry| entry.key() != uri)
            .map(|entry| (entry.key().clone(), entry.snapshot()))
            .collect();
        others.sort_by_key(|o| std::cmp::Reverse(o.1.edited_at));
        others.truncate(limit);
        others
    }

    /// A snapshot of one document, if it is open.
    pub fn snapshot(&self, uri: &Url) -> Option<Snapshot> {
        self.docs.get(uri).map(|doc| doc.snapshot())
    }

    /// The current version of one document, if it is open.
    pub fn version(&self, uri: &Url) -> Option<i32> {
        self.docs.get(uri).map(|doc| doc.version())
    }

    /// How many documents are open.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether no document is open.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }
}
