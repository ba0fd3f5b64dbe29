//! How fast the user types and how long model answers take, for the adaptive delay
//! before new model work: when keystrokes come faster than answers, waiting about one
//! keystroke gap lets the next keystroke supersede the request before the engine
//! starts on it. Answers that need no model are never delayed.

use std::time::{Duration, Instant};

use dashmap::DashMap;
use std::sync::Mutex;
use tower_lsp::lsp_types::Url;

/// Gaps longer than this are pauses, not typing.
const PAUSE: Duration = Duration::from_secs(1);
/// Weight of the newest sample in the moving averages.
const WEIGHT: f64 = 0.3;
/// Longest automatic delay.
const MAX_DELAY: Duration = Duration::from_millis(60);

/// The delay setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionDelay {
    /// From the typing rate and recent latencies.
    Auto,
    /// Always this long (zero: never wait).
    Fixed(Duration),
}

/// Keystroke gaps per document and the latency of recent model answers.
#[derive(Default)]
pub struct TypingPace {
    keystrokes: DashMap<Url, (Instant, Option<f64>)>,
    latency_ms: Mutex<Option<f64>>,
}

fn average(old: Option<f64>, sample: f64) -> f64 {
    old.map_or(sample, |old| old + WEIGHT * (sample - old))
}

impl TypingPace {
    /// Records a keystroke (a `didChange`) in `uri`.
    pub fn keystroke(&self, uri: &Url) {
        let now = Instant::now();
        let mut entry = self.keystrokes.entry(uri.clone()).or_insert((now, None));
        let (last, gap) = *entry;
        let elapsed = now.duration_since(last);
        let gap = if elapsed < PAUSE && elapsed > Duration::ZERO {
            Some(average(gap, elapsed.as_secs_f64() * 1e3))
        } else {
            gap
        };
        *entry = (now, gap);
    }

    /// Records how long a model answer took.
    pub fn answered(&self, ms: f64) {
        if let Ok(mut latency) = self.latency_ms.lock() {
            *latency = Some(average(*latency, ms));
        }
    }

    /// Forgets a closed document.
    pub fn forget(&self, uri: &Url) {
        self.keystrokes.remove(uri);
    }

    /// How long to wait before starting model work for `uri`.
    pub fn delay(&self, uri: &Url, setting: CompletionDelay) -> Duration {
        match setting {
            CompletionDelay::Fixed(delay) => delay,
            CompletionDelay::Auto => {
                let Some((last, Some(gap))) = self.keystrokes.get(uri).map(|e| *e) else { return Duration::ZERO };
                let latency = self.latency_ms.lock().ok().and_then(|l| *l).unwrap_or(0.0);
                if last.elapsed() > PAUSE || gap >= latency {
                    return Duration::ZERO; // typing slower than answers come: answer now
                }
                Duration::from_secs_f64(gap / 1e3).min(MAX_DELAY)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_typing_against_slow_answers_waits_a_little_and_nothing_else_does() {
        let pace = TypingPace::default();
        let uri: Url = "file:///a.rs".parse().expect("url");
        assert_eq!(pace.delay(&uri, CompletionDelay::Auto), Duration::ZERO, "nothing known yet");
        for _ in 0..5 {
            pace.keystroke(&uri);
            std::thread::sleep(Duration::from_millis(20));
        }
        pace.keystroke(&uri);
        pace.answered(10.0);
        assert_eq!(pace.delay(&uri, CompletionDelay::Auto), Duration::ZERO, "answers faster than keystrokes");
        pace.answered(400.0);
        pace.answered(400.0);
        let delay = pace.delay(&uri, CompletionDelay::Auto);
        assert!(delay >= Duration::from_millis(15) && delay <= MAX_DELAY, "{delay:?}");
        assert_eq!(pace.delay(&uri, CompletionDelay::Fixed(Duration::ZERO)), Duration::ZERO);
    }
}
