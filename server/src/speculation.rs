//! The next step, computed while the user reads a suggestion: the completion for the
//! text as it would be after accepting the suggestion and pressing Enter. Its answer
//! goes into the suggestion cache (keyed both with the guessed indentation and without
//! it, so typed-ahead covers what the editor's auto-indent inserts), so accepting a
//! line and pressing Enter shows the next line at once. Real requests preempt it: each
//! one cancels the running speculation before it starts.

use std::sync::{Arc, Mutex};

use infill_context::{IndentStyle, SyntaxEdit};

use crate::cancel::CancelToken;
use crate::document::Snapshot;
use crate::engine::{CompletionEngine, CompletionRequest, Timings};
use crate::request_context::PARSE_LIMIT;
use crate::suggestion_cache::{SuggestionCache, Window};

/// The work done ahead of need running now, if any: a speculation, or a warm-up.
#[derive(Default)]
pub struct Speculation {
    running: Mutex<Option<CancelToken>>,
}

impl Speculation {
    /// Cancels the running background work (a real request is coming).
    pub fn preempt(&self) {
        if let Some(token) = self.running.lock().ok().and_then(|mut r| r.take()) {
            token.cancel();
        }
    }

    /// Registers new background work (cancelling the one before): its token.
    pub(crate) fn begin(&self) -> CancelToken {
        let token = CancelToken::new();
        if let Ok(mut running) = self.running.lock() {
            if let Some(older) = running.replace(token.clone()) {
                older.cancel();
            }
        }
        token
    }
}

/// Starts computing the answer after `suggestion`, the answer to `request`, is
/// accepted and Enter pressed, unless the cache has it already or the cursor had text
/// after it on its line.
pub fn speculate(
    speculation: &Speculation,
    engine: Arc<dyn CompletionEngine>,
    cache: Arc<SuggestionCache>,
    request: CompletionRequest,
    suggestion: &str,
) {
    let CompletionRequest { uri, snapshot, cursor, mut context, .. } = request.clone();
    let rope = &snapshot.rope;
    let line_start = rope.line_to_byte(rope.byte_to_line(cursor));
    let line_end = rope.line_to_byte((rope.byte_to_line(cursor) + 1).min(rope.len_lines()));
    let rest_of_line: String = rope.byte_slice(cursor..line_end.max(cursor)).into();
    if suggestion.is_empty() || !rest_of_line.trim().is_empty() {
        return;
    }
    let line: String = rope.byte_slice(line_start..cursor).into();
    let last_line = format!("{line}{suggestion}");
    let last_line = last_line.rsplit('\n').next().unwrap_or("");
    let indent = IndentStyle::detect(rope, cursor).next_line(last_line, snapshot.language);
    let inserted = format!("{suggestion}\n{indent}");
    let window = Window::of(rope, cursor);
    let at_enter = window.after_typing(&format!("{suggestion}\n"));
    let at_indent = window.after_typing(&inserted);
    if cache.lookup(&uri, &at_indent).is_some() {
        return;
    }
    let mut text = rope.clone();
    let edit = SyntaxEdit::apply(&mut text, cursor, cursor, &inserted);
    let new_cursor = edit.new_end_byte;
    let token = speculation.begin();
    tokio::spawn(async move {
        // The tree of the supposed text (an incremental parse: the same scope headers
        // as the real prompt, so both share the model's cache).
        let syntax = snapshot.syntax.clone().with_edit(edit);
        let parse_text = text.clone();
        let parsed = tokio::task::spawn_blocking(move || syntax.parse(&parse_text, PARSE_LIMIT)).await;
        context.tree = parsed.ok().and_then(|p| p.tree().cloned());
        if token.is_cancelled() {
            return;
        }
        let snapshot = Snapshot { rope: text, ..snapshot };
        let supposed = CompletionRequest { background: true, deadline: None, invoked: false, ..request };
        let request = CompletionRequest { snapshot, cursor: new_cursor, context, ..supposed };
        let Ok(completion) = engine.complete(request, token.clone()).await else { return };
        // Only an answer the model finished is worth keeping.
        if token.is_cancelled() || !completion.timings.as_ref().is_some_and(Timings::is_final) {
            return;
        }
        let next = completion.first_scored();
        let chars = next.text.len();
        if !next.text.is_empty() {
            cache.store(&uri, &at_enter, next.prefixed(&indent));
        }
        cache.store(&uri, &at_indent, next);
        // Logged once stored: the log line says the answer is there (tests wait on it).
        tracing::debug!(%uri, chars, "speculated the next line");
    });
}
