//! The decoding loop: tokens chosen one after another after the prompt, streamed as
//! text, until a stop. Greedy answers are sped up with drafts taken from the text
//! itself ([`super::draft`]): the next few tokens the context suggests are evaluated
//! together with the chosen one in one forward pass (a memory-bound CPU reads the
//! weights once for all of them), and kept as far as the model agrees with them. The
//! kernels compute each row as they would alone, so the answer is the same, token for
//! token, with or without drafts.

use std::time::Instant;

use candle_core::Tensor;

use super::draft;
use super::job::{Event, Job, Report, StopReason, TokenScore};
use super::sampling::{token_confidence, Sampler};
use super::slots::{LastAnswer, Slot};
use super::worker::ms;
use crate::tokenizer::{ModelTokenizer, StreamDecoder};
use crate::transformer::Transformer;

/// The decoding loop's fixed parts.
pub(super) struct Generation<'a> {
    pub(super) tokenizer: &'a ModelTokenizer,
    pub(super) stop_tokens: &'a [u32],
    pub(super) transformer: &'a Transformer,
    /// What drafting costs and saves here.
    pub(super) drafting: &'a mut draft::DraftStats,
}

/// The answer being written and the checks each new token goes through.
struct Answer<'a, 'j> {
    tokenizer: &'a ModelTokenizer,
    stop_tokens: &'a [u32],
    job: &'j mut Job,
    start: Instant,
    text: String,
    tokens: Vec<u32>,
    /// How sure the model was of each token in `tokens`.
    scores: Vec<TokenScore>,
    decoder: StreamDecoder,
    /// Healing bytes the answer must still begin with.
    heal: Vec<u8>,
    first_token_at: Option<Instant>,
}

impl Answer<'_, '_> {
    /// Takes `token` (its log-probability and the step's entropy in `score`) as the
    /// answer's next one: streams its text and runs every stop check; the reason when
    /// the answer ends with it (an end token is not taken).
    fn take(
        &mut self,
        token: u32,
        score: (f32, f32),
        report: &mut Report,
        sink: &mut dyn FnMut(Event),
    ) -> Option<StopReason> {
        if self.first_token_at.is_none() {
            self.first_token_at = Some(Instant::now());
            report.ttft_ms = ms(self.start);
        }
        if self.stop_tokens.contains(&token) || self.tokenizer.is_control(token) {
            return Some(StopReason::EndToken);
        }
        report.generated_tokens += 1;
        self.tokens.push(token);
        let mut bytes = self.tokenizer.token_bytes(token);
        if !self.heal.is_empty() {
            let n = self.heal.len().min(bytes.len());
            self.heal.drain(..n);
            bytes = &bytes[n..];
        }
        let piece = self.decoder.push(bytes);
        if !piece.is_empty() {
            self.text.push_str(&piece);
            sink(Event::Text(piece));
        }
        self.scores.push(TokenScore { end: self.text.len(), logprob: score.0, entropy: score.1 });
        let job = &mut *self.job;
        if job.stop.as_mut().is_some_and(|check| check(&self.text)) {
            return Some(StopReason::StopCheck);
        }
        if report.generated_tokens >= job.max_tokens {
            return Some(StopReason::MaxTokens);
        }
        if job.time_budget.is_some_and(|b| self.start.elapsed() >= b)
            && self.text.trim_end_matches([' ', '\t']).contains('\n')
        {
            return Some(StopReason::TimeBudget);
        }
        if job.deadline.is_some_and(|d| Instant::now() >= d) {
            return Some(StopReason::TimeLimit);
        }
        None
    }
}

impl Generation<'_> {
    /// Generates after the prompt (the first tokens taken from `forced`, an earlier
    /// answer whose keys and values are in the cache but for its last token), streaming
    /// text, until a stop; records the answer in the slot and its end in `report`.
    #[allow(clippy::too_many_arguments, reason = "the parts of one job's run, each from elsewhere")]
    pub(super) fn run(
        &mut self,
        slot: &mut Slot,
        job: &mut Job,
        logits: Option<Tensor>,
        forced: Vec<(u32, (f32, f32))>,
        start: Instant,
        interrupt: &dyn Fn() -> Option<StopReason>,
        report: &mut Report,
        sink: &mut dyn FnMut(Event),
    ) {
        let mut logits = match logits.map(|l| l.to_vec1::<f32>()) {
            Some(Ok(l)) => l,
            Some(Err(e)) => {
                report.stop = StopReason::Failed(format!("reading logits failed: {e}"));
                return;
            }
            None if !forced.is_empty() => Vec::new(),
            None => {
                report.stop = StopReason::Failed("prompt evaluation produced no logits".into());
                return;
            }
        };
        let prompt_len = job.prompt.len();
        let greedy = job.sampling.temperature <= 0.0;
        let mut sampler = Sampler::new(job.sampling);
        let heal = job.heal.clone();
        let job_heal = heal.clone();
        let mut answer = Answer {
            tokenizer: self.tokenizer,
            stop_tokens: self.stop_tokens,
            job,
            start,
            text: String::new(),
            tokens: Vec::new(),
            scores: Vec::new(),
            decoder: StreamDecoder::default(),
            heal,
            first_token_at: None,
        };
        let mut forced = forced.into_iter();
        let stop = 'decoding: loop {
            if let Some(reason) = interrupt().filter(|r| *r == StopReason::Cancelled) {
                break reason;
            }
            let (next, score) = match forced.next() {
                Some(taken) => {
                    report.resumed_tokens += 1;
                    taken
                }
                None => {
                    if !answer.heal.is_empty() {
                        allow_only_compatible(&mut logits, self.tokenizer, &answer.heal);
                    }
                    let token = sampler.pick(&logits);
                    (token, token_confidence(&logits, token))
                }
            };
            if let Some(reason) = answer.take(next, score, report, sink) {
                break reason;
            }
            if slot.cache.len() >= slot.cache.capacity() {
                break StopReason::ContextFull;
            }
            // A resumed token other than the last has its keys and values in the cache.
            if forced.len() > 0 {
                continue;
            }
            // Greedy, past healing: check the tokens the text suggests come next along
            // with this one.
            let room = (slot.cache.capacity() - slot.cache.len()).min(answer.job.max_tokens - report.generated_tokens);
            let drafts =
                if greedy && answer.heal.is_empty() && room > 1 && answer.job.drafts > 0 && self.drafting.worth_it() {
                    let context = [&answer.job.prompt[..], &answer.tokens].concat();
                    draft::lookup(&context, answer.job.drafts.min(room - 1))
                } else {
                    Vec::new()
                };
            let step = Instant::now();
            if drafts.is_empty() {
                match self.transformer.forward(&[next], &mut slot.cache).and_then(|l| l.to_vec1::<f32>()) {
                    Ok(l) => logits = l,
                    Err(e) => break StopReason::Failed(format!("decoding failed: {e}")),
                }
                self.drafting.single(ms(step));
                continue;
            }
            let base = slot.cache.len();
            let batch = [&[next][..], &drafts].concat();
            let rows = match self.transformer.forward_rows(&batch, &mut slot.cache) {
                Ok(rows) => rows,
                Err(e) => break StopReason::Failed(format!("decoding failed: {e}")),
            };
            report.drafted_tokens += drafts.len();
            // Keep each draft token the model would have chosen itself.
            let mut kept = 0;
            for (i, &token) in drafts.iter().enumerate() {
                if sampler.pick(&rows[i]) != token {
                    break;
                }
                kept += 1;
                report.accepted_drafts += 1;
                if let Some(reason) = answer.take(token, token_confidence(&rows[i], token), report, sink) {
                    // The last token taken stays out of the cache (as after any stop).
                    slot.cache.truncate(base + 1 + i);
                    break 'decoding reason;
                }
            }
            slot.cache.truncate(base + 1 + kept);
            self.drafting.drafted(ms(step), kept + 1);
            logits = rows.into_iter().nth(kept).unwrap_or_default();
        };
        let Answer { mut text, tokens, scores, mut decoder, first_token_at, .. } = answer;
        let rest = decoder.finish();
        if !rest.is_empty() {
            text.push_str(&rest);
            sink(Event::Text(rest));
        }
        if let Some(first) = first_token_at {
            report.decode_ms = ms(first);
            let decoded = report.generated_tokens.saturating_sub(report.resumed_tokens.max(1));
            if decoded > 0 && report.decode_ms > 0.0 {
                report.tokens_per_s = decoded as f64 / (report.decode_ms / 1e3);
            }
        }
        // What the cache holds after the prompt is this answer (but its last token):
        // kept so the same prompt asked again goes on from here.
        if greedy && !tokens.is_empty() && slot.cache.len() >= prompt_len + tokens.len() - 1 {
            slot.cache.truncate(prompt_len + tokens.len() - 1);
            slot.last = Some(LastAnswer { prompt_len, heal: job_heal, tokens, scores: scores.clone() });
        } else {
            slot.last = None;
        }
        report.stop = stop;
        report.text = text;
        report.scores = scores;
    }
}

/// Token healing: keeps only tokens whose bytes agree with the bytes the answer must
/// begin with (they start with them, or are a beginning of them). If none would be
/// left, nothing is masked.
fn allow_only_compatible(logits: &mut [f32], tokenizer: &ModelTokenizer, heal: &[u8]) {
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
