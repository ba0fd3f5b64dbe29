//! Tiny GGUF models with random weights, written in the real file format, so tests of
//! every architecture and quantization run in milliseconds.

use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

/// The shape of a tiny model. Widths are multiples of 256 so every K-quant fits.
#[derive(Clone, Debug)]
pub struct Tiny {
    pub arch: &'static str,
    pub dtype: GgmlDType,
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_ff: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub context_length: usize,
    pub tied_output: bool,
    /// Spread of an untied output matrix's weights (small: flat logits; 1: as tied).
    pub output_scale: f32,
    pub seed: u64,
    /// Metadata to replace or add after the defaults.
    pub metadata: Vec<(String, Value)>,
    /// A tensor to leave out.
    pub omit: Option<String>,
}

impl Tiny {
    pub fn new(arch: &'static str, dtype: GgmlDType) -> Tiny {
        Tiny {
            arch,
            dtype,
            n_layer: 2,
            n_embd: 256,
            n_ff: 512,
            n_head: 4,
            n_kv_head: 2,
            context_length: 512,
            tied_output: true,
            output_scale: 0.05,
            seed: 1,
            metadata: Vec::new(),
            omit: None,
        }
    }
}

/// The vocabulary of every tiny model: the 256 byte-level symbols of GPT-2's BPE,
/// a few merges, and special tokens.
pub fn vocab() -> (Vec<String>, Vec<String>) {
    let mut tokens: Vec<String> = byte_symbols().into_iter().map(String::from).collect();
    let merges = vec!["Ġ t", "h e", "i n", "Ġt he", "e r", "o n", "Ġ a", "r e", "a t", "e n"];
    for m in &merges {
        tokens.push(m.replace(' ', ""));
    }
    for special in ["<|endoftext|>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<file_sep>"] {
        tokens.push(special.to_owned());
    }
    (tokens, merges.into_iter().map(String::from).collect())
}

/// GPT-2's byte-to-symbol table, in byte order.
fn byte_symbols() -> Vec<char> {
    (0u32..256)
        .map(|b| match b {
            33..=126 | 161..=172 | 174..=255 => char::from_u32(b).unwrap_or('?'),
            _ => {
                let shifted = (0u32..b).filter(|c| !matches!(c, 33..=126 | 161..=172 | 174..=255)).count() as u32;
                char::from_u32(256 + shifted).unwrap_or('?')
            }
        })
        .collect()
}

fn random(rng: &mut fastrand::Rng, dims: &[usize], scale: f32) -> Tensor {
    let n: usize = dims.iter().product();
    // Sum of uniforms: roughly normal, deterministic.
    let data: Vec<f32> = (0..n).map(|_| (rng.f32() + rng.f32() + rng.f32() - 1.5) * scale).collect();
    Tensor::from_vec(data, dims, &Device::Cpu).expect("tensor")
}

/// Writes the tiny model to `dir` and returns its path.
pub fn write(spec: &Tiny, dir: &Path) -> PathBuf {
    let mut rng = fastrand::Rng::with_seed(spec.seed);
    let (tokens, merges) = vocab();
    let vocab_size = tokens.len();
    let layout = Layout::of(spec.arch);
    let head_dim = layout.head_dim.unwrap_or(spec.n_embd / spec.n_head);
    let (qw, kv) = (spec.n_head * head_dim, spec.n_kv_head * head_dim);
    let q = |t: Tensor, dtype: GgmlDType| QTensor::quantize(&t, dtype).expect("quantize");
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let add = |tensors: &mut Vec<(String, QTensor)>,
               name: String,
               dims: &[usize],
               dtype: GgmlDType,
               scale: f32,
               rng: &mut fastrand::Rng| {
        tensors.push((name, q(random(rng, dims, scale), dtype)));
    };
    let (e, f) = (spec.n_embd, spec.n_ff);
    // Norm weights near 1, matrices small, embeddings larger so logits spread.
    let norm = |rng: &mut fastrand::Rng, n: usize| {
        let t = (random(rng, &[n], 0.1) + 1.0).expect("add");
        QTensor::quantize(&t, GgmlDType::F32).expect("quantize")
    };
    add(&mut tensors, "token_embd.weight".into(), &[vocab_size, e], spec.dtype_for_embd(), 1.0, &mut rng);
    if !spec.tied_output {
        add(&mut tensors, "output.weight".into(), &[vocab_size, e], spec.dtype, spec.output_scale, &mut rng);
    }
    let output_norm = norm(&mut rng, e);
    tensors.push(("output_norm.weight".into(), output_norm));
    if layout.layer_norm {
        add(&mut tensors, "output_norm.bias".into(), &[e], GgmlDType::F32, 0.1, &mut rng);
    }
    for i in 0..spec.n_layer {
        let n = |t: &str| format!("blk.{i}.{t}");
        let attn_norm = norm(&mut rng, e);
        tensors.push((n("attn_norm.weight"), attn_norm));
        let ffn_norm = norm(&mut rng, e);
        tensors.push((n("ffn_norm.weight"), ffn_norm));
        if layout.fused {
            add(&mut tensors, n("attn_qkv.weight"), &[qw + 2 * kv, e], spec.dtype, 0.08, &mut rng);
        } else {
            add(&mut tensors, n("attn_q.weight"), &[qw, e], spec.dtype, 0.08, &mut rng);
            add(&mut tensors, n("attn_k.weight"), &[kv, e], spec.dtype, 0.08, &mut rng);
            add(&mut tensors, n("attn_v.weight"), &[kv, e], spec.dtype, 0.08, &mut rng);
        }
        add(&mut tensors, n("attn_output.weight"), &[e, qw], spec.dtype, 0.08, &mut rng);
        if layout.fused {
            add(&mut tensors, n("ffn_up.weight"), &[2 * f, e], spec.dtype, 0.08, &mut rng);
        } else if layout.gate {
            add(&mut tensors, n("ffn_gate.weight"), &[f, e], spec.dtype, 0.08, &mut rng);
            add(&mut tensors, n("ffn_up.weight"), &[f, e], spec.dtype, 0.08, &mut rng);
        } else {
            add(&mut tensors, n("ffn_up.weight"), &[f, e], spec.dtype, 0.08, &mut rng);
        }
        add(&mut tensors, n("ffn_down.weight"), &[e, f], spec.dtype, 0.08, &mut rng);
        if layout.qkv_bias {
            add(&mut tensors, n("attn_q.bias"), &[qw], GgmlDType::F32, 0.1, &mut rng);
            add(&mut tensors, n("attn_k.bias"), &[kv], GgmlDType::F32, 0.1, &mut rng);
            add(&mut tensors, n("attn_v.bias"), &[kv], GgmlDType::F32, 0.1, &mut rng);
        }
        if layout.layer_norm {
            for (name, width) in [("attn_norm.bias", e), ("ffn_norm.bias", e), ("attn_output.bias", e)] {
                add(&mut tensors, n(name), &[width], GgmlDType::F32, 0.1, &mut rng);
            }
            add(&mut tensors, n("ffn_up.bias"), &[f], GgmlDType::F32, 0.1, &mut rng);
            add(&mut tensors, n("ffn_down.bias"), &[e], GgmlDType::F32, 0.1, &mut rng);
        }
        if layout.qk_norm {
            let (qn, kn) = (norm(&mut rng, head_dim), norm(&mut rng, head_dim));
            tensors.push((n("attn_q_norm.weight"), qn));
            tensors.push((n("attn_k_norm.weight"), kn));
        }
        if layout.post_norms {
            let (an, fn_) = (norm(&mut rng, e), norm(&mut rng, e));
            tensors.push((n("post_attention_norm.weight"), an));
            tensors.push((n("post_ffw_norm.weight"), fn_));
        }
    }
    let a = spec.arch;
    let strings = |v: &[String]| Value::Array(v.iter().map(|s| Value::String(s.clone())).collect());
    let token_types: Vec<Value> =
        tokens.iter().map(|t| Value::I32(if t.starts_with('<') && t.len() > 1 { 3 } else { 1 })).collect();
    let mut metadata: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::String(a.into())),
        (format!("{a}.block_count"), Value::U32(spec.n_layer as u32)),
        (format!("{a}.context_length"), Value::U32(spec.context_length as u32)),
        (format!("{a}.embedding_length"), Value::U32(e as u32)),
        (format!("{a}.feed_forward_length"), Value::U32(f as u32)),
        (format!("{a}.attention.head_count"), Value::U32(spec.n_head as u32)),
        (format!("{a}.attention.head_count_kv"), Value::U32(spec.n_kv_head as u32)),
        (format!("{a}.rope.dimension_count"), Value::U32(head_dim as u32)),
        (format!("{a}.rope.freq_base"), Value::F32(layout.rope_base)),
        (
            format!(
                "{a}.attention.{}",
                if layout.layer_norm { "layer_norm_epsilon" } else { "layer_norm_rms_epsilon" }
            ),
            Value::F32(1e-5),
        ),
        ("tokenizer.ggml.model".into(), Value::String("gpt2".into())),
        ("tokenizer.ggml.pre".into(), Value::String("default".into())),
        ("tokenizer.ggml.tokens".into(), strings(&tokens)),
        ("tokenizer.ggml.merges".into(), strings(&merges)),
        ("tokenizer.ggml.token_type".into(), Value::Array(token_types)),
        ("tokenizer.ggml.eos_token_id".into(), Value::U32((vocab_size - 5) as u32)),
    ];
    if let Some(d) = layout.head_dim {
        metadata.push((format!("{a}.attention.key_length"), Value::U32(d as u32)));
        metadata.push((format!("{a}.attention.value_length"), Value::U32(d as u32)));
    }
    for (key, value) in layout.extra {
        metadata.push((format!("{a}.{key}"), value.clone()));
    }
    for (key, value) in &spec.metadata {
        metadata.retain(|(k, _)| k != key);
        metadata.push((key.clone(), value.clone()));
    }
    tensors.retain(|(name, _)| Some(name) != spec.omit.as_ref());
    // Unique per call: tests run in parallel and must never read a half-written file.
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("tiny-{a}-{:?}-{}-{n}.gguf", spec.dtype, spec.seed));
    let mut file = std::fs::File::create(&path).expect("create");
    let md: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    gguf_file::write(&mut file, &md, &ts).expect("write gguf");
    path
}

impl Tiny {
    /// Embedding tables of K-quant files are usually Q6_K or Q8_0; keep the spec's type
    /// unless a row of `n_embd` cannot be stored in it.
    fn dtype_for_embd(&self) -> GgmlDType {
        if self.n_embd.is_multiple_of(self.dtype.block_size()) {
            self.dtype
        } else {
            GgmlDType::Q8_0
        }
    }
}

/// What an architecture's files hold beyond llama's tensors (the names and shapes
/// llama.cpp's loader expects).
struct Layout {
    /// Heads of this width rather than `n_embd / n_head` (queries wider than the model).
    head_dim: Option<usize>,
    qkv_bias: bool,
    /// Layer norms with biases, biases on every projection, no gate (starcoder2).
    layer_norm: bool,
    gate: bool,
    /// `attn_qkv` and a gate-and-up `ffn_up` (phi3).
    fused: bool,
    qk_norm: bool,
    post_norms: bool,
    rope_base: f32,
    /// Metadata after `<arch>.`: windows small enough for a 64-token prompt to cross,
    /// soft-caps low enough to bite.
    extra: Vec<(&'static str, Value)>,
}

impl Layout {
    fn of(arch: &str) -> Layout {
        let plain = Layout {
            head_dim: None,
            qkv_bias: false,
            layer_norm: false,
            gate: true,
            fused: false,
            qk_norm: false,
            post_norms: false,
            rope_base: 10_000.0,
            extra: Vec::new(),
        };
        match arch {
            "qwen2" => Layout { qkv_bias: true, ..plain },
            "qwen3" => Layout { head_dim: Some(128), qk_norm: true, rope_base: 1_000_000.0, ..plain },
            "gemma" => Layout { head_dim: Some(128), ..plain },
            "gemma2" => Layout {
                head_dim: Some(128),
                post_norms: true,
                extra: vec![
                    ("attention.sliding_window", Value::U32(16)),
                    ("attn_logit_softcapping", Value::F32(2.0)),
                    ("final_logit_softcapping", Value::F32(5.0)),
                ],
                ..plain
            },
            "gemma3" => Layout {
                head_dim: Some(128),
                qk_norm: true,
                post_norms: true,
                rope_base: 1_000_000.0,
                extra: vec![
                    ("attention.sliding_window", Value::U32(16)),
                    ("attention.sliding_window_pattern", Value::U32(2)),
                ],
                ..plain
            },
            "starcoder2" => Layout { layer_norm: true, gate: false, qkv_bias: true, ..plain },
            "phi3" => Layout { fused: true, ..plain },
            _ => plain,
        }
    }
}

/// Whether llama.cpp reads an `output.weight` for `arch` (gemma and gemma2 always use
/// the embedding table, and refuse a file with an extra tensor).
pub fn allows_untied(arch: &str) -> bool {
    !matches!(arch, "gemma" | "gemma2")
}
