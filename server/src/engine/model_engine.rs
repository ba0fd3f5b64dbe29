//! The completion engine backed by a real model: builds the prompt from the buffer,
//! hands a job to the model thread (`infill_model::Engine`) and turns its report into
//! suggestions. Prompt layout here is the plain one (prefix/suffix, FIM when the model
//! has FIM tokens); the syntax-aware prompt builder of the context crate replaces it.

use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use futures::future::BoxFuture;
use infill_model::{Engine, Event, Job, ModelTokenizer, Report, Sampling, StopReason};
use ropey::Rope;

use super::shape::{self, Shape};
use super::{Completion, CompletionEngine, CompletionRequest, Suggestion, Timings};
use crate::cancel::CancelToken;

/// Most prompt tokens, whatever the model's context (prompt evaluation is the cost).
const MAX_PROMPT_TOKENS: usize = 2048;
/// Share of the prompt budget for the text after the cursor (FIM models).
const SUFFIX_SHARE: f32 = 0.25;
/// Bytes of text looked at on each side before counting tokens.
const WINDOW_BYTES: usize = 16 * 1024;

/// Completions from a loaded model.
pub struct ModelEngine {
    engine: Arc<Engine>,
}

impl ModelEngine {
    /// Wraps a running engine.
    pub fn new(engine: Arc<Engine>) -> Self {
        ModelEngine { engine }
    }

    /// The model's name, for status messages.
    pub fn model_name(&self) -> &str {
        &self.engine.facts().name
    }

    /// The prompt's token ids for a cursor in `rope`, and the bytes the answer must
    /// begin with (token healing, prefix prompts only: the last prompt token is taken
    /// off, because a prompt that ends inside a token, after indentation or half a
    /// word, misleads the model; the engine makes the answer start with its bytes).
    pub fn prompt(&self, rope: &Rope, cursor: usize, file_name: &str, max_tokens: usize) -> anyhow::Result<(Vec<u32>, Vec<u8>)> {
        let facts = self.engine.facts();
        let tokenizer = self.engine.tokenizer();
        let budget = MAX_PROMPT_TOKENS.min(self.engine.capacity().saturating_sub(max_tokens + 8)).max(16);
        let mut ids = Vec::with_capacity(budget + 8);
        if facts.add_bos {
            ids.extend(facts.bos);
        }
        let prefix_start = floor_char_boundary(rope, cursor.saturating_sub(WINDOW_BYTES));
        let suffix_end = floor_char_boundary(rope, (cursor + WINDOW_BYTES).min(rope.len_bytes()));
        let prefix: String = rope.byte_slice(prefix_start..cursor).into();
        let mut heal = Vec::new();
        let suffix: String = rope.byte_slice(cursor..suffix_end).into();
        match facts.fim {
            Some(fim) => {
                let suffix_budget = (budget as f32 * SUFFIX_SHARE) as usize;
                let suffix_ids = head_lines(tokenizer, &suffix, suffix_budget)?;
                let prefix_ids = tail_lines(tokenizer, &prefix, budget - suffix_ids.len())?;
                ids.push(fim.prefix);
                ids.extend(prefix_ids);
                ids.push(fim.suffix);
                ids.extend(suffix_ids);
                ids.push(fim.middle);
            }
            None => {
                // Prefix completion; say which file it is when the vocabulary has the tokens.
                if let Some(filename) = facts.filename {
                    ids.push(filename);
                    ids.extend(tokenizer.encode(&format!("{file_name}\n")).context("tokenizing the file name")?);
                }
                let left = budget.saturating_sub(ids.len());
                let mut prefix_ids = tail_lines(tokenizer, &prefix, left)?;
                if prefix_ids.len() > 1 {
                    if let Some(last) = prefix_ids.pop() {
                        heal = tokenizer.token_bytes(last).to_vec();
                    }
                }
                ids.extend(prefix_ids);
            }
        }
        Ok((ids, heal))
    }
}

/// Tokens of the last whole lines of `text` that fit `budget` (the cursor's line is
/// always kept, cut from the left if it alone is too long).
fn tail_lines(tokenizer: &ModelTokenizer, text: &str, budget: usize) -> anyhow::Result<Vec<u32>> {
    let mut start = text.len();
    let mut used = 0;
    for line in text.split_inclusive('\n').rev() {
        let n = tokenizer.encode(line).context("tokenizing the prefix")?.len();
        if used + n > budget && start < text.len() {
            break;
        }
        used += n;
        start -= line.len();
        if used >= budget {
            break;
        }
    }
    let ids = tokenizer.encode(&text[start..]).context("tokenizing the prefix")?;
    Ok(ids[ids.len().saturating_sub(budget)..].to_vec())
}

/// Tokens of the first whole lines of `text` that fit `budget`.
fn head_lines(tokenizer: &ModelTokenizer, text: &str, budget: usize) -> anyhow::Result<Vec<u32>> {
    let mut end = 0;
    let mut used = 0;
    for line in text.split_inclusive('\n') {
        let n = tokenizer.encode(line).context("tokenizing the suffix")?.len();
        if used + n > budget {
            break;
        }
        used += n;
        end += line.len();
    }
    tokenizer.encode(&text[..end]).context("tokenizing the suffix")
}

fn floor_char_boundary(rope: &Rope, byte: usize) -> usize {
    rope.char_to_byte(rope.byte_to_char(byte.min(rope.len_bytes())))
}

/// The text of the cursor's line before and after the cursor.
pub fn line_around(rope: &Rope, cursor: usize) -> (String, String) {
    let char_idx = rope.byte_to_char(cursor.min(rope.len_bytes()));
    let line = rope.char_to_line(char_idx);
    let start = rope.line_to_char(line);
    let line_text = rope.line(line);
    let before: String = rope.slice(start..char_idx).into();
    let after: String = line_text.slice(char_idx - start..).chars().take_while(|c| *c != '\n' && *c != '\r').collect();
    (before, after)
}

impl CompletionEngine for ModelEngine {
    fn complete(&self, request: CompletionRequest, cancel: CancelToken) -> BoxFuture<'static, anyhow::Result<Completion>> {
        let rope = &request.snapshot.rope;
        let (before, after) = line_around(rope, request.cursor);
        let shape = shape::decide(&before, &after);
        if shape == Shape::Nothing {
            return Box::pin(async { Ok(Completion::default()) });
        }
        let file_name = request.uri.path_segments().and_then(|mut s| s.next_back()).unwrap_or("").to_owned();
        let max_tokens = request.max_tokens as usize;
        let (prompt, heal) = match self.prompt(rope, request.cursor, &file_name, max_tokens) {
            Ok(prompt) => prompt,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<Report>();
        let mut tx = Some(tx);
        let job = Job {
            prompt,
            heal,
            max_tokens,
            sampling: Sampling::default(),
            time_budget: None,
            stop: Some(Box::new(move |text: &str| shape::complete_at(shape, text).is_some())),
            cancel: cancel.flag(),
            events: Box::new(move |event| {
                if let Event::Done(report) = event {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(report);
                    }
                }
            }),
        };
        let submitted = self.engine.submit(job);
        let cursor = request.cursor;
        Box::pin(async move {
            submitted.map_err(|e| anyhow!(e))?;
            let report = rx.await.map_err(|_| anyhow!("the model engine dropped the job"))?;
            let timings = Timings {
                reused_tokens: report.reused_tokens,
                evaluated_tokens: report.evaluated_tokens,
                generated_tokens: report.generated_tokens,
                prefill_ms: report.prefill_ms,
                ttft_ms: report.ttft_ms,
                decode_ms: report.decode_ms,
                total_ms: report.queue_ms + report.ttft_ms + report.decode_ms,
                tokens_per_s: report.tokens_per_s,
                stop: format!("{:?}", report.stop),
            };
            match &report.stop {
                StopReason::Cancelled => return Ok(Completion { suggestions: Vec::new(), timings: Some(timings) }),
                StopReason::Failed(message) => return Err(anyhow!("{message}")),
                _ => {}
            }
            tracing::debug!(raw = ?report.text, "model answer");
            let text = shape::finish(shape, &report.text);
            let suggestions =
                if text.trim().is_empty() { Vec::new() } else { vec![Suggestion { text, replace: cursor..cursor }] };
            Ok(Completion { suggestions, timings: Some(timings) })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::line_around;

    #[test]
    fn the_cursor_line_is_split_at_the_cursor() {
        let rope = ropey::Rope::from_str("ab\r\ncd ef\r\ngh");
        assert_eq!(line_around(&rope, 7), ("cd ".to_owned(), "ef".to_owned()));
        assert_eq!(line_around(&rope, 2), ("ab".to_owned(), String::new()));
        assert_eq!(line_around(&rope, 99), ("gh".to_owned(), String::new()));
    }
}
