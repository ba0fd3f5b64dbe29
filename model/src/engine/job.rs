//! What a caller asks of the engine and what it hears back.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// How the next token is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// 0 means greedy (the most likely token).
    pub temperature: f32,
    /// Nucleus sampling: keep the smallest set of tokens whose probability reaches this.
    pub top_p: f32,
    /// Seed of the sampler's random numbers.
    pub seed: u64,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling { temperature: 0.0, top_p: 1.0, seed: 0 }
    }
}

/// Decides, from the text generated so far, whether the answer is complete.
pub type StopCheck = Box<dyn FnMut(&str) -> bool + Send>;
/// Receives the job's events on the engine thread; must not block.
pub type EventSink = Box<dyn FnMut(Event) + Send>;

/// One generation request.
pub struct Job {
    /// The prompt as token ids (control tokens placed by the caller).
    pub prompt: Vec<u32>,
    /// Token healing: bytes the answer must begin with, usually those of a last prompt
    /// token the caller took off (a prompt that ends inside a token, such as after
    /// indentation, otherwise misleads the model). They are not part of the text reported.
    pub heal: Vec<u8>,
    /// Most tokens to generate; 0 only fills the cache with the prompt.
    pub max_tokens: usize,
    /// Token choice.
    pub sampling: Sampling,
    /// Past this, decoding stops at the next line end (a first line is always finished).
    pub time_budget: Option<Duration>,
    /// Past this instant, decoding stops at once, even inside the first line (callers
    /// count from when the user's request arrived, queueing included).
    pub deadline: Option<std::time::Instant>,
    /// Called after each token with all the text so far.
    pub stop: Option<StopCheck>,
    /// Set by the caller when the answer is no longer wanted.
    pub cancel: Arc<AtomicBool>,
    /// Where text and the final report go.
    pub events: EventSink,
}

/// What a job reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A chunk of the prompt was evaluated: `evaluated` of `total` new prompt tokens.
    Prefill {
        /// Prompt tokens evaluated so far in this job.
        evaluated: usize,
        /// Prompt tokens this job evaluates in all.
        total: usize,
    },
    /// More text (whole characters only).
    Text(String),
    /// The job ended; always the last event.
    Done(Report),
}

/// Why generation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The model produced an end or control token.
    EndToken,
    /// `max_tokens` were generated.
    MaxTokens,
    /// The time budget was spent and a line was complete.
    TimeBudget,
    /// The time limit was reached (the answer may end inside a line).
    TimeLimit,
    /// The caller's stop check said the answer is complete.
    StopCheck,
    /// The caller cancelled.
    Cancelled,
    /// The cache has no room for another token.
    ContextFull,
    /// Something failed (the message says what).
    Failed(String),
}

/// Measurements of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Why it ended.
    pub stop: StopReason,
    /// The whole generated text.
    pub text: String,
    /// Prompt tokens whose keys and values were reused from the previous job.
    pub reused_tokens: usize,
    /// Prompt tokens evaluated now.
    pub evaluated_tokens: usize,
    /// Prompt tokens dropped from the front because the prompt did not fit.
    pub dropped_tokens: usize,
    /// Tokens generated.
    pub generated_tokens: usize,
    /// Waiting in the queue, in milliseconds.
    pub queue_ms: f64,
    /// Evaluating the prompt.
    pub prefill_ms: f64,
    /// From the job's start to its first generated token.
    pub ttft_ms: f64,
    /// Generating after the first token.
    pub decode_ms: f64,
    /// Generated tokens per second of decoding.
    pub tokens_per_s: f64,
}
