//! How likely a suggestion is to be taken, and whether to show it. The engine reports
//! how sure the model was of each token ([`TokenScore`]); [`Features`] sums them up
//! with the suggestion's shape and length and whether it repeats the file nearby, and
//! [`Filter`] (a logistic regression trained offline on our replay, its weights in
//! `server/data/confidence-filter.json`, written by `benches/scripts/train-confidence.py`)
//! turns them into a score of how likely it is to be taken (trained with each taken
//! suggestion weighted by the characters it saved). The `confidence` setting picks the
//! threshold. A hidden answer stays in the suggestion cache, so typing along it finds
//! it again (and scores what is left of it) without another model call.

use std::sync::{Arc, OnceLock};

use infill_model::TokenScore;
use serde::{Deserialize, Serialize};

/// The trained filter, reviewed like code.
const FILTER_JSON: &str = include_str!("../data/confidence-filter.json");

/// How strict the filter is (`confidence` setting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Strictness {
    /// Every suggestion is shown.
    Off,
    /// Hides the suggestions least likely to be taken while keeping nearly all the
    /// characters completion saves (the threshold the training script picks for that).
    #[default]
    Balanced,
    /// Shows only suggestions likely to be taken, at some cost in characters saved.
    Strict,
}

impl Strictness {
    /// The setting's value for `name` (`off`, `balanced`, `strict`).
    pub fn from_name(name: &str) -> Option<Strictness> {
        match name {
            "off" => Some(Strictness::Off),
            "balanced" => Some(Strictness::Balanced),
            "strict" => Some(Strictness::Strict),
            _ => None,
        }
    }
}

/// A suggestion's text and how sure the model was of each token that wrote it
/// (`TokenScore::end` counts bytes of `text`; empty when no model scored it: a remote
/// backend or the test engine).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scored {
    /// The suggestion.
    pub text: String,
    /// The model's scores, in order.
    pub scores: Arc<[TokenScore]>,
}

impl Scored {
    /// A suggestion without scores.
    pub fn plain(text: impl Into<String>) -> Scored {
        Scored { text: text.into(), scores: Arc::from([]) }
    }

    /// What is left after the user typed its first `typed` bytes (on a char boundary):
    /// the rest of the text, and the scores of the tokens that wrote it.
    pub fn after(&self, typed: usize) -> Scored {
        let text = self.text.get(typed..).unwrap_or_default().to_owned();
        let scores =
            self.scores.iter().filter(|s| s.end > typed).map(|s| TokenScore { end: s.end - typed, ..*s }).collect();
        Scored { text, scores }
    }

    /// The same suggestion with `prefix` written before it (no token wrote it).
    pub fn prefixed(&self, prefix: &str) -> Scored {
        let text = format!("{prefix}{}", self.text);
        let scores = self.scores.iter().map(|s| TokenScore { end: s.end + prefix.len(), ..*s }).collect();
        Scored { text, scores }
    }
}

/// What the filter reads, in the order of [`FEATURE_NAMES`].
#[derive(Clone, Debug, PartialEq)]
pub struct Features(pub [f32; FEATURE_COUNT]);

/// How many features there are.
pub const FEATURE_COUNT: usize = 13;

/// The features' names, as the weights file and the training data name them.
pub const FEATURE_NAMES: [&str; FEATURE_COUNT] = [
    "first_logprob",
    "first_line_mean_logprob",
    "first_line_min_logprob",
    "mean_logprob",
    "min_logprob",
    "first_line_mean_entropy",
    "mean_entropy",
    "max_entropy",
    "multi_line",
    "log_chars",
    "lines",
    "repeats_file",
    "shown_before",
];

/// Where the suggestion would go, as far as the features need it.
pub struct Surroundings<'a> {
    /// Text around the cursor (a few KB each side) in which a repeat is looked for.
    pub nearby: &'a str,
    /// Whether the suggestion (of which this is the rest) was shown before and the user
    /// typed on instead of taking it (a hidden one typed along is judged afresh).
    pub shown_before: bool,
}

impl Features {
    /// The features of `suggestion`, or none when no model scored it (nothing to judge).
    pub fn of(suggestion: &Scored, around: &Surroundings) -> Option<Features> {
        let text = suggestion.text.as_str();
        // Tokens that wrote the text shown (the finisher may have cut the raw answer),
        // and of those the ones that wrote its first line (leading line breaks aside).
        let starts = std::iter::once(0).chain(suggestion.scores.iter().map(|s| s.end));
        let shown: Vec<&TokenScore> =
            suggestion.scores.iter().zip(starts).take_while(|(_, start)| *start < text.len()).map(|(s, _)| s).collect();
        if shown.is_empty() || text.trim().is_empty() {
            return None;
        }
        let leading = text.len() - text.trim_start_matches('\n').len();
        let first_line_end = text[leading..].find('\n').map_or(text.len(), |i| leading + i);
        let starts = std::iter::once(0).chain(shown.iter().map(|s| s.end));
        let first_line: Vec<&TokenScore> = shown
            .iter()
            .copied()
            .zip(starts)
            .take_while(|(_, start)| *start < first_line_end)
            .map(|(s, _)| s)
            .collect();
        let mean =
            |v: &[&TokenScore], f: fn(&TokenScore) -> f32| v.iter().map(|s| f(s)).sum::<f32>() / v.len().max(1) as f32;
        let min = |v: &[&TokenScore], f: fn(&TokenScore) -> f32| v.iter().map(|s| f(s)).fold(0.0f32, f32::min);
        let logprob: fn(&TokenScore) -> f32 = |s| s.logprob;
        let entropy: fn(&TokenScore) -> f32 = |s| s.entropy;
        let lines = text.trim_end().lines().count().max(1);
        let repeat = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .is_some_and(|line| line.len() >= 6 && around.nearby.matches(line).count() >= 1);
        Some(Features([
            shown[0].logprob,
            mean(&first_line, logprob),
            min(&first_line, logprob),
            mean(&shown, logprob),
            min(&shown, logprob),
            mean(&first_line, entropy),
            mean(&shown, entropy),
            shown.iter().map(|s| s.entropy).fold(0.0f32, f32::max),
            f32::from(u8::from(lines > 1)),
            (1.0 + text.trim_end().len() as f32).ln(),
            lines as f32,
            f32::from(u8::from(repeat)),
            f32::from(u8::from(around.shown_before)),
        ]))
    }
}

/// The trained logistic regression and its thresholds, as the weights file holds them.
#[derive(Clone, Debug, Deserialize)]
pub struct Filter {
    /// The features' names, checked against [`FEATURE_NAMES`].
    pub features: Vec<String>,
    /// Each feature's mean on the training data (subtracted first).
    pub mean: Vec<f32>,
    /// Each feature's standard deviation on the training data (divided by next).
    pub scale: Vec<f32>,
    /// The weights of the standardized features.
    pub weights: Vec<f32>,
    /// The intercept.
    pub bias: f32,
    /// Lowest score shown with `balanced`.
    pub balanced: f32,
    /// Lowest score shown with `strict`.
    pub strict: f32,
}

/// What the filter made of one suggestion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// How likely the suggestion is to be taken, 0..1 (see [`Filter::score`]).
    pub score: f32,
    /// Whether it is shown under the setting in force.
    pub shown: bool,
    /// The features (for training data and for the curious).
    pub features: Vec<f32>,
}

impl Filter {
    /// The filter shipped with the server (checked by a test to load and to match the
    /// features computed here).
    pub fn shipped() -> &'static Filter {
        static FILTER: OnceLock<Filter> = OnceLock::new();
        FILTER.get_or_init(|| match serde_json::from_str::<Filter>(FILTER_JSON) {
            Ok(filter) if filter.fits() => filter,
            // A test guards the file; were it broken anyway, show everything.
            _ => Filter::show_all(),
        })
    }

    /// A filter that shows every suggestion.
    fn show_all() -> Filter {
        Filter {
            features: FEATURE_NAMES.iter().map(|s| (*s).to_owned()).collect(),
            mean: vec![0.0; FEATURE_COUNT],
            scale: vec![1.0; FEATURE_COUNT],
            weights: vec![0.0; FEATURE_COUNT],
            bias: 0.0,
            balanced: 0.0,
            strict: 0.0,
        }
    }

    /// Whether the file's features are ours, in our order, with a number for each.
    fn fits(&self) -> bool {
        self.features.iter().map(String::as_str).eq(FEATURE_NAMES)
            && [&self.mean, &self.scale, &self.weights].iter().all(|v| v.len() == FEATURE_COUNT)
    }

    /// The score of a suggestion with `features`: the logistic regression's output,
    /// higher for suggestions likelier to be taken and saving more.
    pub fn score(&self, features: &Features) -> f32 {
        let mut z = self.bias;
        for i in 0..FEATURE_COUNT {
            let scale = if self.scale[i].abs() > 1e-6 { self.scale[i] } else { 1.0 };
            z += self.weights[i] * (features.0[i] - self.mean[i]) / scale;
        }
        1.0 / (1.0 + (-z).exp())
    }

    /// The verdict on `suggestion` under `strictness`; none when it has no scores
    /// (shown as it is).
    pub fn judge(&self, suggestion: &Scored, around: &Surroundings, strictness: Strictness) -> Option<Verdict> {
        let features = Features::of(suggestion, around)?;
        let score = self.score(&features);
        let shown = match strictness {
            Strictness::Off => true,
            Strictness::Balanced => score >= self.balanced,
            Strictness::Strict => score >= self.strict,
        };
        Some(Verdict { score, shown, features: features.0.to_vec() })
    }

    /// Whether a score is low enough that a remote backend should be asked (below the
    /// balanced threshold, whatever the setting).
    pub fn is_low(&self, score: f32) -> bool {
        score < self.balanced
    }
}

/// The text within `radius` bytes of `cursor` in `rope`, on char boundaries.
pub fn nearby(rope: &ropey::Rope, cursor: usize, radius: usize) -> String {
    let start = infill_context::ceil_char(rope, cursor.saturating_sub(radius));
    let end = infill_context::floor_char(rope, (cursor + radius).min(rope.len_bytes()));
    rope.byte_slice(start..end.max(start)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(text: &str, per_token: &[(usize, f32, f32)]) -> Scored {
        let scores = per_token.iter().map(|&(end, logprob, entropy)| TokenScore { end, logprob, entropy }).collect();
        Scored { text: text.to_owned(), scores }
    }

    fn around(nearby: &str) -> Surroundings<'_> {
        Surroundings { nearby, shown_before: false }
    }

    #[test]
    fn the_shipped_filter_loads_and_names_our_features() {
        let filter: Filter = serde_json::from_str(FILTER_JSON).expect("the weights file parses");
        assert!(filter.fits(), "features {:?} against {FEATURE_NAMES:?}", filter.features);
        assert!(filter.strict >= filter.balanced, "strict hides at least what balanced hides");
        assert!(filter.weights.iter().any(|w| *w != 0.0), "a trained filter, not a blank one");
    }

    #[test]
    fn features_sum_up_the_first_line_and_the_whole_answer() {
        let s = scored("x + 1\n    return y\n", &[(1, -0.1, 0.2), (5, -0.3, 0.4), (6, -2.0, 1.0), (19, -1.0, 3.0)]);
        let f = Features::of(&s, &around("def f(x):\n    return y\n")).expect("scored").0;
        assert_eq!(f[0], -0.1, "first token");
        assert!((f[1] + 0.2).abs() < 1e-6, "first line mean {}", f[1]);
        assert_eq!(f[2], -0.3, "first line min");
        assert!((f[3] + 0.85).abs() < 1e-6, "whole mean {}", f[3]);
        assert_eq!(f[4], -2.0, "whole min");
        assert_eq!(f[7], 3.0, "max entropy");
        assert_eq!((f[8], f[10]), (1.0, 2.0), "two lines");
        assert_eq!(f[11], 0.0, "`x + 1` is not in the file");
        let repeat = scored("return y", &[(8, -0.1, 0.1)]);
        assert_eq!(Features::of(&repeat, &around("    return y\n")).expect("scored").0[11], 1.0);
        assert_eq!(Features::of(&Scored::plain("x"), &around("")), None, "no scores: nothing to judge");
    }

    #[test]
    fn tokens_past_the_shown_text_are_left_out_and_typed_ahead_keeps_the_rest() {
        // The finisher cut "ab" out of the raw "abcd": only the token that wrote it counts.
        let s = scored("ab", &[(2, -0.5, 0.1), (4, -9.0, 5.0)]);
        let f = Features::of(&s, &around("")).expect("scored").0;
        assert_eq!((f[3], f[4]), (-0.5, -0.5));
        let long = scored("abc def", &[(3, -0.1, 0.1), (7, -4.0, 2.0)]);
        let rest = long.after(4);
        assert_eq!(rest.text, "def");
        assert_eq!(&rest.scores[..], &[TokenScore { end: 3, logprob: -4.0, entropy: 2.0 }]);
        let indented = long.prefixed("  ");
        assert_eq!((indented.text.as_str(), indented.scores[0].end), ("  abc def", 5));
    }

    #[test]
    fn strictness_orders_the_thresholds() {
        let filter = Filter { balanced: 0.2, strict: 0.5, ..Filter::show_all() };
        let sure = scored("x", &[(1, -0.01, 0.01)]);
        let weighted = Filter {
            weights: {
                let mut w = vec![0.0; FEATURE_COUNT];
                w[0] = 1.0;
                w
            },
            ..filter.clone()
        };
        let verdict = |f: &Filter, s: Strictness| f.judge(&sure, &around(""), s).expect("scored");
        // Score sigmoid(-0.01) is just under 0.5: shown when balanced, hidden when strict.
        assert!(verdict(&weighted, Strictness::Balanced).shown);
        assert!(!verdict(&weighted, Strictness::Strict).shown);
        assert!(verdict(&weighted, Strictness::Off).shown);
        assert!(weighted.is_low(0.1) && !weighted.is_low(0.3));
    }
}
