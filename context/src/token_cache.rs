//! Tokenization reused across keystrokes. Text is encoded in segments of whole lines
//! whose ids are cached by content, so after a keystroke only the edited segment is
//! encoded again. This is exact only where the tokenizer never merges across the
//! segment boundaries: each tokenizer is checked once, on sample code, for the
//! boundary that holds (after a line break for Qwen/Llama-3-style pre-tokenizers,
//! before it for GPT-2-style ones, which join a line break with the next line's
//! indentation); when neither holds (SentencePiece adds a space at each text's
//! start) every text is encoded whole. Written here because tokenizers has no
//! incremental encoding.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use crate::tokens::Tokenize;

/// Segments cached before the cache is emptied.
const MAX_SEGMENTS: usize = 8192;
/// A line ends a segment when its hash modulo this is zero (about this many lines a
/// segment; boundaries depend on content only, so edits elsewhere keep them).
const LINES_PER_SEGMENT: u64 = 6;

/// Where segments may be split without changing the tokenization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boundary {
    /// Right after a line break.
    AfterNewline,
    /// Right before a line break that follows a non-space character.
    BeforeNewline,
    /// Nowhere: encode every text whole.
    None,
}

/// Cached segment encodings for one tokenizer.
pub struct TokenCache {
    boundary: Boundary,
    segments: Mutex<HashMap<u64, Arc<[u32]>>>,
}

/// Code the boundary check runs on: indentation, trailing punctuation, blank lines,
/// tabs, CRLF, comments, strings and non-ASCII text.
const SAMPLES: &[&str] = &[
    "use std::fmt;\n\nimpl fmt::Display for Point {\n    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {\n        write!(f, \"({}, {})\", self.x, self.y)\n    }\n}\n\n\n// héllo wörld 😀\nfn main() {\n\tlet v = vec![1, 2, 3];\n\tfor x in &v {\n\t\tprintln!(\"{x}\");\n\t}\n}\n",
    "import os\n\n\nclass Store:\n    \"\"\"Keeps notes.\"\"\"\n\n    def __init__(self, path):\n        self.path = path  # where\n        self.items = {}\n\n    def add(self, key, value):\n        if key not in self.items:\n            self.items[key] = []\n        self.items[key].append(value)\n        return len(self.items)\n",
    "function f(a, b) {\r\n  return a + b;\r\n}\r\n\r\nconst x = [\r\n  1,\r\n  2,\r\n];\r\n  \n    \n}\n)\n]\n;\n:\n\"\"\"\n'''\n#\n//\n123\n4.5e6\n",
];

fn hash_of(text: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// Byte offsets where `text` may be split under `boundary`; `every_line` splits at
/// every line, else only where the content-defined rule says.
fn boundaries(text: &str, boundary: Boundary, every_line: bool) -> Vec<usize> {
    let mut out = Vec::new();
    if boundary == Boundary::None {
        return out;
    }
    let bytes = text.as_bytes();
    let mut line_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b != b'\n' {
            continue;
        }
        let line = &text[line_start..i];
        line_start = i + 1;
        if !every_line && !hash_of(line).is_multiple_of(LINES_PER_SEGMENT) {
            continue;
        }
        match boundary {
            Boundary::AfterNewline if i + 1 < bytes.len() => out.push(i + 1),
            Boundary::BeforeNewline if i > 0 && !bytes[i - 1].is_ascii_whitespace() => out.push(i),
            _ => {}
        }
    }
    out
}

impl TokenCache {
    /// A cache for `tokenizer`, after checking which boundary keeps its encodings exact.
    pub fn new(tokenizer: &dyn Tokenize) -> TokenCache {
        let sound = |boundary: Boundary| {
            SAMPLES.iter().all(|sample| {
                let Ok(whole) = tokenizer.encode(sample) else { return false };
                let mut pieces = Vec::new();
                let mut start = 0;
                for end in boundaries(sample, boundary, true).into_iter().chain(std::iter::once(sample.len())) {
                    match tokenizer.encode(&sample[start..end]) {
                        Ok(ids) => pieces.extend(ids),
                        Err(_) => return false,
                    }
                    start = end;
                }
                pieces == whole
            })
        };
        let boundary =
            [Boundary::AfterNewline, Boundary::BeforeNewline].into_iter().find(|&b| sound(b)).unwrap_or(Boundary::None);
        TokenCache { boundary, segments: Mutex::new(HashMap::new()) }
    }

    /// The boundary this tokenizer allows.
    pub fn boundary(&self) -> Boundary {
        self.boundary
    }

    /// `tokenizer` with this cache in front.
    pub fn wrap<'a>(&'a self, tokenizer: &'a dyn Tokenize) -> CachedTokenizer<'a> {
        CachedTokenizer { cache: self, inner: tokenizer }
    }

    fn segment(&self, tokenizer: &dyn Tokenize, text: &str) -> Result<Arc<[u32]>, crate::TokenizeError> {
        let key = hash_of(text);
        if let Some(ids) = self.segments.lock().ok().and_then(|map| map.get(&key).cloned()) {
            return Ok(ids);
        }
        let ids: Arc<[u32]> = tokenizer.encode(text)?.into();
        if let Ok(mut map) = self.segments.lock() {
            if map.len() >= MAX_SEGMENTS {
                map.clear();
            }
            map.insert(key, ids.clone());
        }
        Ok(ids)
    }
}

/// A tokenizer whose encodings go through a [`TokenCache`].
pub struct CachedTokenizer<'a> {
    cache: &'a TokenCache,
    inner: &'a dyn Tokenize,
}

impl Tokenize for CachedTokenizer<'_> {
    fn encode(&self, text: &str) -> Result<Vec<u32>, crate::TokenizeError> {
        if self.cache.boundary == Boundary::None {
            return self.inner.encode(text);
        }
        let mut ids = Vec::with_capacity(text.len() / 3);
        let mut start = 0;
        for end in boundaries(text, self.cache.boundary, false).into_iter().chain(std::iter::once(text.len())) {
            if end > start {
                ids.extend_from_slice(&self.cache.segment(self.inner, &text[start..end])?);
            }
            start = end;
        }
        Ok(ids)
    }

    fn token_bytes(&self, id: u32) -> &[u8] {
        self.inner.token_bytes(id)
    }

    fn spelling(&self, id: u32) -> String {
        self.inner.spelling(id)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// Splits text into runs of one class; ids are the runs' hashes.
    struct Runs {
        /// A line break joins the spaces after it (GPT-2 style).
        newline_joins_spaces: bool,
        /// Every text starts with a marker token (SentencePiece's leading space).
        marker: bool,
        calls: Cell<usize>,
    }

    impl Runs {
        fn new(newline_joins_spaces: bool, marker: bool) -> Runs {
            Runs { newline_joins_spaces, marker, calls: Cell::new(0) }
        }
    }

    impl Tokenize for Runs {
        fn encode(&self, text: &str) -> Result<Vec<u32>, crate::TokenizeError> {
            self.calls.set(self.calls.get() + 1);
            let class = |c: char| match c {
                '\n' if self.newline_joins_spaces => 1,
                '\n' => 3,
                ' ' | '\t' => 1,
                c if c.is_alphanumeric() => 2,
                _ => 4,
            };
            let mut ids = if self.marker { vec![0] } else { Vec::new() };
            let mut run = String::new();
            for c in text.chars() {
                if !run.is_empty() && (class(c) != run.chars().last().map_or(0, class) || class(c) >= 3) {
                    ids.push(hash_of(&run) as u32);
                    run.clear();
                }
                run.push(c);
            }
            if !run.is_empty() {
                ids.push(hash_of(&run) as u32);
            }
            Ok(ids)
        }

        fn token_bytes(&self, _: u32) -> &[u8] {
            &[]
        }
    }

    #[test]
    fn the_boundary_found_is_the_one_the_tokenizer_allows() {
        assert_eq!(TokenCache::new(&Runs::new(false, false)).boundary(), Boundary::AfterNewline);
        assert_eq!(TokenCache::new(&Runs::new(true, false)).boundary(), Boundary::BeforeNewline);
        assert_eq!(TokenCache::new(&Runs::new(true, true)).boundary(), Boundary::None);
    }

    #[test]
    fn cached_encodings_equal_whole_ones_and_skip_unchanged_segments() {
        for tokenizer in [Runs::new(false, false), Runs::new(true, false), Runs::new(true, true)] {
            let cache = TokenCache::new(&tokenizer);
            let cached = cache.wrap(&tokenizer);
            let mut text: String = (0..400).map(|i| format!("    let value_{i} = compute({i}) + 1;\n")).collect();
            assert_eq!(cached.encode(&text).ok(), tokenizer.encode(&text).ok());
            text.insert(text.len() / 2, 'x');
            let before = tokenizer.calls.get();
            assert_eq!(cached.encode(&text).ok(), tokenizer.encode(&text).ok(), "after an edit");
            let encodes = tokenizer.calls.get() - before - 1;
            if cache.boundary() == Boundary::None {
                assert_eq!(encodes, 1);
            } else {
                assert!(encodes <= 3, "only the edited segment is encoded again: {encodes} encodes");
            }
        }
    }
}
