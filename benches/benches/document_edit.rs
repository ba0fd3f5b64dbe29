//! Cost of a one-character `didChange` on a 100,000-line document and of position
//! conversions, beside the baseline of rebuilding the document from a `String` (what a
//! full-sync server pays per keystroke). Run: `cargo bench -p infill-benches --bench document_edit`.

#![allow(clippy::print_stdout, reason = "a benchmark prints its report; it is no LSP server")]

use std::hint::black_box;

use infill_benches::{human, sample, Summary};
use infill_server::document_store::DocumentStore;
use infill_server::lsp_types::{Position, Range, TextDocumentContentChangeEvent, Url};
use infill_server::position::{byte_to_position, position_to_byte, PositionEncoding};
use ropey::Rope;

const LINES: usize = 100_000;
const EDITS: usize = 20_000;
const REBUILDS: usize = 30;
const TARGET_EDIT_US: f64 = 20.0;

fn document() -> String {
    (0..LINES)
        .map(|i| match i % 4 {
            0 => format!("fn function_{i}(x: u32) -> u32 {{\n"),
            1 => format!("    let s = \"héllo 😀 {i}\";\n"),
            2 => "    x.wrapping_mul(31).rotate_left(7)\n".to_owned(),
            _ => "}\n".to_owned(),
        })
        .collect()
}

fn main() {
    let text = document();
    let uri: Url = "file:///bench.rs".parse().expect("url");
    println!("document: {LINES} lines, {:.1} MB", text.len() as f64 / 1e6);
    let mut rng = fastrand::Rng::with_seed(7);
    let mut edit_p50 = None;
    for encoding in [PositionEncoding::Utf16, PositionEncoding::Utf8] {
        let store = DocumentStore::default();
        store.open(uri.clone(), &text, 0, "rust");
        // Type a character, then delete it, at random places: the size stays put.
        let mut places: Vec<(u32, u32)> = Vec::new();
        let mut samples = sample(EDITS, |i| {
            let (line, character) = if i % 2 == 0 {
                let p = (rng.u32(0..LINES as u32), rng.u32(0..2)); // every line has 1+ chars
                places.push(p);
                p
            } else {
                places.pop().expect("an insert to undo")
            };
            let start = Position::new(line, character);
            let (end, new_text) =
                if i % 2 == 0 { (start, "x".to_owned()) } else { (Position::new(line, character + 1), String::new()) };
            let change = TextDocumentContentChangeEvent {
                range: Some(Range::new(start, end)),
                range_length: None,
                text: new_text,
            };
            store.change(&uri, i as i32 + 1, &[change], encoding).expect("edit");
        });
        let edit = Summary::of(&mut samples);
        assert_eq!(store.snapshot(&uri).expect("open").rope.len_bytes(), text.len(), "edits must undo");
        println!(
            "one-char didChange ({encoding:?}): p50 {}  p95 {}  p99 {}  mean {}   (target < {TARGET_EDIT_US} µs)",
            human(edit.p50),
            human(edit.p95),
            human(edit.p99),
            human(edit.mean)
        );
        edit_p50.get_or_insert(edit);

        let rope = store.snapshot(&uri).expect("open").rope;
        let mut to_byte = sample(EDITS, |_| {
            black_box(position_to_byte(&rope, Position::new(rng.u32(0..LINES as u32), rng.u32(0..40)), encoding));
        });
        let mut to_pos = sample(EDITS, |_| {
            black_box(byte_to_position(&rope, rng.usize(0..text.len()), encoding));
        });
        let (to_byte, to_pos) = (Summary::of(&mut to_byte), Summary::of(&mut to_pos));
        println!(
            "position -> byte ({encoding:?}): p50 {}  mean {};  byte -> position: p50 {}  mean {}",
            human(to_byte.p50),
            human(to_byte.mean),
            human(to_pos.p50),
            human(to_pos.mean)
        );
    }
    let mut rebuild = sample(REBUILDS, |_| {
        black_box(Rope::from_str(black_box(&text)));
    });
    let rebuild = Summary::of(&mut rebuild);
    println!("baseline, rebuild from String: p50 {}  mean {}", human(rebuild.p50), human(rebuild.mean));
    if let Some(edit) = edit_p50 {
        let ratio = rebuild.p50.as_secs_f64() / edit.p50.as_secs_f64();
        let verdict = if edit.p50.as_secs_f64() * 1e6 < TARGET_EDIT_US { "meets" } else { "MISSES" };
        println!("ratio: an incremental edit is {ratio:.0}x cheaper than a rebuild (p50); {verdict} the {TARGET_EDIT_US} µs target");
    }
}
