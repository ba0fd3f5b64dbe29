//! Reusing cached keys and values at other positions. When a prompt differs from the
//! cache's tokens in the middle (text typed before a part that is unchanged, such as
//! the suffix of a fill-in-the-middle prompt when the user leaves the place where they
//! typed), the unchanged part's keys and values are moved to their new positions and
//! the keys rotated by the distance (rotary embeddings compose: rotating by `a` then
//! by `b` is rotating by `a + b`), so only the changed tokens are evaluated.
//!
//! This is an approximation: the moved tokens' keys and values were computed with the
//! old text before them. How often answers still agree with an exact evaluation is
//! measured by the typing replay (`INFILL_VERIFY_SHIFT`), not assumed.

use std::collections::HashMap;
use std::ops::Range;

/// A run of cached positions to move: `len` positions from `from` to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Move {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) len: usize,
}

impl Move {
    /// The positions it fills in the new prompt.
    pub(crate) fn target(&self) -> Range<usize> {
        self.to..self.to + self.len
    }
}

/// Runs of `prompt[start..end]` found in `held[start..]`, at least `min` tokens long,
/// in order (each found after the previous one in `held`), that are worth moving
/// (`from != to`). `end` excludes what must be evaluated anyway (the last token).
pub(crate) fn plan(held: &[u32], prompt: &[u32], start: usize, end: usize, min: usize) -> Vec<Move> {
    let mut moves = Vec::new();
    if min == 0 || end <= start || held.len() < start + min {
        return moves;
    }
    // Where each `min`-token window of the held tokens starts.
    let mut windows: HashMap<&[u32], Vec<usize>> = HashMap::new();
    for j in start..=held.len() - min {
        windows.entry(&held[j..j + min]).or_default().push(j);
    }
    let (mut i, mut next_held) = (start, start);
    while i + min <= end {
        let best = windows
            .get(&prompt[i..i + min])
            .into_iter()
            .flatten()
            .filter(|&&j| j >= next_held)
            .map(|&j| (j, held[j..].iter().zip(&prompt[i..end]).take_while(|(a, b)| a == b).count()))
            .max_by_key(|&(j, len)| (len, std::cmp::Reverse(j)));
        match best {
            Some((j, len)) if len >= min => {
                if j != i {
                    moves.push(Move { from: j, to: i, len });
                }
                i += len;
                next_held = j + len;
            }
            _ => i += 1,
        }
    }
    moves
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_typed_before_an_unchanged_part_moves_the_part() {
        // held: head 0..10, suffix 10..40, typed 40..45; the new prompt has the typed
        // text after the head, then the same suffix.
        let held: Vec<u32> = (0..45).collect();
        let mut prompt: Vec<u32> = (0..10).collect();
        prompt.extend(100..103); // three tokens typed
        prompt.extend(10..40);
        prompt.push(999); // the last token, always evaluated
        let moves = plan(&held, &prompt, 10, prompt.len() - 1, 8);
        assert_eq!(moves, vec![Move { from: 10, to: 13, len: 30 }]);
    }

    #[test]
    fn short_or_missing_runs_are_evaluated_and_runs_stay_in_order() {
        let held: Vec<u32> = (0..100).collect();
        // A run too short, then two runs in reverse order: only the first found moves.
        let prompt: Vec<u32> = [vec![7, 8, 9], (60..80).collect(), (20..40).collect(), vec![5000]].concat();
        let moves = plan(&held, &prompt, 0, prompt.len() - 1, 8);
        assert_eq!(moves, vec![Move { from: 60, to: 3, len: 20 }]);
        assert!(plan(&held, &prompt, 0, prompt.len() - 1, 0).is_empty(), "min 0: reuse is off");
    }

    #[test]
    fn runs_in_place_need_no_move() {
        let held: Vec<u32> = (0..50).collect();
        let prompt: Vec<u32> = (0..50).collect();
        assert!(plan(&held, &prompt, 20, 49, 8).is_empty());
    }
}
