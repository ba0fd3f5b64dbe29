//! A deterministic engine for end-to-end tests of the request lifecycle, selected by the
//! hidden `--test-engine DELAY_MS` flag. It waits `DELAY_MS` (checking its cancel token
//! every millisecond, as the model engine checks between tokens), then suggests
//! `«v<version>@<cursor byte>»`, so a test can tell a stale answer from a fresh one.
//! A document containing `INFILL_TEST_PANIC` makes it panic, to test panic recovery.
//! Its answers carry token scores like the model's: sure ones, or very unsure ones in a
//! document containing `INFILL_TEST_UNSURE` (to test the filter and the router).
//! Like the model engine's single thread, it works on one request at a time: a request
//! that is not cancelled holds the others back.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use infill_model::{Report, StopReason, TokenScore};

use super::{Completion, CompletionEngine, CompletionRequest, Suggestion, Timings};
use crate::cancel::CancelToken;

/// Text that makes [`Scripted`] panic.
pub const PANIC_MARKER: &str = "INFILL_TEST_PANIC";
/// Text that makes [`Scripted`]'s answers unsure.
pub const UNSURE_MARKER: &str = "INFILL_TEST_UNSURE";

/// The test engine.
pub struct Scripted {
    delay: Duration,
    busy: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Scripted {
    /// An engine that takes `delay` per request.
    pub fn new(delay: Duration) -> Self {
        Scripted { delay, busy: Default::default() }
    }
}

impl CompletionEngine for Scripted {
    fn complete(
        &self,
        request: CompletionRequest,
        cancel: CancelToken,
    ) -> BoxFuture<'static, anyhow::Result<Completion>> {
        let delay = self.delay;
        let busy = self.busy.clone();
        Box::pin(async move {
            let _working = busy.lock().await;
            if request.snapshot.rope.chunks().any(|c| c.contains(PANIC_MARKER)) {
                panic!("test engine asked to panic");
            }
            let start = Instant::now();
            while start.elapsed() < delay {
                if cancel.is_cancelled() {
                    return Ok(Completion::default());
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let text = format!(
                "«v{}@{}#{}:{:016x}»",
                request.snapshot.version,
                request.cursor,
                request.snapshot.rope.len_bytes(),
                fnv1a(&request.snapshot.rope)
            );
            let ms = start.elapsed().as_secs_f64() * 1e3;
            let unsure = request.snapshot.rope.chunks().any(|c| c.contains(UNSURE_MARKER));
            let (logprob, entropy) = if unsure { (-12.0, 9.0) } else { (-0.01, 0.05) };
            // One "token" per character.
            let scores =
                text.char_indices().map(|(i, c)| TokenScore { end: i + c.len_utf8(), logprob, entropy }).collect();
            let timings = Timings {
                prompt_ms: 0.0,
                engine_ms: ms,
                report: Report { decode_ms: ms, scores, ..Report::new(StopReason::StopCheck) },
            };
            Ok(Completion {
                suggestions: vec![Suggestion { text, replace: request.cursor..request.cursor }],
                timings: Some(timings),
                prefix_start: None,
            })
        })
    }
}

/// 64-bit FNV-1a over the text's bytes (tests compute the same over their copy).
pub fn fnv1a(rope: &ropey::Rope) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for chunk in rope.chunks() {
        for byte in chunk.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}
