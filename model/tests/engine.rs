//! The engine thread: streaming, stops, cancellation, reuse of the KV cache, errors.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use candle_core::quantized::GgmlDType;
use common::tiny::{self, Tiny};
use infill_model::{Engine, EngineOptions, Event, Job, Report, Sampling, StopReason};

fn engine(path: &std::path::Path) -> Engine {
    Engine::start(path, EngineOptions { threads: 2, max_context: 512, prefill_chunk: 16, ..EngineOptions::default() })
        .expect("engine")
}

fn tiny_engine() -> Engine {
    let dir = std::env::temp_dir().join(format!("infill-engine-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    engine(&tiny::write(&Tiny::new("llama", GgmlDType::Q8_0), &dir))
}

/// Runs a job; returns the streamed text pieces and the report.
fn run(
    engine: &Engine,
    prompt: Vec<u32>,
    max_tokens: usize,
    configure: impl FnOnce(&mut Job),
) -> (Vec<String>, Vec<Event>, Report) {
    let (tx, rx) = mpsc::channel();
    let mut job = Job {
        slot: 0,
        priority: infill_model::Priority::Foreground,
        prompt,
        heal: Vec::new(),
        max_tokens,
        sampling: Sampling::default(),
        time_budget: None,
        deadline: None,
        stop: None,
        drafts: infill_model::DEFAULT_DRAFTS,
        cache_reuse: 0,
        cancel: Arc::new(AtomicBool::new(false)),
        events: Box::new(move |e| {
            let _ = tx.send(e);
        }),
    };
    configure(&mut job);
    engine.submit(job).expect("submit");
    let mut pieces = Vec::new();
    let mut events = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(60)).expect("engine answers") {
            Event::Done(report) => return (pieces, events, report),
            Event::Text(t) => {
                pieces.push(t.clone());
                events.push(Event::Text(t));
            }
            other => events.push(other),
        }
    }
}

fn prompt(engine: &Engine, text: &str) -> Vec<u32> {
    engine.tokenizer().encode(text).expect("encode")
}

#[test]
fn text_streams_and_the_report_adds_up() {
    let engine = tiny_engine();
    let (pieces, _, report) = run(&engine, prompt(&engine, "the cat and the hat"), 12, |_| {});
    assert!(matches!(report.stop, StopReason::MaxTokens | StopReason::EndToken), "{report:?}");
    assert_eq!(pieces.concat(), report.text);
    assert_eq!(report.reused_tokens + report.evaluated_tokens, prompt(&engine, "the cat and the hat").len());
    assert!(report.generated_tokens <= 12);
}

#[test]
fn the_same_prompt_twice_reuses_the_cache_and_gives_the_same_text() {
    let engine = tiny_engine();
    let p = prompt(&engine, "in the beginning there was the word and");
    let (_, _, cold) = run(&engine, p.clone(), 8, |_| {});
    let (_, _, warm) = run(&engine, p.clone(), 8, |_| {});
    assert_eq!(cold.reused_tokens, 0);
    assert_eq!(warm.reused_tokens, p.len(), "every prompt token comes from the cache");
    assert_eq!(warm.evaluated_tokens, 0);
    assert_eq!(warm.resumed_tokens, cold.generated_tokens, "and the earlier answer's tokens too");
    assert_eq!(cold.text, warm.text, "greedy decoding over reused keys gives the same answer");
    // Another sampler cannot take the earlier answer: all but the last prompt token are reused.
    let (_, _, sampled) =
        run(&engine, p.clone(), 8, |job| job.sampling = Sampling { temperature: 1.0, top_p: 1.0, seed: 3 });
    assert_eq!(sampled.reused_tokens, p.len() - 1);
    assert_eq!((sampled.evaluated_tokens, sampled.resumed_tokens), (1, 0));
    // An edit in the middle keeps the prefix before it.
    let mut edited = p.clone();
    edited[10] = edited[10].wrapping_add(1) % 200;
    let (_, _, after_edit) = run(&engine, edited.clone(), 4, |_| {});
    assert_eq!(after_edit.reused_tokens, 10);
    assert_eq!(after_edit.evaluated_tokens, edited.len() - 10);
}

/// Runs a job whose sink sets the cancel flag as soon as `when` holds for an event.
fn run_cancelling(
    engine: &Engine,
    prompt: Vec<u32>,
    max_tokens: usize,
    sampling: Sampling,
    when: fn(&Event) -> bool,
) -> Report {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let (tx, rx) = mpsc::channel();
    let job = Job {
        slot: 0,
        priority: infill_model::Priority::Foreground,
        prompt,
        heal: Vec::new(),
        max_tokens,
        sampling,
        time_budget: None,
        deadline: None,
        stop: None,
        drafts: infill_model::DEFAULT_DRAFTS,
        cache_reuse: 0,
        cancel,
        events: Box::new(move |e| {
            if when(&e) {
                flag.store(true, Ordering::Release);
            }
            let _ = tx.send(e);
        }),
    };
    engine.submit(job).expect("submit");
    loop {
        if let Event::Done(r) = rx.recv_timeout(Duration::from_secs(60)).expect("answer") {
            return r;
        }
    }
}

#[test]
fn cancelling_during_prefill_stops_before_the_next_chunk_and_keeps_what_was_computed() {
    let engine = tiny_engine();
    let p: Vec<u32> = (0..200).map(|i| (i * 7 % 250) as u32).collect();
    let report = run_cancelling(
        &engine,
        p.clone(),
        8,
        Sampling::default(),
        |e| matches!(e, Event::Prefill { evaluated, .. } if *evaluated >= 32),
    );
    assert_eq!(report.stop, StopReason::Cancelled);
    assert_eq!(report.evaluated_tokens, 32, "stops at the chunk boundary after the cancel");
    assert_eq!(report.generated_tokens, 0);
    let (_, _, next) = run(&engine, p.clone(), 1, |_| {});
    assert_eq!(next.reused_tokens, 32, "the cancelled job's keys and values are kept");
}

#[test]
fn cancelling_during_decoding_lands_within_one_token() {
    let engine = tiny_engine();
    let sampling = Sampling { temperature: 1.0, top_p: 1.0, seed: 5 };
    let report =
        run_cancelling(&engine, prompt(&engine, "the other one"), 200, sampling, |e| matches!(e, Event::Text(_)));
    // The sampled tokens may end (EndToken) before any text; otherwise one token of text then stop.
    if report.stop == StopReason::Cancelled {
        assert!(report.generated_tokens <= 2, "{report:?}");
    }
}

#[test]
fn the_stop_check_sees_the_text_and_ends_the_job() {
    let engine = tiny_engine();
    let (_, _, report) = run(&engine, prompt(&engine, "on and on"), 50, |job| {
        job.sampling = Sampling { temperature: 1.0, top_p: 1.0, seed: 1 };
        job.stop = Some(Box::new(|text: &str| text.chars().count() >= 3));
    });
    if report.stop == StopReason::StopCheck {
        assert!(report.text.chars().count() >= 3);
    } else {
        assert!(matches!(report.stop, StopReason::EndToken), "{report:?}");
    }
}

#[test]
fn a_prompt_longer_than_the_cache_is_refused_and_the_engine_serves_on() {
    let engine = tiny_engine();
    let p: Vec<u32> = (0..700).map(|i| (i % 250) as u32).collect();
    let refused = engine.submit(Job::new(p, Box::new(|_| {})));
    assert!(
        matches!(refused, Err(infill_model::ModelError::PromptTooLong { tokens: 700, capacity }) if capacity < 700),
        "{refused:?}"
    );
    let (_, _, report) = run(&engine, prompt(&engine, "x"), 4, |_| {});
    assert!(!matches!(report.stop, StopReason::Failed(_)), "{report:?}");
}

#[test]
fn a_cancelled_job_in_the_queue_is_skipped() {
    let engine = tiny_engine();
    let (_, _, report) = run(&engine, prompt(&engine, "x"), 10, |job| job.cancel.store(true, Ordering::Release));
    assert_eq!(report.stop, StopReason::Cancelled);
    assert_eq!(report.evaluated_tokens, 0);
}

#[test]
fn the_real_model_completes_code_and_reports_timings() {
    let engine = engine(&common::test_model());
    assert!(!engine.facts().tokens.has_fim(), "SmolLM2 has no FIM tokens: a prefix-completion model");
    assert!(engine.facts().tokens.file_sep.is_some() && engine.facts().tokens.filename.is_some());
    let p = prompt(&engine, "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    if n < 2:\n        return n\n    return ");
    let (_, _, report) = run(&engine, p, 12, |_| {});
    assert!(!report.text.trim().is_empty(), "{report:?}");
    assert!(report.text.contains("fibonacci"), "a 135M model still knows this one: {:?}", report.text);
    assert!(report.prefill_ms > 0.0 && report.ttft_ms >= report.prefill_ms);
}

/// Runs `job` on a fresh engine over the same file: the answer a cold evaluation gives.
fn cold_text(path: &std::path::Path, prompt: Vec<u32>, max_tokens: usize) -> String {
    let fresh = engine(path);
    run(&fresh, prompt, max_tokens, |_| {}).2.text
}

fn tiny_path() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("infill-engine-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    tiny::write(&Tiny::new("llama", GgmlDType::Q8_0), &dir)
}

#[test]
fn a_deadline_during_prefill_answers_at_once_and_the_prompt_is_finished_in_the_background() {
    let path = tiny_path();
    let engine = engine(&path);
    let p: Vec<u32> = (0..300).map(|i| (i * 11 % 250) as u32).collect();
    let (_, _, late) = run(&engine, p.clone(), 8, |job| job.deadline = Some(std::time::Instant::now()));
    assert_eq!(late.stop, StopReason::TimeLimit);
    assert_eq!(late.text, "");
    assert!(late.pending_tokens > 0, "{late:?}");
    // Nothing else to do: the engine finishes the prompt (a few ms for this model).
    std::thread::sleep(Duration::from_millis(500));
    let (_, _, next) = run(&engine, p.clone(), 8, |_| {});
    assert_eq!(next.reused_tokens, p.len() - 1, "the whole prompt was evaluated in the background");
    assert_eq!(next.text, cold_text(&path, p, 8), "the same answer as a cold evaluation");
}

#[test]
fn an_answer_cut_short_goes_on_where_it_stopped_when_asked_again() {
    let path = tiny_path();
    let engine = engine(&path);
    let p = prompt(&engine, "the cat and the hat and the");
    let cut = run_cancelling(&engine, p.clone(), 40, Sampling::default(), |e| matches!(e, Event::Text(_)));
    let (_, _, again) = run(&engine, p.clone(), 40, |_| {});
    let cold = cold_text(&path, p, 40);
    assert_eq!(again.text, cold, "going on from a cut answer gives the cold answer");
    assert_eq!(again.scores.len(), again.generated_tokens, "resumed tokens keep their scores");
    if cut.stop == StopReason::Cancelled && cut.generated_tokens > 0 {
        assert_eq!(again.resumed_tokens, cut.generated_tokens, "{cut:?} then {again:?}");
        assert_eq!(again.evaluated_tokens, 0, "no prompt token evaluated again");
    }
}

#[test]
fn each_document_keeps_its_own_cache_up_to_the_memory_cap() {
    let path = tiny_path();
    let with_memory = |kv_memory| {
        Engine::start(&path, EngineOptions { threads: 2, max_context: 512, prefill_chunk: 16, kv_memory })
            .expect("engine")
    };
    let a: Vec<u32> = (0..120).map(|i| (i * 3 % 250) as u32).collect();
    let b: Vec<u32> = (0..120).map(|i| (i * 5 % 250 + 1) as u32).collect();
    let in_slot = |slot| move |job: &mut Job| job.slot = slot;
    let roomy = with_memory(64 << 20);
    run(&roomy, a.clone(), 2, in_slot(1));
    run(&roomy, b.clone(), 2, in_slot(2));
    let (_, _, back) = run(&roomy, a.clone(), 2, in_slot(1));
    assert_eq!(back.reused_tokens, a.len(), "document 1's cache survived document 2");
    let tight = with_memory(1);
    run(&tight, a.clone(), 2, in_slot(1));
    run(&tight, b.clone(), 2, in_slot(2));
    let (_, _, back) = run(&tight, a.clone(), 2, in_slot(1));
    assert_eq!(back.reused_tokens, 0, "one slot: document 2 took it");
}

#[test]
fn background_work_gives_way_to_a_request() {
    let engine = engine(&common::test_model());
    let long: Vec<u32> = (0..480).map(|i| (i * 13 % 40_000 + 100) as u32).collect();
    let (tx, rx) = mpsc::channel();
    let warm = Job {
        priority: infill_model::Priority::Background,
        max_tokens: 0,
        slot: 7,
        ..Job::new(
            long.clone(),
            Box::new(move |e| {
                let _ = tx.send(e);
            }),
        )
    };
    engine.submit(warm).expect("submit");
    // A request for another document right behind it.
    let (_, _, request) = run(&engine, prompt(&engine, "def add(a, b):\n    return"), 4, |job| job.slot = 8);
    let warmed = loop {
        if let Event::Done(r) = rx.recv_timeout(Duration::from_secs(60)).expect("the warm job ends") {
            break r;
        }
    };
    assert_eq!(warmed.stop, StopReason::Cancelled, "{warmed:?}");
    assert!(warmed.evaluated_tokens < long.len(), "it stopped early: {warmed:?}");
    assert!(request.queue_ms < 200.0, "the request waited {} ms behind background work", request.queue_ms);
}

#[test]
fn text_typed_before_an_unchanged_part_moves_the_part_instead_of_evaluating_it() {
    let path = tiny_path();
    let engine = || {
        Engine::start(&path, EngineOptions { threads: 2, max_context: 512, prefill_chunk: 16, kv_memory: 64 << 20 })
            .expect("engine")
    };
    // A fill-in-the-middle shape: head, suffix, middle; then text typed before the suffix.
    let head: Vec<u32> = (0..60).map(|i| (i * 7 % 250) as u32).collect();
    let suffix: Vec<u32> = (0..150).map(|i| (i * 13 % 250 + 3) as u32).collect();
    let first = [head.clone(), suffix.clone(), vec![261]].concat();
    let second = [head.clone(), vec![70, 71, 72], suffix.clone(), vec![261]].concat();
    let on = engine();
    run(&on, first.clone(), 4, |job| job.cache_reuse = 16);
    let (_, _, moved) = run(&on, second.clone(), 4, |job| job.cache_reuse = 16);
    assert_eq!(moved.shifted_tokens, suffix.len(), "{moved:?}");
    assert_eq!(moved.evaluated_tokens, 3 + 1, "the typed tokens and the last one: {moved:?}");
    assert!(!matches!(moved.stop, StopReason::Failed(_)), "{moved:?}");
    let off = engine();
    run(&off, first, 4, |_| {});
    let (_, _, exact) = run(&off, second.clone(), 4, |_| {});
    assert_eq!(exact.shifted_tokens, 0);
    assert_eq!(exact.evaluated_tokens, second.len() - head.len());
}

#[test]
fn drafts_from_the_text_give_the_same_answer_in_fewer_steps() {
    let engine = engine(&common::test_model());
    let code = "def area(shape):\n    if shape.kind == \"circle\":\n        return 3.14159 * shape.radius * shape.radius\n    if shape.kind == \"square\":\n        return shape.side * shape.side\n    if shape.kind == \"circle\":\n        return";
    let p = prompt(&engine, code);
    let (_, _, one_by_one) = run(&engine, p.clone(), 24, |job| job.drafts = 0);
    // Another slot, so the second run cannot go on from the first one's answer.
    let (_, _, drafted) = run(&engine, p, 24, |job| job.slot = 1);
    assert_eq!(drafted.text, one_by_one.text, "drafts never change the answer");
    assert_eq!(one_by_one.drafted_tokens, 0);
    assert!(drafted.accepted_drafts > 0, "the repeated line is drafted from the prompt: {drafted:?}");
    // Every token is scored, the same with drafts as without (each row is computed as
    // it would be alone), and the scores map onto the text.
    assert_eq!(one_by_one.scores.len(), one_by_one.generated_tokens);
    assert_eq!(drafted.scores, one_by_one.scores, "drafts never change the scores");
    let ends: Vec<usize> = drafted.scores.iter().map(|s| s.end).collect();
    assert!(ends.windows(2).all(|w| w[0] <= w[1]) && ends.last().is_some_and(|e| *e <= drafted.text.len()), "{ends:?}");
    assert!(drafted.scores.iter().all(|s| s.logprob <= 0.0 && s.entropy >= 0.0), "{:?}", drafted.scores);
    assert!(drafted.scores[1..].iter().any(|s| s.logprob > -0.1), "the repeated line is near certain");
}
