//! What a caller asks of the engine and what it hears back.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// Default [`Job::drafts`]: four tokens. On real code about half the drafted tokens
/// are accepted (the typing replay, test model); each checked token costs a share of a
/// decode step, so more than four rarely pays. The engine stops drafting by itself
/// while it does not pay on the machine and model at hand.
pub const DEFAULT_DRAFTS: usize = 4;

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

/// How a job yields to others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Priority {
    /// A request someone waits for: runs until it ends, is cancelled or reaches its deadline.
    #[default]
    Foreground,
    /// Work done ahead of need (warming a document's cache, speculation): it stops at the
    /// next layer boundary once another job is waiting, keeping what it computed.
    Background,
}

/// One generation request.
pub struct Job {
    /// Which KV cache to use (one per document: callers pass a hash of its name). The
    /// engine keeps a few caches, the least recently used one is taken for a new key.
    pub slot: u64,
    /// Whether the job gives way to waiting jobs.
    pub priority: Priority,
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
    /// Past this instant the job answers at once, even inside the first line (callers
    /// count from when the user's request arrived, queueing included). Reached during
    /// the prompt's evaluation, the job answers with no text and the evaluation goes on
    /// in the background until done or another job arrives, so the next request for
    /// this prompt finds it ready.
    pub deadline: Option<std::time::Instant>,
    /// Called after each token with all the text so far.
    pub stop: Option<StopCheck>,
    /// Most draft tokens (taken from the text itself) checked in one forward pass with a
    /// greedy answer's next token; 0 decodes one token at a time (the same answer).
    pub drafts: usize,
    /// Shortest run of cached tokens moved to a new position instead of evaluated again
    /// (text typed before an unchanged part; see `kv_shift`); 0 never moves any.
    pub cache_reuse: usize,
    /// Set by the caller when the answer is no longer wanted.
    pub cancel: Arc<AtomicBool>,
    /// Where text and the final report go.
    pub events: EventSink,
}

impl Job {
    /// A job for `prompt` with the defaults: slot 0, foreground, greedy, no healing,
    /// no time limits, no stop check, never cancelled, up to 64 tokens.
    pub fn new(prompt: Vec<u32>, events: EventSink) -> Job {
        Job {
            slot: 0,
            priority: Priority::Foreground,
            prompt,
            heal: Vec::new(),
            max_tokens: 64,
            sampling: Sampling::default(),
            time_budget: None,
            deadline: None,
            stop: None,
            drafts: DEFAULT_DRAFTS,
            cache_reuse: 0,
            cancel: Arc::new(AtomicBool::new(false)),
            events,
        }
    }
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StopReason {
    /// The model produced an end or control token.
    EndToken,
    /// `max_tokens` were generated.
    MaxTokens,
    /// The time budget was spent and a line was complete.
    TimeBudget,
    /// The time limit was reached (the answer may end inside a line, or be empty when
    /// the prompt was still being evaluated).
    TimeLimit,
    /// The caller's stop check said the answer is complete.
    StopCheck,
    /// The caller cancelled.
    Cancelled,
    /// The cache has no room for another token.
    ContextFull,
    /// Something failed (the message says what).
    Failed(String),
    /// The engine hit a bug (a panic) in this job: it emptied its caches and goes on
    /// with the same model (the message is the panic's).
    Panicked(String),
}

impl StopReason {
    /// Whether the answer is all the model would say: it ended by itself (an end token,
    /// the caller's stop check, the token limit), not cut short by time, room or a cancel.
    pub fn is_final(&self) -> bool {
        matches!(self, StopReason::EndToken | StopReason::StopCheck | StopReason::MaxTokens)
    }
}

/// How sure the model was of one generated token.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TokenScore {
    /// Bytes of the answer's text once this token was taken (a token that ends inside a
    /// character adds its bytes with the next one).
    pub end: usize,
    /// Natural log of the probability the model gave the token.
    pub logprob: f32,
    /// Entropy of the model's distribution at that step, in nats.
    pub entropy: f32,
}

/// Measurements of one job (serialized without its text: the server sends them to the
/// editor in `infill/didComplete`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Why it ended.
    pub stop: StopReason,
    /// The whole generated text.
    #[serde(skip)]
    pub text: String,
    /// How sure the model was of each generated token, in order (the server turns them
    /// into a suggestion's confidence).
    #[serde(skip)]
    pub scores: Vec<TokenScore>,
    /// Prompt tokens whose keys and values were reused from the previous job.
    pub reused_tokens: usize,
    /// Prompt tokens evaluated now.
    pub evaluated_tokens: usize,
    /// Prompt tokens still to evaluate when the job answered (the evaluation goes on in
    /// the background).
    pub pending_tokens: usize,
    /// Tokens generated.
    pub generated_tokens: usize,
    /// Of those, tokens taken from an earlier answer to the same prompt that was cut
    /// short (its keys and values were in the cache: no model work).
    pub resumed_tokens: usize,
    /// Prompt tokens whose cached keys and values were moved to new positions instead of
    /// being evaluated (counted in `reused_tokens` too).
    pub shifted_tokens: usize,
    /// Draft tokens (taken from the text itself) checked alongside generated ones.
    pub drafted_tokens: usize,
    /// Of those, the ones the model agreed with (each a decode step saved).
    pub accepted_drafts: usize,
    /// With `INFILL_VERIFY_SHIFT` set, for an answer over moved tokens: whether a cold
    /// evaluation of the same prompt gives the same text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact_agrees: Option<bool>,
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

impl Report {
    /// A report of a job that did nothing yet, ending for `stop`.
    pub fn new(stop: StopReason) -> Report {
        Report {
            stop,
            text: String::new(),
            scores: Vec::new(),
            reused_tokens: 0,
            evaluated_tokens: 0,
            pending_tokens: 0,
            generated_tokens: 0,
            resumed_tokens: 0,
            shifted_tokens: 0,
            drafted_tokens: 0,
            accepted_drafts: 0,
            exact_agrees: None,
            queue_ms: 0.0,
            prefill_ms: 0.0,
            ttft_ms: 0.0,
            decode_ms: 0.0,
            tokens_per_s: 0.0,
        }
    }
}
