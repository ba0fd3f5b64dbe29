//! The completion engine backed by a real model: the context crate builds the prompt
//! (off the async runtime), a job goes to the model thread (`infill_model::Engine`)
//! with the prompt's finisher as its stop check, and the report becomes suggestions.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, Context as _};
use futures::future::BoxFuture;
use infill_context::{Prompt, PromptInput, PromptOptions, Shape, TokenCache, Tokenize, TokenizeError};
use infill_model::{Engine, Event, Job, ModelFacts, ModelTokenizer, Priority, Report, Sampling, StopReason};

use super::{Completion, CompletionEngine, CompletionRequest, RequestContext, Suggestion, Timings};
use crate::cancel::CancelToken;

/// Whether the user was told that the prompt format asked for needs FIM tokens.
static WARNED_NO_FIM: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Completions from a loaded model.
pub struct ModelEngine {
    engine: Arc<Engine>,
    /// Encodings of unchanged text, reused from one keystroke to the next.
    tokens: Arc<TokenCache>,
}

/// The model's tokenizer as the context crate sees it.
pub struct TokenizerView<'a>(pub &'a ModelTokenizer);

impl Tokenize for TokenizerView<'_> {
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizeError> {
        self.0.encode(text).map_err(|e| TokenizeError(Box::new(e)))
    }

    fn token_bytes(&self, id: u32) -> &[u8] {
        self.0.token_bytes(id)
    }

    fn spelling(&self, id: u32) -> String {
        match self.0.token_text(id) {
            Some(text) if self.0.is_control(id) || self.0.token_bytes(id).is_empty() => text.to_owned(),
            _ => String::from_utf8_lossy(self.0.token_bytes(id)).into_owned(),
        }
    }
}

/// The engine's KV cache slot for a document: a hash of its URI.
pub fn slot_key(uri: &tower_lsp::lsp_types::Url) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    uri.as_str().hash(&mut hasher);
    hasher.finish()
}

/// Builds the prompt for a cursor with a model's tokenizer (possibly cached) and facts.
#[allow(clippy::too_many_arguments, reason = "the parts of one request, each from elsewhere")]
pub fn build_prompt(
    tokenizer: &dyn Tokenize,
    facts: &ModelFacts,
    capacity: usize,
    rope: &ropey::Rope,
    cursor: usize,
    language: infill_context::Language,
    context: &RequestContext,
    max_tokens: usize,
) -> anyhow::Result<Prompt> {
    let tokens = facts.tokens;
    let wanted = context.format.unwrap_or(facts.format);
    let format = wanted.usable_with(&tokens);
    if format != wanted && !WARNED_NO_FIM.swap(true, std::sync::atomic::Ordering::Relaxed) {
        // Said once: this runs on every keystroke.
        tracing::warn!(format = wanted.name(), "the model has no fill-in-the-middle tokens: using prefix-only prompts");
    }
    let budget = infill_context::prompt_budget(context.budget, capacity, max_tokens);
    let input = PromptInput {
        rope,
        cursor,
        path: &context.path,
        repo: context.repo.as_deref(),
        language,
        tree: context.tree.as_ref(),
        others: &context.others,
        prefix_anchor: context.prefix_anchor.as_ref(),
    };
    let options = PromptOptions::new(format, tokens, budget);
    infill_context::build(&input, &options, tokenizer).context("building the prompt")
}

impl ModelEngine {
    /// Wraps a running engine.
    pub fn new(engine: Arc<Engine>) -> Self {
        let tokens = Arc::new(TokenCache::new(&TokenizerView(engine.tokenizer())));
        tracing::debug!(boundary = ?tokens.boundary(), "prompt tokenization cache");
        ModelEngine { engine, tokens }
    }

    /// The model's name, for status messages.
    pub fn model_name(&self) -> &str {
        &self.engine.facts().name
    }
}

impl CompletionEngine for ModelEngine {
    fn complete(
        &self,
        request: CompletionRequest,
        cancel: CancelToken,
    ) -> BoxFuture<'static, anyhow::Result<Completion>> {
        let engine = self.engine.clone();
        let tokens = self.tokens.clone();
        Box::pin(async move {
            let started = Instant::now();
            let cursor = request.cursor;
            let max_tokens = request.max_tokens as usize;
            let (time_budget, deadline) = (request.time_budget, request.deadline);
            let slot = slot_key(&request.uri);
            let (cache_reuse, drafts) = (request.cache_reuse, request.drafts);
            let priority = if request.background { Priority::Background } else { Priority::Foreground };
            // Tokenizing a prompt takes a millisecond or more: not on the runtime's threads.
            let builder = engine.clone();
            let prompt = tokio::task::spawn_blocking(move || {
                let snapshot = &request.snapshot;
                let view = TokenizerView(builder.tokenizer());
                build_prompt(
                    &tokens.wrap(&view),
                    builder.facts(),
                    builder.capacity(),
                    &snapshot.rope,
                    cursor,
                    snapshot.language,
                    &request.context,
                    max_tokens,
                )
            })
            .await
            .map_err(|e| anyhow!("the prompt builder stopped: {e}"))??;
            let prompt_ms = started.elapsed().as_secs_f64() * 1e3;
            tracing::debug!(
                shape = %prompt.decision, format = prompt.format.name(), tokens = prompt.ids.len(),
                prefix = prompt.counts.prefix, suffix = prompt.counts.suffix, cross_file = prompt.counts.cross_file,
                middle = prompt.counts.middle, anchored = prompt.anchored, prompt_ms, "prompt"
            );
            if prompt.decision.shape == Shape::Nothing || cancel.is_cancelled() {
                return Ok(Completion::default());
            }
            let prefix_start = prompt.prefix_anchor.clone();
            let (tx, rx) = tokio::sync::oneshot::channel::<Report>();
            let mut tx = Some(tx);
            let mut evaluating = false;
            let finisher = prompt.finisher.clone();
            let job = Job {
                slot,
                priority,
                prompt: prompt.ids,
                heal: prompt.heal,
                max_tokens,
                sampling: Sampling::default(),
                time_budget,
                deadline,
                stop: Some(Box::new(move |text: &str| finisher.is_complete(text))),
                drafts,
                cache_reuse,
                cancel: cancel.flag(),
                events: Box::new(move |event| match event {
                    // Once per job: the log (and the tests) can see the evaluation under way.
                    Event::Prefill { evaluated, total } if !evaluating => {
                        evaluating = true;
                        tracing::debug!(evaluated, total, "evaluating the prompt");
                    }
                    Event::Done(report) => {
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(report);
                        }
                    }
                    _ => {}
                }),
            };
            engine.submit(job).map_err(|e| anyhow!(e))?;
            let mut report = rx.await.map_err(|_| anyhow!("the model engine dropped the job"))?;
            let raw = std::mem::take(&mut report.text);
            let stop = report.stop.clone();
            let engine_ms = started.elapsed().as_secs_f64() * 1e3;
            let timings = Some(Timings { prompt_ms, engine_ms, report });
            match stop {
                StopReason::Cancelled => {
                    return Ok(Completion { suggestions: Vec::new(), timings, prefix_start: Some(prefix_start) })
                }
                StopReason::Failed(message) => return Err(anyhow!("{message}")),
                StopReason::Panicked(message) => return Err(super::EnginePanicked(message).into()),
                _ => {}
            }
            tracing::debug!(?raw, "model answer");
            let cut_off = matches!(
                stop,
                StopReason::MaxTokens | StopReason::TimeBudget | StopReason::TimeLimit | StopReason::ContextFull
            );
            let text = if cut_off { prompt.finisher.finish_cut_off(&raw) } else { prompt.finisher.finish(&raw) };
            let suggestions =
                if text.is_empty() { Vec::new() } else { vec![Suggestion { text, replace: cursor..cursor }] };
            Ok(Completion { suggestions, timings, prefix_start: Some(prefix_start) })
        })
    }
}
