//! Drafts taken from the text itself (prompt lookup): code repeats names, calls and
//! whole lines, so the tokens that followed the last occurrence of the answer's latest
//! tokens are a good guess at what comes next. Finding them costs a scan of the context,
//! checking them one forward pass shared with the token being generated.

/// The longest n-gram looked up (then shorter ones, down to `MIN_NGRAM`).
const MAX_NGRAM: usize = 4;
/// The shortest: a match of fewer tokens guesses too often wrong to be worth checking.
const MIN_NGRAM: usize = 3;

/// What drafting has cost and saved so far on this machine and model: it is used only
/// while a token from a drafted step costs less than a plain decode step (on a small
/// model or a CPU with much compute per byte of memory, checking drafts costs more
/// than it saves), and tried again now and then.
#[derive(Debug, Default)]
pub(super) struct DraftStats {
    /// Milliseconds of a one-token decode step (moving average).
    single_ms: Option<f64>,
    /// Milliseconds per token produced by drafted steps (moving average).
    drafted_ms: Option<f64>,
    /// Steps since drafting was last tried.
    idle: usize,
}

/// Steps between two tries of drafting while it does not pay.
const RETRY_EVERY: usize = 32;

impl DraftStats {
    /// Whether the next step should check drafts.
    pub(super) fn worth_it(&mut self) -> bool {
        let pays = match (self.single_ms, self.drafted_ms) {
            (Some(single), Some(drafted)) => drafted < single,
            _ => true,
        };
        self.idle += 1;
        if pays || self.idle >= RETRY_EVERY {
            self.idle = 0;
            return true;
        }
        false
    }

    /// A one-token step took `ms`.
    pub(super) fn single(&mut self, ms: f64) {
        self.single_ms = Some(average(self.single_ms, ms));
    }

    /// A drafted step took `ms` and produced `tokens` tokens.
    pub(super) fn drafted(&mut self, ms: f64, tokens: usize) {
        self.drafted_ms = Some(average(self.drafted_ms, ms / tokens.max(1) as f64));
    }
}

fn average(old: Option<f64>, new: f64) -> f64 {
    old.map_or(new, |old| 0.9 * old + 0.1 * new)
}

/// Up to `most` tokens that followed the latest earlier occurrence of the context's
/// last `n` tokens (the longest `n` from 4 down to 3 that occurs), or none.
pub(super) fn lookup(context: &[u32], most: usize) -> Vec<u32> {
    if most == 0 {
        return Vec::new();
    }
    for n in (MIN_NGRAM..=MAX_NGRAM.min(context.len().saturating_sub(1))).rev() {
        let tail = &context[context.len() - n..];
        // The latest occurrence that is not the tail itself and has tokens after it.
        let found = (0..context.len() - n).rev().find(|&i| &context[i..i + n] == tail);
        if let Some(i) = found {
            let from = i + n;
            return context[from..(from + most).min(context.len())].to_vec();
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::lookup;

    #[test]
    fn the_tokens_after_the_latest_match_of_the_longest_tail_are_the_draft() {
        // ... 5 6 7 8 9 ... 1 5 6 7 -> after "5 6 7" came "8 9".
        let context = [1, 5, 6, 7, 8, 9, 2, 3, 1, 5, 6, 7];
        assert_eq!(lookup(&context, 4), vec![8, 9, 2, 3]);
        assert_eq!(lookup(&context, 1), vec![8]);
        // The latest of two occurrences wins.
        let context = [4, 5, 6, 10, 4, 5, 6, 11, 4, 5, 6];
        assert_eq!(lookup(&context, 2), vec![11, 4]);
        // Fewer than three tokens in common: no draft.
        assert!(lookup(&[1, 2, 9, 1, 2], 4).is_empty());
    }

    #[test]
    fn no_match_or_no_room_is_no_draft() {
        assert!(lookup(&[1, 2, 3, 4], 4).is_empty());
        assert!(lookup(&[1, 2, 1, 2], 0).is_empty());
        assert!(lookup(&[7], 3).is_empty());
    }
}
