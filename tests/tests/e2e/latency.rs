//! The keystroke-latency machinery: answers from the cache and typed-ahead make no
//! engine call, speculation never delays a real request, accepting a line and pressing
//! Enter is answered at once, cancellation reaches the decode loop, and a burst of
//! keystrokes leaves the server responsive with flat memory.

use std::time::{Duration, Instant};

use infill_tests::{proc_status_kib, test_model, wait_status, Client};
use serde_json::{json, Value};

use super::support::{expected_suggestion, inline, inline_texts, request_inline, scripted};

/// Waits for the server's log line that starts with `start` (`window/logMessage`);
/// whether it came.
fn log_line(client: &mut Client, start: &str) -> bool {
    let message = |m: &Value| m["params"]["message"].as_str().is_some_and(|s| s.starts_with(start));
    client.wait_for(Duration::from_secs(60), |m| m["method"] == "window/logMessage" && message(m)).is_some()
}

#[test]
fn typing_along_a_suggestion_is_answered_without_the_engine() {
    let mut client = scripted(300, &[]);
    let uri = "file:///t.py";
    client.open(uri, "python", 1, "x = ");
    let shown = inline(&mut client, uri, 0, 4);
    assert_eq!(shown, vec![expected_suggestion(1, 4, "x = ")]);
    assert_eq!(client.did_complete(uri, 1)["source"], "model");
    // The user types the suggestion's first character.
    let first: String = shown[0].chars().take(1).collect();
    client.change(uri, 2, [0, 4, 0, 4], &first);
    let started = Instant::now();
    let texts = inline(&mut client, uri, 0, 5);
    let rest: String = shown[0].chars().skip(1).collect();
    assert_eq!(texts, vec![rest], "the rest of the suggestion on screen, not a new engine answer (v2)");
    assert!(started.elapsed() < Duration::from_millis(250), "no engine call: {:?}", started.elapsed());
    assert_eq!(client.did_complete(uri, 2)["source"], "typedAhead");
}

#[test]
fn going_back_to_an_answered_state_costs_nothing() {
    let mut client = scripted(200, &[]);
    let uri = "file:///b.rs";
    client.open(uri, "rust", 1, "let x = ");
    let first = inline(&mut client, uri, 0, 8);
    client.change(uri, 2, [0, 8, 0, 8], "z");
    assert_eq!(inline(&mut client, uri, 0, 9), vec![expected_suggestion(2, 9, "let x = z")]);
    client.change(uri, 3, [0, 8, 0, 9], "");
    let started = Instant::now();
    assert_eq!(inline(&mut client, uri, 0, 8), first, "the answer for this text, from the cache");
    assert!(started.elapsed() < Duration::from_millis(150), "{:?}", started.elapsed());
    assert_eq!(client.did_complete(uri, 3)["source"], "cache");
}

#[test]
fn speculative_work_never_delays_a_real_request() {
    let mut client = scripted(500, &[]);
    let uri = "file:///s.py";
    client.open(uri, "python", 1, "total = 1\n");
    // The answer is shown; speculation (500 ms of engine time) starts right after it.
    inline(&mut client, uri, 0, 9);
    client.change(uri, 2, [0, 9, 0, 9], " + 2");
    let started = Instant::now();
    let texts = inline(&mut client, uri, 0, 13);
    let took = started.elapsed();
    assert_eq!(texts, vec![expected_suggestion(2, 13, "total = 1 + 2\n")]);
    assert!(took < Duration::from_millis(850), "the real request waited for speculation: {took:?}");
}

#[test]
fn accepting_a_line_and_pressing_enter_shows_the_next_line_at_once() {
    let mut client = scripted(200, &[]);
    let uri = "file:///n.py";
    let text = "total = 1";
    client.open(uri, "python", 1, text);
    let shown = inline(&mut client, uri, 0, 9);
    // The user reads the suggestion while the next line is speculated.
    assert!(log_line(&mut client, "speculated the next line"), "no speculation; stderr:\n{}", client.stderr());
    let accepted = format!("{}\n", shown[0]);
    client.change(uri, 2, [0, 9, 0, 9], &accepted);
    let started = Instant::now();
    let texts = inline(&mut client, uri, 1, 0);
    assert!(started.elapsed() < Duration::from_millis(150), "answered from the speculation: {:?}", started.elapsed());
    // What the engine said for the text after accept + Enter, made while the user read (v1).
    let after = format!("{text}{accepted}");
    assert_eq!(texts, vec![expected_suggestion(1, after.len(), &after)]);
    assert_eq!(client.did_complete(uri, 2)["source"], "cache");
}

/// A server on the real model with `options` (the confidence filter off unless they
/// set it: these tests time answers, not which are shown).
fn with_model(mut options: Value) -> Client {
    if options.get("confidence").is_none() {
        options["confidence"] = json!("off");
    }
    let model = test_model();
    let mut client = Client::spawn(&["--model", model.to_str().expect("utf-8 path"), "--threads", "2"]);
    client.initialize(&[], options);
    wait_status(&mut client, "ready");
    client
}

#[test]
fn cancelling_a_long_prompt_frees_the_engine_within_a_layer() {
    let mut client = with_model(json!({ "maxTokens": 400, "timeBudgetMs": 0, "timeLimitMs": 0, "speculate": false }));
    let uri = "file:///long.py";
    // About 1,900 prompt tokens: seconds of prefill on any machine, well past 400 ms.
    let body: String = (0..150).map(|i| format!("    values.append(compute({i}, scale={i}))\n")).collect();
    let text = format!("def fill(values):\n{body}    ");
    let line = 151;
    client.open(uri, "python", 1, &text);
    let long = request_inline(&mut client, uri, line, 4);
    assert!(log_line(&mut client, "evaluating the prompt"), "no evaluation; stderr:\n{}", client.stderr());
    // Inside the prompt's evaluation, a keystroke supersedes it; the new request must not wait for the old prefill.
    client.change(uri, 2, [line, 4, line, 4], "p");
    let next = request_inline(&mut client, uri, line, 5);
    let old = client.response(json!(long));
    assert!(inline_texts(&old).is_empty(), "{old}");
    client.response(json!(next));
    let t = client.did_complete(uri, 2);
    let f = |k: &str| t[k].as_f64().unwrap_or(f64::NAN);
    let waited = f("totalMs") - f("delayMs") - f("promptMs") - f("prefillMs") - f("decodeMs");
    assert!(waited < 120.0, "the engine was busy {waited:.0} ms with the cancelled job: {t}");
}

fn rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS")
}

#[test]
fn a_burst_of_a_thousand_keystrokes_leaves_the_server_responsive_and_memory_flat() {
    let mut client = with_model(json!({ "maxTokens": 32 }));
    let uri = "file:///burst.py";
    client.open(uri, "python", 1, "def area(radius):\n    return ");
    // Warm up: the first completions allocate the caches for good.
    for i in 0..20u32 {
        client.change(uri, 2 + i64::from(i), [1, 11 + i, 1, 11 + i], "r");
        let id = request_inline(&mut client, uri, 1, 12 + i);
        client.response(json!(id));
    }
    let rss_before = rss_kib(client.pid());
    let mut ids = Vec::new();
    for (version, i) in (22..).zip(0..1000u32) {
        let column = 31 + (i % 40);
        if i % 80 < 40 {
            client.change(uri, version, [1, column, 1, column], "x");
            ids.push(request_inline(&mut client, uri, 1, column + 1));
        } else {
            client.change(uri, version, [1, 70 - (i % 40), 1, 71 - (i % 40)], "");
            ids.push(request_inline(&mut client, uri, 1, 70 - (i % 40)));
        }
    }
    let burst_end = Instant::now();
    for id in &ids {
        let response = client
            .wait_for(Duration::from_secs(5), |m| m.get("id") == Some(&json!(id)) && m.get("method").is_none())
            .unwrap_or_else(|| panic!("request {id} never answered; stderr:\n{}", client.stderr()));
        assert!(response.get("result").is_some() || response["error"]["code"] == -32800, "{response}");
    }
    let late = burst_end.elapsed();
    assert!(late < Duration::from_secs(1), "the last answer came {late:?} after the burst");
    let rss_after = rss_kib(client.pid());
    assert!(rss_after < rss_before + 32 * 1024, "memory grew from {rss_before} KiB to {rss_after} KiB");
    assert!(!client.stderr().contains("panicked"));
}

#[test]
fn a_document_warmed_where_the_cursor_rests_answers_its_first_keystroke_without_evaluating_the_file() {
    let mut client = with_model(json!({ "maxTokens": 8 }));
    let uri = "file:///warm.py";
    let body: String = (0..120).map(|i| format!("    total += weight({i}) * scale\n")).collect();
    let text = format!("def score(weight, scale):\n    total = 0\n{body}    return total\n\n\ndef other():\n    ");
    let line = 126;
    client.open(uri, "python", 1, &text);
    client.notify(
        "infill/cursor",
        json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": 4 } }),
    );
    assert!(log_line(&mut client, "warmed"), "no warm-up; stderr:\n{}", client.stderr());
    client.change(uri, 2, [line, 4, line, 4], "r");
    request_inline(&mut client, uri, line, 5);
    let t = client.did_complete(uri, 2);
    let (evaluated, reused) = (t["evaluatedTokens"].as_u64().unwrap_or(0), t["reusedTokens"].as_u64().unwrap_or(0));
    assert!(reused > 1000, "the warmed prompt was reused: {t}");
    assert!(evaluated <= 3, "only the keystroke's tokens were evaluated: {t}");
}
