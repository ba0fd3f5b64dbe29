//! The engine thread's loop and the run of one job.
//!
//! A job takes its document's slot, keeps the part of the cache its prompt shares
//! with what the slot holds, evaluates the rest in chunks and generates. Between
//! layers it asks whether to stop: cancelled, past its deadline, or (background work)
//! another job waiting. A job whose deadline passes while its prompt is evaluated
//! answers at once with no text and leaves the rest of its prompt to the loop, which
//! evaluates it while no job waits, so the next request for that prompt finds it
//! ready. A greedy answer cut short is kept with its slot: a later job with the same
//! prompt goes on from it instead of computing it again.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use std::time::Instant;

use candle_core::Tensor;

use super::generate::Generation;
use super::job::{Event, Job, Priority, Report, StopReason};
use super::slots::{LastAnswer, Slot, Slots};
use super::{EngineOptions, Model};
use crate::tokenizer::ModelTokenizer;
use crate::transformer::{Pass, Transformer};

/// A queued job and when it was queued.
pub(super) type Queued = (Job, Instant);

/// A prompt still to evaluate after its job answered.
struct Pending {
    slot: u64,
    prompt: Vec<u32>,
}

/// What the thread owns.
struct Worker {
    transformer: Transformer,
    tokenizer: Arc<ModelTokenizer>,
    stop_tokens: Vec<u32>,
    slots: Slots,
    chunk: usize,
    /// What drafting costs and saves on this machine and model.
    drafting: super::draft::DraftStats,
    /// After an answer computed over moved tokens, compute it again exactly and report
    /// whether they agree (`INFILL_VERIFY_SHIFT`: for measurements only).
    verify: bool,
    /// Jobs submitted and not yet taken (the submitter counts up, the loop down).
    waiting: Arc<AtomicUsize>,
    /// Tests only (`INFILL_TEST_ENGINE_PANIC`): a job whose prompt contains this text
    /// panics once its prompt is evaluated, in the middle of the job.
    panic_marker: Option<String>,
}

/// Serves jobs until every sender is gone. A panic inside a job is caught and reported
/// as [`StopReason::Panicked`]; the caches are emptied (their contents can no longer be
/// trusted) and the next job starts afresh with the same weights, which nothing writes.
pub(super) fn run(
    model: Model,
    jobs: Receiver<Queued>,
    pool: rayon::ThreadPool,
    options: EngineOptions,
    slots: usize,
    waiting: Arc<AtomicUsize>,
) {
    let Model { transformer, tokenizer, facts, cache } = model;
    let slots = Slots::new(cache, slots, transformer.hparams(), &transformer.device().clone());
    let mut worker = Worker {
        transformer,
        tokenizer,
        stop_tokens: facts.stop_tokens.clone(),
        slots,
        chunk: options.prefill_chunk.max(1),
        verify: std::env::var_os("INFILL_VERIFY_SHIFT").is_some(),
        drafting: Default::default(),
        waiting,
        panic_marker: std::env::var("INFILL_TEST_ENGINE_PANIC").ok().filter(|m| !m.is_empty()),
    };
    let mut pending: Option<Pending> = None;
    loop {
        let next = match pending.as_ref() {
            Some(_) => match jobs.try_recv() {
                Ok(queued) => Some(queued),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => return,
            },
            None => match jobs.recv() {
                Ok(queued) => Some(queued),
                Err(_) => return,
            },
        };
        let Some((job, queued_at)) = next else {
            // Nobody waits: evaluate a chunk of the pending prompt (a panic there only
            // costs the caches, as in a job).
            if let Some(work) = pending.take() {
                match std::panic::catch_unwind(AssertUnwindSafe(|| pool.install(|| worker.continue_pending(work)))) {
                    Ok(left) => pending = left,
                    Err(_) => worker.slots.clear(),
                }
            }
            continue;
        };
        worker.waiting.fetch_sub(1, Ordering::AcqRel);
        pending = None;
        let mut events = job.events;
        let job = Job { events: Box::new(|_| {}), ..job };
        let mut sink = |e: Event| events(e);
        let outcome =
            std::panic::catch_unwind(AssertUnwindSafe(|| pool.install(|| worker.run_job(job, &mut sink, queued_at))));
        match outcome {
            Ok(left) => pending = left,
            Err(panic) => {
                worker.slots.clear();
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                sink(Event::Done(Report::new(StopReason::Panicked(message))));
            }
        }
    }
}

pub(super) fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// How a prompt's evaluation ended.
enum Prefill {
    /// All of it is in the cache; the logits after its last token (none when the
    /// whole prompt was already there and an earlier answer goes on).
    Done(Option<Tensor>),
    /// Stopped between chunks or layers for this reason; the cache holds the chunks done.
    Stopped(StopReason),
    /// The forward pass failed.
    Failed(String),
}

impl Worker {
    /// Evaluates the rest of a prompt whose job already answered, until done or a job
    /// is waiting; returns what is left.
    fn continue_pending(&mut self, work: Pending) -> Option<Pending> {
        let waiting = self.waiting.clone();
        let interrupt = move || (waiting.load(Ordering::Acquire) > 0).then_some(StopReason::Cancelled);
        let Ok(slot) = self.slots.get(work.slot) else { return None };
        let done = slot.cache.common_prefix(&work.prompt);
        slot.cache.truncate(done);
        let mut report = Report::new(StopReason::Failed(String::new()));
        match evaluate(&self.transformer, slot, &work.prompt, self.chunk, &interrupt, &mut report, &mut |_| {}) {
            Prefill::Stopped(_) => Some(work),
            Prefill::Done(_) | Prefill::Failed(_) => None,
        }
    }

    /// Runs one job; returns the part of its prompt left to evaluate in the background.
    fn run_job(&mut self, mut job: Job, sink: &mut dyn FnMut(Event), queued_at: Instant) -> Option<Pending> {
        let start = Instant::now();
        let mut report = Report::new(StopReason::Failed(String::new()));
        report.queue_ms = (start - queued_at).as_secs_f64() * 1e3;
        let cancel = job.cancel.clone();
        let cancelled = || cancel.load(Ordering::Acquire);
        if cancelled() || job.prompt.is_empty() {
            report.stop = if cancelled() { StopReason::Cancelled } else { StopReason::Failed("empty prompt".into()) };
            sink(Event::Done(report));
            return None;
        }
        let slot = match self.slots.get(job.slot) {
            Ok(slot) => slot,
            Err(e) => {
                report.stop = StopReason::Failed(format!("allocating a KV cache: {e}"));
                sink(Event::Done(report));
                return None;
            }
        };
        // An earlier greedy answer to this very prompt goes on where it stopped.
        let resumed = resumable(slot, &job);
        let keep = match &resumed {
            Some(last) => job.prompt.len() + last.tokens.len() - 1,
            // Always evaluate the last prompt token: its logits start the answer.
            None => slot.cache.common_prefix(&job.prompt).min(job.prompt.len() - 1),
        };
        // Runs of the rest found further on in the cache move to their new places.
        let moves = if resumed.is_none() && slot.placed.as_ref().is_none_or(|(p, _)| *p != job.prompt) {
            crate::kv_shift::plan(slot.cache.tokens(), &job.prompt, keep, job.prompt.len() - 1, job.cache_reuse)
        } else {
            Vec::new()
        };
        slot.cache.truncate(keep);
        if !moves.is_empty() && self.transformer.apply_moves(&mut slot.cache, &moves) {
            report.shifted_tokens = moves.iter().map(|m| m.len).sum();
            slot.placed = Some((job.prompt.clone(), moves.iter().map(|m| m.target()).collect()));
        }
        report.reused_tokens = keep.min(job.prompt.len()) + report.shifted_tokens;
        let deadline = job.deadline;
        let background = job.priority == Priority::Background;
        let waiting = self.waiting.clone();
        let interrupt = || -> Option<StopReason> {
            if cancelled() {
                Some(StopReason::Cancelled)
            } else if deadline.is_some_and(|d| Instant::now() >= d) {
                Some(StopReason::TimeLimit)
            } else if background && waiting.load(Ordering::Acquire) > 0 {
                Some(StopReason::Cancelled)
            } else {
                None
            }
        };
        let prefill = if resumed.is_some() {
            Prefill::Done(None)
        } else {
            evaluate(&self.transformer, slot, &job.prompt, self.chunk, &interrupt, &mut report, sink)
        };
        report.prefill_ms = ms(start);
        let logits = match prefill {
            Prefill::Done(logits) => logits,
            Prefill::Stopped(reason) => {
                report.pending_tokens = job.prompt.len() - slot.cache.len().min(job.prompt.len());
                let left =
                    (reason == StopReason::TimeLimit).then(|| Pending { slot: job.slot, prompt: job.prompt.clone() });
                report.stop = reason;
                sink(Event::Done(report));
                return left;
            }
            Prefill::Failed(message) => {
                slot.cache.truncate(keep.min(job.prompt.len()));
                report.stop = StopReason::Failed(format!("prompt evaluation failed: {message}"));
                sink(Event::Done(report));
                return None;
            }
        };
        if job.max_tokens == 0 {
            report.stop = StopReason::MaxTokens;
            sink(Event::Done(report));
            return None;
        }
        if let Some(marker) = &self.panic_marker {
            if self.tokenizer.decode(&job.prompt).contains(marker.as_str()) {
                panic!("test hook: a prompt containing {marker:?}");
            }
        }
        let forced = resumed
            .map(|last| {
                let scores = last.scores.iter().map(|s| (s.logprob, s.entropy)).chain(std::iter::repeat((0.0, 0.0)));
                last.tokens.into_iter().zip(scores).collect()
            })
            .unwrap_or_default();
        let mut generation = Generation {
            tokenizer: &self.tokenizer,
            stop_tokens: &self.stop_tokens,
            transformer: &self.transformer,
            drafting: &mut self.drafting,
        };
        generation.run(slot, &mut job, logits, forced, start, &interrupt, &mut report, sink);
        if self.verify && report.shifted_tokens > 0 && report.stop.is_final() {
            report.exact_agrees = self.exact_text(&mut job).map(|exact| exact == report.text);
        }
        sink(Event::Done(report));
        None
    }

    /// The answer to `job` from a cold evaluation of its prompt in a fresh cache (no
    /// moved keys), for [`Worker::verify`].
    fn exact_text(&mut self, job: &mut Job) -> Option<String> {
        let cache =
            crate::kv_cache::KvCache::new(self.transformer.hparams(), self.slots.capacity(), self.transformer.device())
                .ok()?;
        let mut scratch = Slot::fresh(cache);
        let mut report = Report::new(StopReason::Failed(String::new()));
        let Prefill::Done(logits) =
            evaluate(&self.transformer, &mut scratch, &job.prompt, self.chunk, &|| None, &mut report, &mut |_| {})
        else {
            return None;
        };
        let mut generation = Generation {
            tokenizer: &self.tokenizer,
            stop_tokens: &self.stop_tokens,
            transformer: &self.transformer,
            drafting: &mut self.drafting,
        };
        generation.run(&mut scratch, job, logits, Vec::new(), Instant::now(), &|| None, &mut report, &mut |_| {});
        Some(report.text)
    }
}

/// The earlier answer in `slot` that `job` can go on from: greedy both, the same prompt
/// (all of it in the cache, followed by that answer's tokens) and the same healing.
fn resumable(slot: &Slot, job: &Job) -> Option<LastAnswer> {
    let last = slot.last.as_ref()?;
    let held = slot.cache.tokens();
    let greedy = job.sampling.temperature <= 0.0;
    let same_prompt = last.prompt_len == job.prompt.len()
        && held.len() >= job.prompt.len()
        && held[..job.prompt.len()] == job.prompt[..];
    let answer_held = !last.tokens.is_empty()
        && held.len() == job.prompt.len() + last.tokens.len() - 1
        && held[job.prompt.len()..] == last.tokens[..last.tokens.len() - 1];
    let resumable = greedy && same_prompt && answer_held && last.heal == job.heal;
    if !resumable {
        tracing::trace!(
            greedy,
            same_prompt,
            answer_held,
            same_heal = last.heal == job.heal,
            "the last answer cannot be continued"
        );
    }
    resumable.then(|| last.clone())
}

/// Evaluates `prompt[cache.len()..]` in chunks of `chunk`, asking `interrupt` before
/// each layer. A pass interrupted mid-chunk is kept with the slot, and the next
/// evaluation that needs the same tokens at the same place (this prompt's, or the next
/// keystroke's) finishes it instead of starting over.
fn evaluate(
    transformer: &Transformer,
    slot: &mut Slot,
    prompt: &[u32],
    chunk: usize,
    interrupt: &dyn Fn() -> Option<StopReason>,
    report: &mut Report,
    sink: &mut dyn FnMut(Event),
) -> Prefill {
    let total = prompt.len().saturating_sub(slot.cache.len());
    let mut logits = None;
    // Positions whose keys and values were moved into place for this very prompt.
    let placed: Vec<std::ops::Range<usize>> = match &slot.placed {
        Some((for_prompt, ranges)) if for_prompt == prompt => ranges.clone(),
        _ => Vec::new(),
    };
    while slot.cache.len() < prompt.len() {
        let at = slot.cache.len();
        if let Some(range) = placed.iter().find(|r| r.start == at) {
            slot.cache.push_tokens(&prompt[range.clone()]);
            continue;
        }
        let end = placed.iter().map(|r| r.start).filter(|&s| s > at).fold(prompt.len().min(at + chunk), usize::min);
        let pass = match slot.suspended.take() {
            Some(pass) if pass.fits(&slot.cache) && prompt[at..end].starts_with(pass.tokens()) => pass,
            _ => match transformer.start_pass(&prompt[at..end], &mut slot.cache) {
                Ok(pass) => pass,
                Err(e) => return Prefill::Failed(e.to_string()),
            },
        };
        let n = pass.tokens().len();
        match transformer.run_pass(pass, &mut slot.cache, &|| interrupt().is_some()) {
            Ok(Pass::Done(l)) => logits = Some(l),
            Ok(Pass::Suspended(pass)) => {
                slot.suspended = Some(pass);
                return Prefill::Stopped(interrupt().unwrap_or(StopReason::Cancelled));
            }
            Err(e) => return Prefill::Failed(e.to_string()),
        }
        report.evaluated_tokens += n;
        sink(Event::Prefill { evaluated: report.evaluated_tokens, total });
    }
    Prefill::Done(logits)
}
