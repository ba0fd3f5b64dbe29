//! Two forward steps for instruction counting under callgrind (stable on this noisy,
//! PMU-less machine): one 256-token prefill (in the engine's 64-token chunks) and one
//! decode step after a 64-token prompt, each in its own never-inlined function.
//!
//! Run: `cargo bench -p infill-benches --bench forward_steps --no-run`, then (with
//! `INFILL_STEPS=decode` to skip the prefill)
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured_prefill_256*'
//! --toggle-collect='*measured_decode_step*' <that binary>` and read the per-function
//! totals with `callgrind_annotate --inclusive=yes`. Without valgrind it prints wall times.
#![allow(clippy::print_stdout, reason = "a benchmark prints its report; it is no LSP server")]

use std::time::Instant;

use infill_benches::bench_model;
use infill_model::{EngineOptions, Model};

fn tokens(n: usize, seed: u64) -> Vec<u32> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n).map(|_| rng.u32(200..40_000)).collect()
}

#[inline(never)]
fn measured_prefill_256(model: &mut Model, prompt: &[u32]) {
    model.cache.truncate(0);
    for chunk in prompt.chunks(64) {
        model.transformer.forward(chunk, &mut model.cache).expect("prefill");
    }
}

#[inline(never)]
fn measured_decode_step(model: &mut Model, token: u32) -> usize {
    let logits = model.transformer.forward(&[token], &mut model.cache).expect("decode");
    // Used after the call, so the call is no tail jump that would end the toggle early.
    std::hint::black_box(logits).elem_count()
}

fn main() {
    let threads: usize = std::env::var("INFILL_BENCH_THREADS").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    let path = bench_model();
    let mut model = Model::load(
        &path,
        &EngineOptions { threads, max_context: 4096, prefill_chunk: 64, ..EngineOptions::default() },
    )
    .expect("load");
    // INFILL_STEPS=decode skips the measured prefill (callgrind runs the rest slowly too).
    let decode_only = std::env::var("INFILL_STEPS").is_ok_and(|s| s == "decode");
    let start = Instant::now();
    if decode_only {
        model.cache.truncate(0);
        model.transformer.forward(&tokens(64, 1), &mut model.cache).expect("prompt");
    } else {
        // INFILL_REPEAT=N runs the prefill N times (for a sampling profiler).
        let repeat: u32 = std::env::var("INFILL_REPEAT").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
        // INFILL_PREFILL=N prefills N tokens instead of 256 (attention at depth).
        let n: usize = std::env::var("INFILL_PREFILL").ok().and_then(|s| s.parse().ok()).unwrap_or(256);
        for _ in 0..repeat {
            measured_prefill_256(&mut model, &tokens(n, 1));
        }
    }
    let prefill = start.elapsed();
    model.cache.truncate(64);
    let steps: u32 =
        if decode_only { std::env::var("INFILL_REPEAT").ok().and_then(|s| s.parse().ok()).unwrap_or(1) } else { 1 };
    let start = Instant::now();
    for _ in 0..steps {
        model.cache.truncate(64);
        measured_decode_step(&mut model, 1234);
    }
    let decode = start.elapsed() / steps;
    println!(
        "prefill 256 tokens: {:.1} ms; one decode step after 64: {:.2} ms",
        prefill.as_secs_f64() * 1e3,
        decode.as_secs_f64() * 1e3
    );
}
