//! Each architecture's hyperparameters as its files state them (and the defaults its
//! traits give where a key is optional), and the tensors and keys it cannot do without,
//! named when they are missing.

mod common;

use std::path::PathBuf;

use candle_core::quantized::gguf_file::Value;
use candle_core::quantized::GgmlDType;
use common::tiny::{self, Tiny};
use infill_model::{EngineOptions, GgufFile, HParams, Model};

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("infill-architectures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// The hyperparameters of a tiny `arch` model, changed by `change`, in one line.
fn summary(arch: &'static str, change: impl FnOnce(&mut Tiny)) -> String {
    let mut spec = Tiny::new(arch, GgmlDType::Q8_0);
    change(&mut spec);
    let path = tiny::write(&spec, &dir());
    let gguf = GgufFile::open(&path).expect("open");
    match HParams::read(&gguf) {
        Err(e) => format!("error: {}", e.to_string().replace(&path.display().to_string(), "FILE")),
        Ok(hp) => {
            let window = hp.window.as_ref().map_or("none".to_owned(), |w| {
                let layers: String = w.layers.iter().map(|&on| if on { 'w' } else { '-' }).collect();
                format!("{} [{layers}] base {}", w.size, w.rope_base)
            });
            format!(
                "head {} q {} kv {}; eps {:e}; rope {} x{}; scale {:.4}; caps {:?}/{:?}; window {window}",
                hp.head_dim,
                hp.q_width(),
                hp.kv_width(),
                hp.norm_eps as f32,
                hp.rope_base,
                hp.rope_scale,
                hp.attn_scale,
                hp.attn_softcap,
                hp.final_softcap
            )
        }
    }
}

fn check(arch: &'static str, change: impl FnOnce(&mut Tiny), expect: &str) {
    assert_eq!(summary(arch, change), expect, "{arch}");
}

fn with(key: &str, value: Value) -> impl FnOnce(&mut Tiny) {
    let key = key.to_owned();
    move |t: &mut Tiny| t.metadata.push((key, value))
}

#[test]
fn hyperparameters_of_each_architecture() {
    let none = |_: &mut Tiny| {};
    check("llama", none, "head 64 q 256 kv 128; eps 1e-5; rope 10000 x1; scale 0.1250; caps None/None; window none");
    check("qwen3", none, "head 128 q 512 kv 256; eps 1e-5; rope 1000000 x1; scale 0.0884; caps None/None; window none");
    check("gemma", none, "head 128 q 512 kv 256; eps 1e-5; rope 10000 x1; scale 0.0884; caps None/None; window none");
    check(
        "gemma2",
        none,
        "head 128 q 512 kv 256; eps 1e-5; rope 10000 x1; scale 0.0884; caps Some(2.0)/Some(5.0); window 16 [w-] base 10000",
    );
    check(
        "gemma3",
        none,
        "head 128 q 512 kv 256; eps 1e-5; rope 1000000 x1; scale 0.0884; caps None/None; window 16 [w-] base 10000",
    );
    check(
        "starcoder2",
        none,
        "head 64 q 256 kv 128; eps 1e-5; rope 10000 x1; scale 0.1250; caps None/None; window none",
    );
    check("phi3", none, "head 64 q 256 kv 128; eps 1e-5; rope 10000 x1; scale 0.1250; caps None/None; window none");
}

#[test]
fn optional_keys_take_the_architectures_defaults() {
    // Gemma 2 without its caps and window in the file: 50, 30 and 4,096, even layers windowed.
    let bare = |t: &mut Tiny| {
        t.n_layer = 4;
        t.metadata.push(("gemma2.attn_logit_softcapping".into(), Value::F32(50.0)));
        t.metadata.push(("gemma2.final_logit_softcapping".into(), Value::F32(30.0)));
        t.metadata.push(("gemma2.attention.sliding_window".into(), Value::U32(4096)));
    };
    check(
        "gemma2",
        bare,
        "head 128 q 512 kv 256; eps 1e-5; rope 10000 x1; scale 0.0884; caps Some(50.0)/Some(30.0); window 4096 [w-w-] base 10000",
    );
    // Gemma 3's pattern of six: five windowed layers, then one that sees everything.
    check(
        "gemma3",
        |t| {
            t.n_layer = 7;
            t.metadata.push(("gemma3.attention.sliding_window_pattern".into(), Value::U32(6)));
        },
        "head 128 q 512 kv 256; eps 1e-5; rope 1000000 x1; scale 0.0884; caps None/None; window 16 [wwwww-w] base 10000",
    );
    // A window of 0 turns windows off; a zero cap turns the cap off.
    check(
        "gemma2",
        |t| {
            t.metadata.push(("gemma2.attention.sliding_window".into(), Value::U32(0)));
            t.metadata.push(("gemma2.final_logit_softcapping".into(), Value::F32(0.0)));
        },
        "head 128 q 512 kv 256; eps 1e-5; rope 10000 x1; scale 0.0884; caps Some(2.0)/None; window none",
    );
    check(
        "llama",
        |t| {
            t.metadata.push(("llama.rope.scaling.type".into(), Value::String("linear".into())));
            t.metadata.push(("llama.rope.scaling.factor".into(), Value::F32(4.0)));
        },
        "head 64 q 256 kv 128; eps 1e-5; rope 10000 x0.25; scale 0.1250; caps None/None; window none",
    );
}

#[test]
fn missing_keys_and_unsupported_shapes_are_named() {
    check(
        "starcoder2",
        |t| t.metadata.push(("starcoder2.attention.layer_norm_rms_epsilon".into(), Value::F32(1e-5))),
        "head 64 q 256 kv 128; eps 1e-5; rope 10000 x1; scale 0.1250; caps None/None; window none",
    );
    let drop_key =
        |key: &'static str| move |t: &mut Tiny| t.metadata.push((key.into(), Value::String("removed".into())));
    check(
        "qwen3",
        drop_key("qwen3.block_count"),
        "error: FILE: metadata key `qwen3.block_count` must be a non-negative integer",
    );
    check(
        "gemma3",
        with("gemma3.attention.value_length", Value::U32(64)),
        "error: FILE: metadata key `gemma3.attention.value_length` is 64; values as wide as keys (128) are supported",
    );
    check(
        "phi3",
        with("phi3.rope.dimension_count", Value::U32(48)),
        "error: FILE: metadata key `phi3.rope.dimension_count` is 48; partial rotary embeddings (head width 64) are not supported",
    );
}

#[test]
fn every_architecture_loads_runs_and_names_a_missing_tensor() {
    let options = EngineOptions { threads: 1, ..EngineOptions::default() };
    for (arch, tensor) in [
        ("qwen3", "blk.0.attn_q_norm.weight"),
        ("gemma2", "blk.1.post_ffw_norm.weight"),
        ("gemma3", "blk.0.attn_k_norm.weight"),
        ("starcoder2", "blk.0.attn_norm.bias"),
        ("phi3", "blk.1.ffn_down.weight"),
        ("gemma", "blk.0.ffn_gate.weight"),
    ] {
        let path = tiny::write(&Tiny::new(arch, GgmlDType::Q4K), &dir());
        if let Err(e) = Model::load(&path, &options) {
            panic!("{arch} does not load: {e}");
        }
        let broken = tiny::write(&Tiny { omit: Some(tensor.into()), ..Tiny::new(arch, GgmlDType::Q4K) }, &dir());
        match Model::load(&broken, &options) {
            Ok(_) => panic!("{arch} without {tensor} loaded"),
            Err(e) => assert!(e.to_string().contains(tensor), "{arch}: {e}"),
        }
    }
}
