//! Answers that need no model. Recent results are kept keyed on the text around the
//! cursor (the document, the last bytes before the cursor, the first bytes after it),
//! so moving back, deleting and retyping, or undoing cost nothing. Typed-ahead: when
//! the text before the cursor is a cached state plus the first characters of its
//! suggestion (the user typed along the ghost text), the rest of it is the answer.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use infill_context::{ceil_char, ceil_char_str, floor_char};
use ropey::Rope;
use tower_lsp::lsp_types::Url;

use crate::confidence::Scored;

/// Bytes before the cursor that identify a state.
const BEFORE: usize = 2048;
/// Bytes after the cursor that identify a state.
const AFTER: usize = 512;
/// How far back typed-ahead looks for the state a suggestion was made in.
const LOOKBACK: usize = 128;
/// Entries kept; the least recently used goes first.
const CAPACITY: usize = 1024;

/// The text around a cursor, as the cache sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// Up to `BEFORE + LOOKBACK` bytes before the cursor (whole characters).
    pub before: String,
    /// Up to `AFTER` bytes after the cursor (whole characters).
    pub after: String,
}

impl Window {
    /// The window around byte `cursor` of `rope`.
    pub fn of(rope: &Rope, cursor: usize) -> Window {
        let cursor = floor_char(rope, cursor.min(rope.len_bytes()));
        let start = ceil_char(rope, cursor.saturating_sub(BEFORE + LOOKBACK));
        let end = floor_char(rope, (cursor + AFTER).min(rope.len_bytes()));
        Window { before: rope.byte_slice(start..cursor).to_string(), after: rope.byte_slice(cursor..end).to_string() }
    }

    /// The window after `typed` is inserted at the cursor.
    pub fn after_typing(&self, typed: &str) -> Window {
        let mut before = String::with_capacity(self.before.len() + typed.len());
        before.push_str(&self.before);
        before.push_str(typed);
        let cut = ceil_char_str(&before, before.len().saturating_sub(BEFORE + LOOKBACK));
        Window { before: before[cut..].to_owned(), after: self.after.clone() }
    }
}

/// How a cached answer was found.
#[derive(Clone, Debug, PartialEq)]
pub enum Hit {
    /// This exact state was answered before (the text may be empty: nothing to show);
    /// and whether it was shown then.
    Exact(Scored, bool),
    /// The user typed the first `typed` bytes of an earlier suggestion; `rest` is the remainder.
    TypedAhead {
        /// Bytes of the suggestion already typed.
        typed: usize,
        /// What is left to show, with the scores of the tokens that wrote it.
        rest: Scored,
        /// Whether the suggestion was shown before (and the user typed on instead of
        /// taking it), rather than hidden.
        shown_before: bool,
    },
}

/// One answer kept.
struct Entry {
    answer: Scored,
    /// Whether it was shown to the user.
    shown: bool,
    /// When it was last used (a counter).
    used: u64,
}

#[derive(Default)]
struct Entries {
    map: HashMap<u64, Entry>,
    tick: u64,
}

/// Recent answers by state.
#[derive(Default)]
pub struct SuggestionCache {
    entries: Mutex<Entries>,
}

/// The key of the state whose text before the cursor is `before` (its last `BEFORE` bytes).
fn key(uri: &Url, before: &str, after: &str) -> u64 {
    let start = ceil_char_str(before, before.len().saturating_sub(BEFORE));
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    uri.as_str().hash(&mut hasher);
    before[start..].hash(&mut hasher);
    after.hash(&mut hasher);
    hasher.finish()
}

impl SuggestionCache {
    /// A cached answer for the state `window` of `uri`, if there is one.
    pub fn lookup(&self, uri: &Url, window: &Window) -> Option<Hit> {
        let mut entries = self.entries.lock().ok()?;
        entries.tick += 1;
        let tick = entries.tick;
        if let Some(entry) = entries.map.get_mut(&key(uri, &window.before, &window.after)) {
            entry.used = tick;
            return Some(Hit::Exact(entry.answer.clone(), entry.shown));
        }
        let before = &window.before;
        for typed in 1..=LOOKBACK.min(before.len()) {
            let at = before.len() - typed;
            if !before.is_char_boundary(at) {
                continue;
            }
            let Some(entry) = entries.map.get_mut(&key(uri, &before[..at], &window.after)) else { continue };
            let typed_text = &before[at..];
            if entry.answer.text.len() > typed_text.len() && entry.answer.text.starts_with(typed_text) {
                entry.used = tick;
                return Some(Hit::TypedAhead { typed, rest: entry.answer.after(typed), shown_before: entry.shown });
            }
        }
        None
    }

    /// Remembers `suggestion` (empty: nothing to show) as the answer in state `window`.
    pub fn store(&self, uri: &Url, window: &Window, suggestion: Scored) {
        let Ok(mut entries) = self.entries.lock() else { return };
        entries.tick += 1;
        let tick = entries.tick;
        if entries.map.len() >= CAPACITY {
            if let Some(oldest) = entries.map.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| *k) {
                entries.map.remove(&oldest);
            }
        }
        entries
            .map
            .insert(key(uri, &window.before, &window.after), Entry { answer: suggestion, shown: false, used: tick });
    }

    /// Notes that the answer stored in the state `typed` bytes before `window` (the
    /// state itself for 0) was shown to the user.
    pub fn mark_shown(&self, uri: &Url, window: &Window, typed: usize) {
        let Ok(mut entries) = self.entries.lock() else { return };
        let before = &window.before;
        let Some(at) = before.len().checked_sub(typed).filter(|at| before.is_char_boundary(*at)) else { return };
        if let Some(entry) = entries.map.get_mut(&key(uri, &before[..at], &window.after)) {
            entry.shown = true;
        }
    }

    /// Forgets everything (another model, other settings).
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.map.clear();
        }
    }

    /// How many answers are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map(|e| e.map.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri() -> Url {
        "file:///a.py".parse().expect("url")
    }

    #[test]
    fn typing_along_a_suggestion_gives_its_rest_and_other_text_misses() {
        let cache = SuggestionCache::default();
        let rope = Rope::from_str("def f(x):\n    return \nprint(f(1))\n");
        let window = Window::of(&rope, 21);
        cache.store(&uri(), &window, Scored::plain("x * 2"));
        assert_eq!(cache.lookup(&uri(), &window), Some(Hit::Exact(Scored::plain("x * 2"), false)));
        let typed = Window::of(&Rope::from_str("def f(x):\n    return x \nprint(f(1))\n"), 23);
        let rest = Scored::plain("* 2");
        assert_eq!(
            cache.lookup(&uri(), &typed),
            Some(Hit::TypedAhead { typed: 2, rest: rest.clone(), shown_before: false })
        );
        cache.mark_shown(&uri(), &typed, 2);
        assert_eq!(
            cache.lookup(&uri(), &window),
            Some(Hit::Exact(Scored::plain("x * 2"), true)),
            "marked through its rest"
        );
        assert_eq!(cache.lookup(&uri(), &typed), Some(Hit::TypedAhead { typed: 2, rest, shown_before: true }));
        let wrong = Window::of(&Rope::from_str("def f(x):\n    return y \nprint(f(1))\n"), 23);
        assert_eq!(cache.lookup(&uri(), &wrong), None, "typed text that is not the suggestion's");
        let fully_typed = window.after_typing("x * 2");
        assert_eq!(cache.lookup(&uri(), &fully_typed), None, "nothing left to show: ask the model");
        let other_after = Window::of(&Rope::from_str("def f(x):\n    return \nprint(f(2))\n"), 21);
        assert_eq!(cache.lookup(&uri(), &other_after), None, "the text after the cursor counts");
        let other_doc: Url = "file:///b.py".parse().expect("url");
        assert_eq!(cache.lookup(&other_doc, &window), None);
    }

    #[test]
    fn windows_after_typing_equal_windows_of_the_typed_text_and_the_cache_stays_bounded() {
        let text = "é".repeat(3000);
        let rope = Rope::from_str(&text);
        let typed = Window::of(&rope, rope.len_bytes()).after_typing("ab😀");
        let direct = Window::of(&Rope::from_str(&(text + "ab😀")), 6006);
        assert_eq!(cache_key(&typed), cache_key(&direct));
        let cache = SuggestionCache::default();
        for i in 0..CAPACITY + 10 {
            cache.store(&uri(), &Window { before: i.to_string(), after: String::new() }, Scored::plain("x"));
        }
        assert_eq!(cache.len(), CAPACITY);
    }

    fn cache_key(window: &Window) -> u64 {
        key(&uri(), &window.before, &window.after)
    }
}
