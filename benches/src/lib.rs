//! Shared helpers for Infill's benchmarks: timing summaries printed as plain text, so
//! every figure can be read beside the baseline measured in the same run.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

pub mod replay;

/// Summary of many timed samples.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// Median.
    pub p50: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Arithmetic mean.
    pub mean: Duration,
}

impl Summary {
    /// Summarizes samples (which it sorts). Panics on an empty slice: a bench bug.
    pub fn of(samples: &mut [Duration]) -> Summary {
        assert!(!samples.is_empty(), "no samples");
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        let total: Duration = samples.iter().sum();
        Summary { p50: at(0.50), p95: at(0.95), p99: at(0.99), mean: total / samples.len() as u32 }
    }
}

/// Times `f` once per sample.
pub fn sample(n: usize, mut f: impl FnMut(usize)) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let start = Instant::now();
            f(i);
            start.elapsed()
        })
        .collect()
}

/// A duration in the unit that reads best.
pub fn human(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns < 10_000 {
        format!("{ns} ns")
    } else if ns < 10_000_000 {
        format!("{:.1} µs", ns as f64 / 1e3)
    } else {
        format!("{:.1} ms", ns as f64 / 1e6)
    }
}

/// Real code of `language` (`javascript`, `typescript`, `tsx`, `go`, `java`, `c`,
/// `cpp`) no one here wrote, fetched from the package registries by
/// `benches/scripts/fetch-sources.sh` and cached outside git: its files, sorted.
pub fn real_sources(language: &str) -> Vec<PathBuf> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/fetch-sources.sh");
    let out = Command::new("bash").args([script, language]).output().expect("bash");
    assert!(out.status.success(), "fetch-sources.sh {language}: {}", String::from_utf8_lossy(&out.stderr));
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    files.sort();
    files
}

/// A file of Python's standard library (real code no one here wrote).
pub fn python_stdlib(file: &str) -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import sysconfig; print(sysconfig.get_paths()['stdlib'])"])
        .output()
        .expect("python3");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join(file)
}

/// The `src` folder of regex-syntax 0.8 in the cargo registry (a dependency of this
/// workspace, so always there): real Rust no one here wrote.
pub fn regex_syntax_src() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cargo"));
    let mut crates: Vec<PathBuf> = std::fs::read_dir(home.join("registry/src"))
        .expect("the cargo registry")
        .flatten()
        .flat_map(|index| std::fs::read_dir(index.path()).into_iter().flatten().flatten())
        .map(|krate| krate.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("regex-syntax-0.8")))
        .filter(|p| p.join("src").is_dir())
        .collect();
    crates.sort();
    crates.pop().expect("regex-syntax 0.8 in the cargo registry").join("src")
}

/// Peak resident set size of this process so far, in bytes (Linux `VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    proc_status_kib("VmHWM:").map(|kib| kib * 1024)
}

/// Resident set size now, in bytes (Linux `VmRSS`).
pub fn rss_bytes() -> Option<u64> {
    proc_status_kib("VmRSS:").map(|kib| kib * 1024)
}

fn proc_status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

pub use infill_tests::{fim_test_model, gemma3_model, synthetic_model, test_model};

/// The model a benchmark runs: `INFILL_BENCH_MODEL` as a path, as `SHAPE/QUANT` for a
/// synthetic file with a real model's shapes (`qwen2.5-coder-0.5b/q8_0`, see
/// [`synthetic_model`]), `fim-test-model` ([`fim_test_model`]) or `gemma3` (the real
/// Gemma 3 270M, [`gemma3_model`]); the real test model when unset.
pub fn bench_model() -> std::path::PathBuf {
    match std::env::var("INFILL_BENCH_MODEL") {
        Ok(spec) if spec == "fim-test-model" => fim_test_model(),
        Ok(spec) if spec == "gemma3" => gemma3_model(),
        Ok(spec) => match spec.split_once('/') {
            Some((shape, quant)) if !std::path::Path::new(&spec).exists() => synthetic_model(shape, quant),
            _ => spec.into(),
        },
        Err(_) => test_model(),
    }
}

/// Memory read bandwidth in bytes per second on the current rayon pool: the best of
/// three passes summing a 512 MiB buffer (far larger than any cache), split over the
/// pool's threads.
pub fn read_bandwidth() -> f64 {
    use rayon::prelude::*;
    let words: usize = 512 << 17; // 512 MiB of u64
    let buffer: Vec<u64> = (0..words as u64).collect();
    let chunk = words.div_ceil(rayon::current_num_threads().max(1));
    (0..3)
        .map(|_| {
            let start = std::time::Instant::now();
            let sum: u64 = buffer.par_chunks(chunk).map(|c| c.iter().fold(0u64, |a, &x| a.wrapping_add(x))).sum();
            std::hint::black_box(sum);
            (words * 8) as f64 / start.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}
