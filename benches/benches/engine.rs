//! The model engine against stock candle-transformers (`quantized_llama`) and
//! llama.cpp's `llama-bench`, on the same file and thread count, in one run:
//! prefill speed at 64/256/512/1024 tokens, decode speed at depth 0 and 1000, the warm
//! case (1 and 3 tokens appended after a 1000-token prompt), peak memory, and decode
//! time per token beside the time to read the weights once at the measured bandwidth.
//!
//! Run: `cargo bench -p infill-benches --bench engine` (set `INFILL_BENCH_NO_LLAMA=1`
//! to skip building and running llama.cpp; `INFILL_BENCH_THREADS` to change threads;
//! `INFILL_BENCH_MODEL=qwen2.5-coder-0.5b/q8_0` (or a path) for another model: stock
//! candle's `quantized_llama` runs only on llama files).
#![allow(clippy::print_stdout, reason = "a benchmark prints its report; it is no LSP server")]

use std::fs::File;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::ModelWeights;
use infill_benches::{bench_model, peak_rss_bytes, read_bandwidth, rss_bytes};
use infill_model::{EngineOptions, Model};
use serde_json::Value;

const PREFILL: [usize; 5] = [64, 256, 512, 1024, 2048];
const DECODE_DEPTHS: [usize; 2] = [0, 1000];
const DECODE_TOKENS: usize = 32;
const REPEATS: usize = 2;

fn tokens(n: usize, seed: u64) -> Vec<u32> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n).map(|_| rng.u32(200..40_000)).collect()
}

/// Best of `REPEATS` (the machine is shared: the fastest run is the least disturbed).
fn best(mut f: impl FnMut() -> f64) -> f64 {
    (0..REPEATS).map(|_| f()).fold(f64::INFINITY, f64::min)
}

struct Figures {
    prefill_tps: Vec<f64>,
    decode_tps: Vec<f64>,
    cold_1000_ms: f64,
    warm_ms: [f64; 2],
}

fn ours(model: &mut Model, chunk: usize) -> Figures {
    let m = model;
    let run_prefill = |toks: &[u32], m: &mut Model| -> f64 {
        m.cache.truncate(0);
        let start = Instant::now();
        for c in toks.chunks(chunk) {
            m.transformer.forward(c, &mut m.cache).expect("forward");
        }
        start.elapsed().as_secs_f64()
    };
    let prefill_tps = PREFILL.iter().map(|&n| n as f64 / best(|| run_prefill(&tokens(n, n as u64), m))).collect();
    let decode_tps = DECODE_DEPTHS
        .iter()
        .map(|&depth| {
            let prompt = tokens(depth.max(1), 9);
            n_per_s(best(|| {
                run_prefill(&prompt, m);
                let start = Instant::now();
                for t in tokens(DECODE_TOKENS, 10) {
                    m.transformer.forward(&[t], &mut m.cache).expect("decode");
                }
                start.elapsed().as_secs_f64()
            }))
        })
        .collect();
    let prompt = tokens(1000, 11);
    let cold_1000_ms = best(|| run_prefill(&prompt, m)) * 1e3;
    let mut warm_ms = [0.0; 2];
    for (i, extra) in [1usize, 3].into_iter().enumerate() {
        warm_ms[i] = best(|| {
            run_prefill(&prompt, m);
            let more = tokens(extra, 12);
            let start = Instant::now();
            // As the engine does: keep the shared prefix, evaluate only the new tokens.
            let reuse = m.cache.common_prefix(&prompt);
            m.cache.truncate(reuse);
            m.transformer.forward(&more, &mut m.cache).expect("warm");
            start.elapsed().as_secs_f64()
        }) * 1e3;
    }
    Figures { prefill_tps, decode_tps, cold_1000_ms, warm_ms }
}

fn n_per_s(seconds: f64) -> f64 {
    DECODE_TOKENS as f64 / seconds
}

fn stock(path: &Path) -> Figures {
    let load = || {
        let mut file = File::open(path).expect("open");
        let content = candle_core::quantized::gguf_file::Content::read(&mut file).expect("gguf");
        ModelWeights::from_gguf(content, &mut file, &Device::Cpu).expect("stock model")
    };
    let mut model = load();
    let input = |t: &[u32]| Tensor::new(t, &Device::Cpu).expect("ids").unsqueeze(0).expect("batch");
    let prefill = |toks: &[u32], model: &mut ModelWeights| -> f64 {
        let start = Instant::now();
        model.forward(&input(toks), 0).expect("forward"); // index 0 resets its cache
        start.elapsed().as_secs_f64()
    };
    let prefill_tps = PREFILL.iter().map(|&n| n as f64 / best(|| prefill(&tokens(n, n as u64), &mut model))).collect();
    let decode_tps = DECODE_DEPTHS
        .iter()
        .map(|&depth| {
            let prompt = tokens(depth.max(1), 9);
            n_per_s(best(|| {
                prefill(&prompt, &mut model);
                let start = Instant::now();
                for (i, t) in tokens(DECODE_TOKENS, 10).into_iter().enumerate() {
                    model.forward(&input(&[t]), prompt.len() + i).expect("decode");
                }
                start.elapsed().as_secs_f64()
            }))
        })
        .collect();
    let prompt = tokens(1000, 11);
    let cold_1000_ms = best(|| prefill(&prompt, &mut model)) * 1e3;
    let mut warm_ms = [0.0; 2];
    for (i, extra) in [1usize, 3].into_iter().enumerate() {
        warm_ms[i] = best(|| {
            prefill(&prompt, &mut model);
            let start = Instant::now();
            model.forward(&input(&tokens(extra, 12)), prompt.len()).expect("append");
            start.elapsed().as_secs_f64()
        }) * 1e3;
    }
    Figures { prefill_tps, decode_tps, cold_1000_ms, warm_ms }
}

/// llama-bench's figures: prefill tok/s per size, decode tok/s per depth.
fn llama_cpp(path: &Path, threads: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    if std::env::var_os("INFILL_BENCH_NO_LLAMA").is_some() {
        return None;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/build-llama-cpp.sh");
    let built = Command::new("bash").arg(script).output().ok()?;
    if !built.status.success() {
        println!("llama.cpp: build failed:\n{}", String::from_utf8_lossy(&built.stderr));
        return None;
    }
    let bin = Path::new(String::from_utf8_lossy(&built.stdout).trim()).join("llama-bench");
    let sizes = PREFILL.map(|n| n.to_string()).join(",");
    let depths = DECODE_DEPTHS.map(|n| n.to_string()).join(",");
    let run = |args: &[&str]| -> Option<Vec<Value>> {
        let out = Command::new(&bin)
            .args(["-m", path.to_str()?, "-t", &threads.to_string(), "-r", &REPEATS.to_string(), "-o", "json"])
            .args(args)
            .output()
            .ok()?;
        if !out.status.success() {
            println!("llama-bench failed: {}", String::from_utf8_lossy(&out.stderr));
            return None;
        }
        serde_json::from_slice::<Vec<Value>>(&out.stdout).ok()
    };
    let prefill = run(&["-p", &sizes, "-n", "0"])?;
    let decode = run(&["-p", "0", "-n", &DECODE_TOKENS.to_string(), "-d", &depths])?;
    let pick = |rows: &[Value], key: &str, value: usize| {
        rows.iter()
            .find(|r| r[key].as_u64() == Some(value as u64))
            .and_then(|r| r["avg_ts"].as_f64())
            .unwrap_or(f64::NAN)
    };
    Some((
        PREFILL.iter().map(|&n| pick(&prefill, "n_prompt", n)).collect(),
        DECODE_DEPTHS.iter().map(|&d| pick(&decode, "n_depth", d)).collect(),
    ))
}

fn main() {
    let threads: usize = std::env::var("INFILL_BENCH_THREADS").ok().and_then(|s| s.parse().ok()).unwrap_or(2);
    // candle's matrix code sizes its work by this; both engines see the same.
    std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    let path = bench_model();
    let file_mb = std::fs::metadata(&path).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0);
    println!("model: {} ({file_mb:.1} MB), {threads} threads", path.display());
    let rss_before = rss_bytes().unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
    let mut model = Model::load(
        &path,
        &EngineOptions { threads, max_context: 4096, prefill_chunk: 64, ..EngineOptions::default() },
    )
    .expect("load");
    let peak_after_load = peak_rss_bytes().unwrap_or(0);
    println!(
        "memory: peak RSS after loading {:.0} MB (process before: {:.0} MB); target < file + 150 MB = {:.0} MB",
        peak_after_load as f64 / 1e6,
        rss_before as f64 / 1e6,
        file_mb + 150.0
    );
    let ours = pool.install(|| ours(&mut model, 64));
    let weight_bytes = model.transformer.projection_bytes() as f64;
    let llama = model.transformer.hparams().architecture == infill_model::Architecture::Llama;
    drop(model);
    let bandwidth = pool.install(read_bandwidth);
    // Stock candle's quantized_llama reads llama files only; NaN marks the others.
    let stock = if llama {
        pool.install(|| stock(&path))
    } else {
        let none = vec![f64::NAN; PREFILL.len().max(DECODE_DEPTHS.len())];
        Figures { prefill_tps: none.clone(), decode_tps: none, cold_1000_ms: f64::NAN, warm_ms: [f64::NAN; 2] }
    };
    let peer = llama_cpp(&path, threads);
    println!();
    println!("{:<28} {:>10} {:>12} {:>10} {:>12} {:>10}", "", "infill", "stock candle", "ratio", "llama.cpp", "ratio");
    let row = |name: String, a: f64, b: f64, c: Option<f64>| {
        let (c_text, c_ratio) = match c {
            Some(c) => (format!("{c:.1}"), format!("{:.2}x", a / c)),
            None => ("-".into(), "-".into()),
        };
        let (b_text, b_ratio) =
            if b.is_nan() { ("-".into(), "-".into()) } else { (format!("{b:.1}"), format!("{:.2}x", a / b)) };
        println!("{name:<28} {a:>10.1} {b_text:>12} {b_ratio:>10} {c_text:>12} {c_ratio:>10}");
    };
    for (i, n) in PREFILL.iter().enumerate() {
        row(format!("prefill {n} tok/s"), ours.prefill_tps[i], stock.prefill_tps[i], peer.as_ref().map(|p| p.0[i]));
    }
    for (i, d) in DECODE_DEPTHS.iter().enumerate() {
        row(
            format!("decode at depth {d} tok/s"),
            ours.decode_tps[i],
            stock.decode_tps[i],
            peer.as_ref().map(|p| p.1[i]),
        );
    }
    println!("{:<28} {:>10.1} {:>12.1}", "cold 1000-token prompt ms", ours.cold_1000_ms, stock.cold_1000_ms);
    for (i, extra) in [1, 3].iter().enumerate() {
        println!(
            "{:<28} {:>10.1} {:>12.1}   ({:.1}% of our cold 1000-token prompt; target < 3%)",
            format!("{extra} token(s) after 1000, ms"),
            ours.warm_ms[i],
            stock.warm_ms[i],
            100.0 * ours.warm_ms[i] / ours.cold_1000_ms
        );
    }
    // The figure of merit: a decode step must read every projection weight once.
    let floor_ms = weight_bytes / bandwidth * 1e3;
    let per_token = |tps: f64| 1e3 / tps;
    println!(
        "decode floor: {:.1} MB of weights per token at {:.1} GB/s measured read bandwidth = {floor_ms:.2} ms/token",
        weight_bytes / 1e6,
        bandwidth / 1e9
    );
    for (i, d) in DECODE_DEPTHS.iter().enumerate() {
        let peer_text = peer.as_ref().map_or(String::new(), |p| format!(", llama.cpp {:.2} ms", per_token(p.1[i])));
        println!(
            "decode at depth {d}: infill {:.2} ms/token ({:.2}x the floor){peer_text}",
            per_token(ours.decode_tps[i]),
            per_token(ours.decode_tps[i]) / floor_ms
        );
    }
    if peer.is_none() {
        println!("llama.cpp: not run (INFILL_BENCH_NO_LLAMA set, or its build failed)");
    }
}
