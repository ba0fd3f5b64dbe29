//! The document store against the plain-`String` model in [`crate::reference`]: any
//! sequence of opens, changes (ranges anywhere, versions in and out of order) and closes
//! leaves every open document's text equal to the model's.

use arbitrary::{Arbitrary, Unstructured};
use infill_server::document_store::DocumentStore;
use infill_server::lsp_types::{Position, Range, TextDocumentContentChangeEvent, Url};
use infill_server::position::PositionEncoding;

use crate::reference::{Change, RefDoc};

/// One client message about documents.
#[derive(Arbitrary, Debug)]
pub enum Op {
    /// `didOpen` of document `doc` (0-3).
    Open {
        /// Which document.
        doc: u8,
        /// Its text.
        text: String,
    },
    /// `didChange`.
    Change {
        /// Which document.
        doc: u8,
        /// Added to the current version (negative: a late or stale one).
        version_step: i8,
        /// The content changes.
        edits: Vec<Edit>,
    },
    /// `didClose`.
    Close {
        /// Which document.
        doc: u8,
    },
}

/// One content change.
#[derive(Arbitrary, Debug, Clone)]
pub struct Edit {
    /// `None`: the whole text.
    pub range: Option<((u8, u8), (u8, u8))>,
    /// The new text.
    pub text: String,
}

impl Edit {
    /// The change as the reference model takes it.
    pub fn change(&self) -> Change {
        let widen = |(l, c): (u8, u8)| (u32::from(l), u32::from(c));
        Change { range: self.range.map(|(a, b)| (widen(a), widen(b))), text: self.text.clone() }
    }

    /// The change as LSP sends it.
    pub fn event(&self) -> TextDocumentContentChangeEvent {
        let change = self.change();
        let pos = |(line, character): (u32, u32)| Position { line, character };
        TextDocumentContentChangeEvent {
            range: change.range.map(|(a, b)| Range { start: pos(a), end: pos(b) }),
            range_length: None,
            text: change.text,
        }
    }
}

/// A document's URI in fuzz runs.
pub fn uri(doc: u8) -> Url {
    Url::parse(&format!("file:///fuzz/doc{}.rs", doc % 4)).unwrap_or_else(|_| unreachable!("a fixed, valid URI"))
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(encoding) = u.choose(&[PositionEncoding::Utf8, PositionEncoding::Utf16, PositionEncoding::Utf32]) else {
        return;
    };
    let encoding = *encoding;
    let Ok(ops) = Vec::<Op>::arbitrary_take_rest(u) else { return };
    let store = DocumentStore::default();
    let mut model: [Option<RefDoc>; 4] = Default::default();
    for op in ops {
        match op {
            Op::Open { doc, text } => {
                store.open(uri(doc), &text, 0, "rust");
                model[usize::from(doc % 4)] = Some(RefDoc::open(&text, 0));
            }
            Op::Change { doc, version_step, edits } => {
                let slot = &mut model[usize::from(doc % 4)];
                let version = slot.as_ref().map_or(0, |d| d.version).saturating_add(i32::from(version_step));
                let events: Vec<_> = edits.iter().map(Edit::event).collect();
                let taken = store.change(&uri(doc), version, &events, encoding);
                match (slot, taken) {
                    (Some(reference), Ok(_)) => {
                        reference.take(version, edits.iter().map(Edit::change).collect(), encoding)
                    }
                    (Some(reference), Err(_)) => {
                        assert!(version < reference.version, "version {version} refused at {}", reference.version)
                    }
                    (None, Ok(_)) => panic!("a change to a closed document was taken"),
                    (None, Err(_)) => {}
                }
            }
            Op::Close { doc } => {
                let was_open = model[usize::from(doc % 4)].take().is_some();
                assert_eq!(store.close(&uri(doc)), was_open);
            }
        }
        for (doc, reference) in model.iter().enumerate() {
            let snapshot = store.snapshot(&uri(doc as u8)).map(|s| s.rope.to_string());
            assert_eq!(snapshot, reference.as_ref().map(|r| r.text.clone()), "document {doc}");
        }
    }
}
