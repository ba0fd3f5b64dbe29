//! The engine thread's loop and the run of one job.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::time::Instant;

use super::job::{Event, Job, Report, StopReason};
use super::sampling::Sampler;
use super::{EngineOptions, Model};
use crate::tokenizer::StreamDecoder;

/// Serves jobs until every sender is gone. A panic inside a job is caught, reported as
/// a failure, and the cache is emptied (its contents can no longer be trusted).
pub(super) fn run(mut model: Model, jobs: Receiver<Job>, pool: rayon::ThreadPool, options: EngineOptions) {
    while let Ok(job) = jobs.recv() {
        let queued_at = Instant::now();
        let mut events = job.events;
        let job = Job { events: Box::new(|_| {}), ..job };
        let mut sink = |e: Event| events(e);
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| pool.install(|| run_job(&mut model, job, &options, &mut sink, queued_at))));
        if let Err(panic) = outcome {
            model.cache.truncate(0);
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            sink(Event::Done(Report::failed(format!("internal error in the engine: {message}"))));
        }
    }
}

impl Report {
    fn failed(message: String) -> Report {
        Report {
            stop: StopReason::Failed(message),
            text: String::new(),
            reused_tokens: 0,
            evaluated_tokens: 0,
            dropped_tokens: 0,
            generated_tokens: 0,
            queue_ms: 0.0,
            prefill_ms: 0.0,
            ttft_ms: 0.0,
            decode_ms: 0.0,
            tokens_per_s: 0.0,
        }
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

fn run_job(model: &mut Model, mut job: Job, options: &EngineOptions, sink: &mut dyn FnMut(Event), queued_at: Instant) {
    let start = Instant::now();
    let mut report = Report::failed(String::new());
    report.queue_ms = ms(queued_at) - ms(start);
    let cancelled = || job.cancel.load(Ordering::Acquire);
    if cancelled() || job.prompt.is_empty() {
        report.stop = if cancelled() { StopReason::Cancelled } else { StopReason::Failed("empty prompt".into()) };
        sink(Event::Done(report));
        return;
    }
    // Room for the answer: drop the oldest prompt tokens when the prompt is too long.
    let capacity = model.cache.capacity();
    let room = capacity.saturating_sub(job.max_tokens.min(capacity / 2)).max(1);
    if job.prompt.len() > room {
        report.dropped_tokens = job.prompt.len() - room;
        job.prompt.drain(..report.dropped_tokens);
    }
    // Reuse the shared prefix; always evaluate at least the last prompt token, whose
    // logits start the answer.
    let reuse = model.cache.common_prefix(&job.prompt).min(job.prompt.len() - 1);
    model.cache.truncate(reuse);
    report.reused_tokens = reuse;
    let rest = job.prompt[reuse..].to_vec();
    let mut logits = None;
    for chunk in rest.chunks(options.prefill_chunk.max(1)) {
        if cancelled() {
            report.stop = StopReason::Cancelled;
            report.prefill_ms = ms(start);
            sink(Event::Done(report));
            return;
        }
        match model.transformer.forward(chunk, &mut model.cache) {
            Ok(l) => logits = Some(l),
            Err(e) => {
                model.cache.truncate(reuse);
                report.stop = StopReason::Failed(format!("prompt evaluation failed: {e}"));
                sink(Event::Done(report));
                return;
            }
        }
        report.evaluated_tokens += chunk.len();
        sink(Event::Prefill { evaluated: report.evaluated_tokens, total: rest.len() });
    }
    report.prefill_ms = ms(start);
    let mut logits = match logits.map(|l| l.to_vec1::<f32>()) {
        Some(Ok(l)) => l,
        Some(Err(e)) => {
            report.stop = StopReason::Failed(format!("reading logits failed: {e}"));
            sink(Event::Done(report));
            return;
        }
        None => {
            report.stop = StopReason::Failed("prompt evaluation produced no logits".into());
            sink(Event::Done(report));
            return;
        }
    };
    if job.max_tokens == 0 {
        report.stop = StopReason::MaxTokens;
        sink(Event::Done(report));
        return;
    }
    let mut sampler = Sampler::new(job.sampling);
    let mut decoder = StreamDecoder::default();
    let mut text = String::new();
    let mut first_token_at: Option<Instant> = None;
    let mut heal: &[u8] = &job.heal;
    let stop = loop {
        if cancelled() {
            break StopReason::Cancelled;
        }
        if !heal.is_empty() {
            allow_only_compatible(&mut logits, &model.tokenizer, heal);
        }
        let next = sampler.pick(&logits);
        if first_token_at.is_none() {
            first_token_at = Some(Instant::now());
            report.ttft_ms = ms(start);
        }
        if model.facts.stop_tokens.contains(&next) || model.tokenizer.is_control(next) {
            break StopReason::EndToken;
        }
        report.generated_tokens += 1;
        let mut bytes = model.tokenizer.token_bytes(next);
        if !heal.is_empty() {
            let n = heal.len().min(bytes.len());
            heal = &heal[n..];
            bytes = &bytes[n..];
        }
        let piece = decoder.push(bytes);
        if !piece.is_empty() {
            text.push_str(&piece);
            sink(Event::Text(piece));
        }
        if job.stop.as_mut().is_some_and(|check| check(&text)) {
            break StopReason::StopCheck;
        }
        if report.generated_tokens >= job.max_tokens {
            break StopReason::MaxTokens;
        }
        if job.time_budget.is_some_and(|b| start.elapsed() >= b) && text.trim_end_matches([' ', '\t']).contains('\n') {
            break StopReason::TimeBudget;
        }
        if job.deadline.is_some_and(|d| Instant::now() >= d) {
            break StopReason::TimeLimit;
        }
        if model.cache.len() >= model.cache.capacity() {
            break StopReason::ContextFull;
        }
        match model.transformer.forward(&[next], &mut model.cache).and_then(|l| l.to_vec1::<f32>()) {
            Ok(l) => logits = l,
            Err(e) => break StopReason::Failed(format!("decoding failed: {e}")),
        }
    };
    let rest = decoder.finish();
    if !rest.is_empty() {
        text.push_str(&rest);
        sink(Event::Text(rest));
    }
    if let Some(first) = first_token_at {
        report.decode_ms = ms(first);
        if report.generated_tokens > 1 && report.decode_ms > 0.0 {
            report.tokens_per_s = (report.generated_tokens - 1) as f64 / (report.decode_ms / 1e3);
        }
    }
    report.stop = stop;
    report.text = text;
    sink(Event::Done(report));
}


/// Token healing: keeps only tokens whose bytes agree with the bytes the answer must
/// begin with (they start with them, or are a beginning of them). If none would be
/// left, nothing is masked.
fn allow_only_compatible(logits: &mut [f32], tokenizer: &crate::tokenizer::ModelTokenizer, heal: &[u8]) {
    let compatible = |id: usize| {
        let bytes = tokenizer.token_bytes(id as u32);
        !bytes.is_empty() && !tokenizer.is_control(id as u32) && (bytes.starts_with(heal) || heal.starts_with(bytes))
    };
    if !(0..logits.len()).any(compatible) {
        return;
    }
    for (id, logit) in logits.iter_mut().enumerate() {
        if !compatible(id) {
            *logit = f32::NEG_INFINITY;
        }
    }
}
