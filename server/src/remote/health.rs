//! The backend's health: answers and failures as they come. A failing server is left
//! alone for a while (1 s after the first failure, doubling to a minute), a slow one
//! (its smoothed answer time past three times the router's budget, once it has
//! answered a few times: a first answer on a cold cache is slow anywhere) for 30 s;
//! the first request after that tries it again. Each change between usable and not is reported once, so the
//! user hears one message per outage, not one per keystroke.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::RemoteError;

/// Longest pause after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Pause after answers that are slow on the whole.
const SLOW_PAUSE: Duration = Duration::from_secs(30);
/// Answers seen before the server can be found slow.
const ANSWERS_BEFORE_SLOW: u32 = 5;

/// A change the user should hear of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The server stopped being usable (the message says why and for how long).
    Unusable(String),
    /// It answers again.
    Recovered,
}

#[derive(Default)]
struct State {
    failures: u32,
    paused_until: Option<Instant>,
    /// Smoothed answer time, ms.
    latency_ms: Option<f64>,
    /// Answers since the last pause.
    answers: u32,
    /// Whether the user was told it is unusable (and not yet that it recovered).
    told: bool,
}

/// The record of one backend.
pub struct Health {
    budget: Duration,
    state: Mutex<State>,
}

impl Health {
    /// A healthy record for a backend the router waits `budget` for.
    pub fn new(budget: Duration) -> Health {
        Health { budget, state: Mutex::new(State::default()) }
    }

    /// Whether to ask the server now (not paused).
    pub fn usable(&self) -> bool {
        self.state.lock().map_or(true, |s| s.paused_until.is_none_or(|until| Instant::now() >= until))
    }

    /// Records an answer that took `took`; says so when the server recovered or is slow.
    pub fn succeeded(&self, took: Duration) -> Option<Change> {
        let mut s = self.state.lock().ok()?;
        let ms = took.as_secs_f64() * 1e3;
        let smoothed = s.latency_ms.map_or(ms, |l| 0.7 * l + 0.3 * ms);
        s.latency_ms = Some(smoothed);
        tracing::debug!(ms, smoothed, "remote answer");
        s.failures = 0;
        s.answers = s.answers.saturating_add(1);
        if s.answers >= ANSWERS_BEFORE_SLOW && smoothed > 3.0 * self.budget.as_secs_f64() * 1e3 {
            s.answers = 0;
            s.paused_until = Some(Instant::now() + SLOW_PAUSE);
            if !s.told {
                s.told = true;
                return Some(Change::Unusable(format!(
                    "answers in {smoothed:.0} ms on average, past three times the {} ms budget: local answers only for {} s",
                    self.budget.as_millis(),
                    SLOW_PAUSE.as_secs()
                )));
            }
            return None;
        }
        s.paused_until = None;
        std::mem::take(&mut s.told).then_some(Change::Recovered)
    }

    /// Records a failure; says so when the server just became unusable.
    pub fn failed(&self, error: &RemoteError, _took: Duration) -> Option<Change> {
        let mut s = self.state.lock().ok()?;
        s.failures = s.failures.saturating_add(1);
        let pause = Duration::from_secs(1 << (s.failures - 1).min(6)).min(MAX_BACKOFF);
        s.paused_until = Some(Instant::now() + pause);
        if s.told {
            return None;
        }
        s.told = true;
        Some(Change::Unusable(format!("{error}: local answers only, trying again in {} s", pause.as_secs())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_pauses_the_server_once_and_an_answer_brings_it_back() {
        let health = Health::new(Duration::from_millis(100));
        assert!(health.usable());
        let error = RemoteError::Unreachable("http://127.0.0.1:9".into());
        let change = health.failed(&error, Duration::ZERO);
        assert!(matches!(&change, Some(Change::Unusable(m)) if m.contains("cannot reach")), "{change:?}");
        assert!(!health.usable(), "paused after a failure");
        assert_eq!(health.failed(&error, Duration::ZERO), None, "said once per outage");
        assert_eq!(health.succeeded(Duration::from_millis(50)), Some(Change::Recovered));
        assert!(health.usable());
        assert_eq!(health.succeeded(Duration::from_millis(50)), None);
        let health = Health::new(Duration::from_millis(100));
        for _ in 1..ANSWERS_BEFORE_SLOW {
            assert_eq!(health.succeeded(Duration::from_millis(2000)), None, "a few slow answers are borne");
        }
        assert!(health.usable());
        let slow = health.succeeded(Duration::from_millis(2000));
        assert!(matches!(&slow, Some(Change::Unusable(m)) if m.contains("on average")), "{slow:?}");
        assert!(!health.usable(), "a slow server is paused too");
    }
}
