//! Fitting text to a token budget with exact counts: the prefix keeps the last whole
//! lines before the cursor (plus the headers of scopes the cut dropped), the suffix
//! the first whole lines after it. Counts come from the model's own tokenizer on the
//! exact text sent; only the choice of where to cut uses the cheaper per-token offsets.

use ropey::Rope;

use crate::text::{ceil_char_str, floor_char_str};
use crate::tokens::Tokenize;
use crate::{ContextError, PrefixAnchor};

/// Bytes read per budgeted token at first; the window doubles while it is too small.
const BYTES_PER_TOKEN: usize = 6;
/// Re-encodings tried before the cursor's line is cut inside.
const MAX_TRIES: usize = 8;
/// A fresh cut fills this share of the prefix budget, so that typing can go on for a
/// while before the prompt's start has to move (which costs a full re-evaluation).
const FRESH_CUT_FILL: f32 = 0.8;

/// Most prompt tokens when the settings name no budget (prompt evaluation is the cost).
pub(crate) const DEFAULT_PROMPT_TOKENS: usize = 2048;

/// The one rule for a prompt's size: `wanted` tokens (the default without a setting;
/// never under 16), within what a cache of `capacity` positions holds beside an answer
/// of `max_tokens` (at least one position, at most half the cache). The prompt builder
/// keeps every prompt within it; the engine refuses a prompt that leaves no room.
pub fn prompt_budget(wanted: Option<usize>, capacity: usize, max_tokens: usize) -> usize {
    let answer = max_tokens.min(capacity / 2).max(1);
    wanted.unwrap_or(DEFAULT_PROMPT_TOKENS).max(16).min(capacity.saturating_sub(answer))
}

/// Text kept for one part of a prompt, and its token ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Kept {
    /// The text, headers included.
    pub(crate) text: String,
    /// Its tokens.
    pub(crate) ids: Vec<u32>,
    /// Where the kept code starts (prefix) or ends (suffix) in the buffer.
    pub(crate) boundary: usize,
    /// Scope header lines put before the kept code.
    pub(crate) headers: usize,
    /// Their text.
    pub(crate) header_text: String,
}

/// Tokens a fresh cut of a `budget`-token prefix leaves free for typing.
pub(crate) fn typing_room(budget: usize) -> usize {
    budget - (budget as f32 * FRESH_CUT_FILL) as usize
}

fn encode(tokenizer: &dyn Tokenize, text: &str) -> Result<Vec<u32>, ContextError> {
    tokenizer.encode(text).map_err(ContextError::Tokenizer)
}

/// Where each token starts in `text` (token bytes laid end to end; clamped).
fn token_offsets(tokenizer: &dyn Tokenize, text: &str, ids: &[u32]) -> Vec<usize> {
    let mut at = 0;
    ids.iter()
        .map(|&id| {
            let start = at.min(text.len());
            at += tokenizer.token_bytes(id).len();
            start
        })
        .collect()
}

/// The last whole lines before `cursor` that fit `budget` tokens together with the
/// header lines `headers(cut)` returns for the first byte kept. When `anchor` (where the
/// previous prompt for this buffer started, a line start) still fits, it is kept, so
/// that the prompt's start (and the model's cached keys and values) does not move
/// with every keystroke; a fresh cut leaves room to type.
pub(crate) fn prefix(
    tokenizer: &dyn Tokenize,
    rope: &Rope,
    cursor: usize,
    budget: usize,
    anchor: Option<&PrefixAnchor>,
    headers: &dyn Fn(usize) -> Vec<String>,
) -> Result<Kept, ContextError> {
    if budget == 0 || cursor == 0 {
        return Ok(Kept::default());
    }
    let cursor_line_start = rope.line_to_byte(rope.byte_to_line(cursor));
    let at_line_start = |byte: usize| byte <= rope.len_bytes() && rope.line_to_byte(rope.byte_to_line(byte)) == byte;
    if let Some(anchor) = anchor.filter(|a| a.start > 0 && a.start <= cursor_line_start && at_line_start(a.start)) {
        // The same header text as before too (the tree around the cut may change while
        // the user types below it, with unclosed brackets and the like).
        let mut kept = anchor.headers.clone();
        kept.push_str(&rope.byte_slice(anchor.start..cursor).to_string());
        let ids = encode(tokenizer, &kept)?;
        if ids.len() <= budget {
            let lines = anchor.headers.lines().count();
            return Ok(Kept {
                text: kept,
                ids,
                boundary: anchor.start,
                headers: lines,
                header_text: anchor.headers.clone(),
            });
        }
    }
    let full = budget;
    let budget = ((budget as f32 * FRESH_CUT_FILL) as usize).max(1);
    let mut window = budget * BYTES_PER_TOKEN + 256;
    let (start, text, ids) = loop {
        let low = cursor.saturating_sub(window);
        // Start at a line start inside the window, unless the cursor's line alone fills it.
        let start = if low == 0 {
            0
        } else {
            let next = rope.line_to_byte(rope.byte_to_line(low) + 1);
            if next <= cursor_line_start {
                next
            } else {
                crate::text::floor_char(rope, low)
            }
        };
        let text = rope.byte_slice(start..cursor).to_string();
        let ids = encode(tokenizer, &text)?;
        if ids.len() < full && low > 0 && start > 0 && window < cursor {
            window *= 2;
            continue;
        }
        break (start, text, ids);
    };
    if ids.len() <= full && start == 0 {
        return Ok(Kept { text, ids, ..Kept::default() });
    }
    let offsets = token_offsets(tokenizer, &text, &ids);
    let last_line = cursor_line_start.saturating_sub(start);
    let mut drop = ids.len().saturating_sub(budget);
    for _ in 0..MAX_TRIES {
        let at = floor_char_str(&text, offsets.get(drop).copied().unwrap_or(text.len()));
        let cut = if at == 0 { 0 } else { text[at..].find('\n').map_or(text.len(), |i| at + i + 1) };
        if cut > last_line {
            break;
        }
        let header_lines = headers(start + cut);
        let header_text = header_lines.concat();
        let mut kept = header_text.clone();
        kept.push_str(&text[cut..]);
        let kept_ids = encode(tokenizer, &kept)?;
        if kept_ids.len() <= budget {
            let headers = header_lines.len();
            return Ok(Kept { text: kept, ids: kept_ids, boundary: start + cut, headers, header_text });
        }
        drop += (kept_ids.len() - budget).max(1);
    }
    // The cursor's line alone is too long: keep its last tokens.
    let line = &text[last_line..];
    let line_ids = encode(tokenizer, line)?;
    let line_offsets = token_offsets(tokenizer, line, &line_ids);
    let from = line_offsets.get(line_ids.len().saturating_sub(budget)).copied().unwrap_or(0);
    let mut from = floor_char_str(line, from);
    loop {
        let kept = &line[from..];
        let kept_ids = encode(tokenizer, kept)?;
        if kept_ids.len() <= budget || from >= line.len() {
            let boundary = start + last_line + from;
            return Ok(Kept { text: kept.to_owned(), ids: kept_ids, boundary, ..Kept::default() });
        }
        from =
            floor_char_str(line, from + (kept.len() / kept_ids.len()).max(1) * (kept_ids.len() - budget)).max(from + 1);
        from = ceil_char_str(line, from);
    }
}

/// The first whole lines from `cursor` that fit `budget` tokens (the rest of the
/// cursor's line is cut inside only when it alone is too long).
pub(crate) fn suffix(
    tokenizer: &dyn Tokenize,
    rope: &Rope,
    cursor: usize,
    budget: usize,
) -> Result<Kept, ContextError> {
    let len = rope.len_bytes();
    if budget == 0 || cursor >= len {
        return Ok(Kept { boundary: cursor, ..Kept::default() });
    }
    let mut window = budget * BYTES_PER_TOKEN + 256;
    let (text, ids) = loop {
        let high = crate::text::floor_char(rope, (cursor + window).min(len));
        let mut end = high;
        if high < len {
            let slice = rope.byte_slice(cursor..high);
            let last_break = (0..slice.len_lines()).rev().map(|l| slice.line_to_byte(l)).find(|&b| b > 0);
            end = last_break.map_or(high, |b| cursor + b);
        }
        let text = rope.byte_slice(cursor..end).to_string();
        let ids = encode(tokenizer, &text)?;
        if ids.len() < budget && high < len {
            window *= 2;
            continue;
        }
        break (text, ids);
    };
    if ids.len() <= budget {
        let boundary = cursor + text.len();
        return Ok(Kept { text, ids, boundary, ..Kept::default() });
    }
    let offsets = token_offsets(tokenizer, &text, &ids);
    let mut at = floor_char_str(&text, offsets.get(budget).copied().unwrap_or(text.len()));
    for _ in 0..MAX_TRIES {
        let Some(end) = text[..at].rfind('\n').map(|i| i + 1) else { break };
        let kept_ids = encode(tokenizer, &text[..end])?;
        if kept_ids.len() <= budget {
            return Ok(Kept { text: text[..end].to_owned(), ids: kept_ids, boundary: cursor + end, ..Kept::default() });
        }
        at = end - 1;
    }
    // The rest of the cursor's line alone is too long: keep its first tokens.
    let mut end = floor_char_str(&text, offsets.get(budget).copied().unwrap_or(text.len()));
    loop {
        let kept_ids = encode(tokenizer, &text[..end])?;
        if kept_ids.len() <= budget || end == 0 {
            return Ok(Kept { text: text[..end].to_owned(), ids: kept_ids, boundary: cursor + end, ..Kept::default() });
        }
        end = floor_char_str(&text, end.saturating_sub((end / kept_ids.len()).max(1) * (kept_ids.len() - budget)));
    }
}
