//! The soak: typing replayed without end into `infill-ls` on the real test model, for
//! `INFILL_SOAK_MINUTES` (default 30), while documents are opened and closed, settings
//! change every two minutes and the model is loaded again every five
//! (`INFILL_SOAK_RELOAD_SECONDS`; the `model` setting flips between the file and a second
//! name for it, so a new engine replaces the old one and nothing else changes).
//!
//! Every 10 s the server's resident memory, open file descriptors and threads are
//! sampled; a line per minute is printed, then the figures the issue asks for: RSS
//! growth from minute 5 to the end (reloads fall half-way between, so both minutes sit
//! at the same point of a cycle), the peak of each reload cycle, and the spread of descriptors and threads after
//! minute 5 (samples taken while a reload was under way are left out of that spread).
//!
//! Run: `cargo bench -p infill-benches --bench soak` (alone: it uses both cores).

#![allow(clippy::print_stdout, reason = "a benchmark prints its report; it is no LSP server")]

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use infill_benches::replay::{Infill, Server};
use infill_tests::{proc_status_kib, test_model, wait_status};
use serde_json::json;

/// Files typed into (real code no one here wrote).
const FILES: &[&str] = &["textwrap.py", "shlex.py", "fractions.py", "heapq.py", "difflib.py", "calendar.py"];
/// Lines of a file typed back per visit.
const LINES_TYPED: usize = 6;
const SAMPLE_EVERY: Duration = Duration::from_secs(10);

/// One sample of the server's resources.
#[derive(Clone, Copy, Debug)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: usize,
    threads: u64,
    /// Taken while a model reload was under way (two engines may be alive).
    reloading: bool,
}

fn sample(pid: u32, at: Duration, reloading: bool) -> Sample {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0);
    Sample { at, rss_kib: proc_status_kib(pid, "VmRSS"), fds, threads: proc_status_kib(pid, "Threads"), reloading }
}

fn main() {
    let minutes: f64 = std::env::var("INFILL_SOAK_MINUTES").ok().and_then(|m| m.parse().ok()).unwrap_or(30.0);
    let total = Duration::from_secs_f64(minutes * 60.0);
    let model = test_model();
    // The same file under a second name: switching between the two names loads the
    // model again with nothing else changed, so every cycle is alike.
    let link = std::env::temp_dir().join(format!("infill-soak-model-{}.gguf", std::process::id()));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&model, &link).expect("a second name for the model");
    let mut server = Infill::start(&model, 2, "info", json!({ "maxTokens": 32 }));
    let pid = server.pid();
    let sources: Vec<(PathBuf, String)> = FILES
        .iter()
        .map(|f| infill_benches::python_stdlib(f))
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
        .collect();
    assert!(!sources.is_empty(), "no Python standard library files to type");
    println!("soak: {minutes} min on {} (pid {pid}), {} files", model.display(), sources.len());

    let started = Instant::now();
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let reloading = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (samples, reloading, done) = (samples.clone(), reloading.clone(), done.clone());
        std::thread::spawn(move || {
            let mut next = Duration::ZERO;
            while !done.load(Ordering::Relaxed) {
                let at = started.elapsed();
                if at >= next {
                    let s = sample(pid, at, reloading.load(Ordering::Relaxed));
                    if let Ok(mut all) = samples.lock() {
                        if at.as_secs() % 60 < SAMPLE_EVERY.as_secs() {
                            println!(
                                "  min {:>4.1}: RSS {:>7.1} MiB, {} fds, {} threads",
                                at.as_secs_f64() / 60.0,
                                s.rss_kib as f64 / 1024.0,
                                s.fds,
                                s.threads
                            );
                        }
                        all.push(s);
                    }
                    next += SAMPLE_EVERY;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };

    let (mut keystrokes, mut accepted, mut visits, mut reloads, mut settings) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut next_settings = Duration::from_secs(120);
    let reload_every = Duration::from_secs(
        std::env::var("INFILL_SOAK_RELOAD_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(300),
    );
    // Reloads half-way between the minutes compared (5 and the last), so both are
    // taken at the same point of a cycle (caches refill after each reload).
    let mut next_reload = reload_every / 2;
    let mut rng = fastrand::Rng::with_seed(2026);
    while started.elapsed() < total {
        let (path, original) = &sources[visits % sources.len()];
        visits += 1;
        // A region of whole lines somewhere in the file, deleted and typed back.
        let line_starts: Vec<usize> =
            std::iter::once(0).chain(original.match_indices('\n').map(|(i, _)| i + 1)).collect();
        let first = rng.usize(0..line_starts.len().saturating_sub(LINES_TYPED + 1).max(1));
        let (start, end) = (line_starts[first], line_starts[(first + LINES_TYPED).min(line_starts.len() - 1)]);
        let region = &original[start..end];
        let mut text = format!("{}{}", &original[..start], &original[end..]);
        server.open(path, "python", &text);
        let mut typed = 0;
        while typed < region.len() && started.elapsed() < total {
            let c = region[typed..].chars().next().unwrap_or(' ');
            let at = start + typed;
            text.insert(at, c);
            typed += c.len_utf8();
            let answer = server.keystroke(&text, at, &c.to_string(), at + c.len_utf8());
            keystrokes += 1;
            let rest = &region[typed..];
            let line = answer.text.split('\n').next().unwrap_or_default();
            if !line.is_empty() && rest.starts_with(line) {
                let cursor = start + typed;
                text.insert_str(cursor, line);
                typed += line.len();
                server.keystroke(&text, cursor, line, cursor + line.len());
                accepted += 1;
            }
        }
        let uri = format!("file://{}", path.display());
        server.client.notify("textDocument/didClose", json!({ "textDocument": { "uri": uri } }));
        if started.elapsed() >= next_settings {
            next_settings += Duration::from_secs(120);
            settings += 1;
            let tokens = if settings % 2 == 0 { 32 } else { 48 };
            server.client.notify(
                "workspace/didChangeConfiguration",
                json!({ "settings": { "infill": { "maxTokens": tokens, "speculate": settings % 3 != 0 } } }),
            );
        }
        if started.elapsed() >= next_reload {
            next_reload += reload_every;
            reloads += 1;
            reloading.store(true, Ordering::Relaxed);
            let path = if reloads % 2 == 1 { &link } else { &model };
            server
                .client
                .notify("workspace/didChangeConfiguration", json!({ "settings": { "infill": { "model": path } } }));
            wait_status(&mut server.client, "loading");
            wait_status(&mut server.client, "ready");
            std::thread::sleep(Duration::from_secs(2));
            reloading.store(false, Ordering::Relaxed);
        }
        server.client.backlog.clear();
    }
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let samples = samples.lock().map(|s| s.clone()).unwrap_or_default();
    let _ = std::fs::remove_file(&link);
    report(&samples, minutes, keystrokes, accepted, visits, settings, reloads);
    // The highest RSS between two reloads: a leak would raise it cycle after cycle.
    let mut peaks: Vec<u64> = Vec::new();
    for s in &samples {
        let cycle = ((s.at + reload_every / 2).as_secs_f64() / reload_every.as_secs_f64()) as usize;
        if peaks.len() <= cycle {
            peaks.resize(cycle + 1, 0);
        }
        peaks[cycle] = peaks[cycle].max(s.rss_kib);
    }
    let peaks: Vec<String> = peaks.iter().map(|kib| format!("{:.0}", *kib as f64 / 1024.0)).collect();
    println!("soak: peak RSS of each reload cycle (MiB): {}", peaks.join(", "));
}

fn report(
    samples: &[Sample],
    minutes: f64,
    keystrokes: usize,
    accepted: usize,
    visits: usize,
    settings: usize,
    reloads: usize,
) {
    println!(
        "soak: {minutes} min, {keystrokes} keystrokes ({accepted} suggestions accepted), {visits} documents opened and closed, \
         {settings} settings changes, {reloads} model reloads, {} samples",
        samples.len()
    );
    let from = Duration::from_secs_f64((minutes * 60.0 / 6.0).min(300.0));
    let steady: Vec<&Sample> = samples.iter().filter(|s| s.at >= from && !s.reloading).collect();
    let (Some(first), Some(last)) = (steady.first(), steady.last()) else {
        println!("soak: too short for figures");
        return;
    };
    // The mean of the first and last minute of the steady part, so one sample's noise
    // does not decide the figure.
    let window = |center: Duration| {
        let near: Vec<u64> =
            steady.iter().filter(|s| s.at.abs_diff(center) <= Duration::from_secs(30)).map(|s| s.rss_kib).collect();
        near.iter().sum::<u64>() as f64 / near.len().max(1) as f64
    };
    let (rss_start, rss_end) = (window(first.at), window(last.at));
    let growth = (rss_end - rss_start) / rss_start * 100.0;
    let spread = |f: fn(&Sample) -> u64| {
        let values: Vec<u64> = steady.iter().map(|s| f(s)).collect();
        (values.iter().copied().min().unwrap_or(0), values.iter().copied().max().unwrap_or(0))
    };
    let (fd_min, fd_max) = spread(|s| s.fds as u64);
    let (th_min, th_max) = spread(|s| s.threads);
    let peak = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    println!(
        "soak: RSS {:.1} MiB at minute {:.1} -> {:.1} MiB at minute {:.1}: growth {growth:+.2}% (peak {:.1} MiB)",
        rss_start / 1024.0,
        first.at.as_secs_f64() / 60.0,
        rss_end / 1024.0,
        last.at.as_secs_f64() / 60.0,
        peak as f64 / 1024.0
    );
    println!(
        "soak: open fds {fd_min}..{fd_max}, threads {th_min}..{th_max} after minute {:.1}",
        from.as_secs_f64() / 60.0
    );
}
