//! Attention of one new token (decode) over the KV cache, read in place.
//!
//! Through candle's matmul, a decode step pays two small gemm calls per key/value head
//! per layer, each with its own thread hand-off; at a depth of 1,000 tokens that
//! costs more than the arithmetic. Here the scores and the weighted sum over the
//! cached keys and values are computed directly from the cache's memory, heads in
//! parallel, with no copy.

use std::ops::Range;

use candle_core::{Device, Result, Storage, Tensor};
use rayon::prelude::*;

/// Below this many cached positions the heads run one after the other: the work is
/// smaller than a thread hand-off.
const PARALLEL_FROM: usize = 256;
/// Slices per kv head when the heads run in parallel.
const SPLIT: usize = 2;
/// Most query heads sharing one key/value head (grouped-query attention).
const MAX_GROUP: usize = 64;

/// `softmax(q·Kᵀ / √d)·V` for one query position. `q` is `[1, n_head, 1, head_dim]`,
/// the caches `[1, n_kv_head, capacity, head_dim]` with `len` positions filled; head
/// `h` reads kv head `h / (n_head / n_kv_head)`. Returns `[1, 1, n_head * head_dim]`.
pub(crate) fn decode(q: &Tensor, k_cache: &Tensor, v_cache: &Tensor, len: usize) -> Result<Tensor> {
    let (_, n_head, _, head_dim) = q.dims4()?;
    let (_, n_kv, capacity, _) = k_cache.dims4()?;
    let q = q.flatten_all()?.to_vec1::<f32>()?;
    let (k_store, k_layout) = k_cache.storage_and_layout();
    let (v_store, v_layout) = v_cache.storage_and_layout();
    let (Storage::Cpu(k_cpu), Storage::Cpu(v_cpu)) = (&*k_store, &*v_store) else {
        candle_core::bail!("in-place attention runs on the CPU only");
    };
    if !k_layout.is_contiguous() || !v_layout.is_contiguous() {
        candle_core::bail!("the KV cache must be contiguous");
    }
    let keys = &k_cpu.as_slice::<f32>()?[k_layout.start_offset()..];
    let values = &v_cpu.as_slice::<f32>()?[v_layout.start_offset()..];
    let groups = n_head / n_kv;
    if groups > MAX_GROUP {
        candle_core::bail!("{groups} query heads per key/value head: at most {MAX_GROUP} supported");
    }
    let shape = Shape { groups, head_dim, capacity, scale: 1.0 / (head_dim as f32).sqrt() };
    // Work units: each kv head's positions in `parts` slices, so that two threads get
    // equal shares even when the kv heads are fewer than twice the threads. Each unit
    // returns a partial softmax (its max, its sum, its unnormalized output); the
    // partials of a head are merged exactly.
    let parts = if len >= PARALLEL_FROM { SPLIT } else { 1 };
    let unit = |u: usize| {
        let (h, p) = (u / parts, u % parts);
        let span = (p * len / parts)..((p + 1) * len / parts);
        kv_head_dispatch(&shape, &q, keys, values, h, span)
    };
    let partials: Vec<Partial> =
        if parts > 1 { (0..n_kv * parts).into_par_iter().map(unit).collect() } else { (0..n_kv).map(unit).collect() };
    let mut out = vec![0f32; n_head * head_dim];
    for (h, head_parts) in partials.chunks(parts).enumerate() {
        for g in 0..groups {
            let max = head_parts.iter().map(|p| p.max[g]).fold(f32::NEG_INFINITY, f32::max);
            let weights: Vec<f32> = head_parts.iter().map(|p| (p.max[g] - max).exp()).collect();
            let sum: f32 = head_parts.iter().zip(&weights).map(|(p, w)| p.sum[g] * w).sum();
            let dst = &mut out[(h * groups + g) * head_dim..(h * groups + g + 1) * head_dim];
            for (p, w) in head_parts.iter().zip(&weights) {
                axpy(w / sum, &p.out[g * head_dim..(g + 1) * head_dim], dst);
            }
        }
    }
    drop((k_store, v_store));
    Tensor::from_vec(out, (1, 1, n_head * head_dim), &Device::Cpu)
}

/// Sizes one kv head's work needs.
struct Shape {
    groups: usize,
    head_dim: usize,
    capacity: usize,
    scale: f32,
}

/// Softmax attention over a slice of positions, not yet normalized: per query head
/// its largest score, the sum of `exp(score - max)` and the output weighted likewise.
struct Partial {
    max: [f32; MAX_GROUP],
    sum: [f32; MAX_GROUP],
    out: Vec<f32>,
}

/// Runs [`kv_head`] compiled for AVX2 and FMA when the CPU has them (the same code:
/// the compiler vectorizes it 8 wide), else for the baseline target.
fn kv_head_dispatch(shape: &Shape, q: &[f32], keys: &[f32], values: &[f32], h: usize, span: Range<usize>) -> Partial {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function is compiled for.
        return unsafe { kv_head_avx2(shape, q, keys, values, h, span) };
    }
    kv_head(shape, q, keys, values, h, span)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kv_head_avx2(shape: &Shape, q: &[f32], keys: &[f32], values: &[f32], h: usize, span: Range<usize>) -> Partial {
    kv_head(shape, q, keys, values, h, span)
}

/// One kv head with all the query heads that share it, over positions `span`: each
/// cached key and value is read from memory once per step, not once per query head.
#[inline(always)]
fn kv_head(shape: &Shape, q: &[f32], keys: &[f32], values: &[f32], h: usize, span: Range<usize>) -> Partial {
    let Shape { groups, head_dim, capacity, scale } = *shape;
    let len = span.len();
    let base = h * capacity * head_dim + span.start * head_dim;
    let queries = &q[h * groups * head_dim..(h + 1) * groups * head_dim];
    let mut scores = vec![0f32; groups * len];
    for j in 0..len {
        let key = &keys[base + j * head_dim..base + (j + 1) * head_dim];
        for g in 0..groups {
            scores[g * len + j] = dot(&queries[g * head_dim..(g + 1) * head_dim], key) * scale;
        }
    }
    let mut partial = Partial { max: [f32::NEG_INFINITY; MAX_GROUP], sum: [0.0; MAX_GROUP], out: vec![0f32; groups * head_dim] };
    for g in 0..groups {
        let row = &mut scores[g * len..(g + 1) * len];
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for s in row.iter_mut() {
            *s = exp(*s - max);
        }
        partial.max[g] = max;
        partial.sum[g] = row.iter().sum::<f32>();
    }
    for j in 0..len {
        let value = &values[base + j * head_dim..base + (j + 1) * head_dim];
        for g in 0..groups {
            axpy(scores[g * len + j], value, &mut partial.out[g * head_dim..(g + 1) * head_dim]);
        }
    }
    partial
}

/// `e^x` for the x <= 0 softmax needs, without a libm call so loops over it vectorize:
/// x = n ln 2 + r with |r| <= ln 2 / 2, e^r by its Taylor polynomial to degree 7
/// (relative error under 5e-7), 2^n put straight into the exponent bits.
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.max(-87.0);
    let n = (x * std::f32::consts::LOG2_E).round();
    // ln 2 in two parts (Cody and Waite) so that n * ln 2 loses no bits.
    let r = (x - n * 0.693_359_4) + n * 2.121_944_4e-4;
    let p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r / 5040.0))))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// Dot product with eight independent sums, which the compiler turns into SIMD.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac.remainder().iter().zip(bc.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ac.zip(bc) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `out += w * x`.
#[inline(always)]
fn axpy(w: f32, x: &[f32], out: &mut [f32]) {
    for (o, v) in out.iter_mut().zip(x) {
        *o += w * v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same attention in f64, straight from the definition.
    #[allow(clippy::too_many_arguments, reason = "a test oracle that mirrors the shapes one by one")]
    fn reference(q: &[f32], k: &[f32], v: &[f32], n_head: usize, n_kv: usize, cap: usize, d: usize, len: usize) -> Vec<f64> {
        let groups = n_head / n_kv;
        let mut out = vec![0f64; n_head * d];
        for h in 0..n_head {
            let base = (h / groups) * cap * d;
            let scores: Vec<f64> = (0..len)
                .map(|j| (0..d).map(|i| f64::from(q[h * d + i]) * f64::from(k[base + j * d + i])).sum::<f64>() / (d as f64).sqrt())
                .collect();
            let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let sum: f64 = e.iter().sum();
            for j in 0..len {
                for i in 0..d {
                    out[h * d + i] += e[j] / sum * f64::from(v[base + j * d + i]);
                }
            }
        }
        out
    }

    #[test]
    fn the_fast_exp_is_accurate_where_softmax_uses_it() {
        for i in 0..=20_000 {
            let x = -(i as f32) * 0.005; // 0 down to -100 (below -87 the result is ~0, clamped)
            let (got, want) = (exp(x), x.exp());
            assert!((got - want).abs() <= 5e-7 * want + 1e-37, "exp({x}) = {got}, want {want}");
        }
    }

    #[test]
    fn matches_the_definition_for_many_shapes() {
        let mut rng = fastrand::Rng::with_seed(4);
        for &(n_head, n_kv, d, len) in &[(9, 3, 64, 1), (9, 3, 64, 37), (4, 4, 32, 300), (8, 2, 24, 5), (2, 1, 8, 1000)] {
            let cap = len + 3;
            let q: Vec<f32> = (0..n_head * d).map(|_| rng.f32() * 2.0 - 1.0).collect();
            let k: Vec<f32> = (0..n_kv * cap * d).map(|_| rng.f32() * 2.0 - 1.0).collect();
            let v: Vec<f32> = (0..n_kv * cap * d).map(|_| rng.f32() * 2.0 - 1.0).collect();
            let qt = Tensor::from_vec(q.clone(), (1, n_head, 1, d), &Device::Cpu).unwrap();
            let kt = Tensor::from_vec(k.clone(), (1, n_kv, cap, d), &Device::Cpu).unwrap();
            let vt = Tensor::from_vec(v.clone(), (1, n_kv, cap, d), &Device::Cpu).unwrap();
            let got = decode(&qt, &kt, &vt, len).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let want = reference(&q, &k, &v, n_head, n_kv, cap, d, len);
            let diff = got.iter().zip(&want).map(|(g, w)| (f64::from(*g) - w).abs()).fold(0.0, f64::max);
            assert!(diff < 1e-5, "{n_head}/{n_kv} heads, d {d}, len {len}: {diff}");
        }
    }
}
