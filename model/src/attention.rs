//! Attention on the CPU, read in place from the f16 KV cache: rotary embeddings, the
//! cache's layout, and softmax attention for any number of new positions (a prefill
//! chunk or one decode step) with one code path.
//!
//! Keys are stored by tiles of [`TILE`] positions, transposed (`[kv head][tile][dim]
//! [position in tile]`), so a tile's scores for a query are a plain loop over
//! positions that the compiler vectorizes; values as `[kv head][position][dim]`.
//! Each tile yields a partial softmax (its own max, sum and weighted values) and
//! the partials of a query are merged in tile order. A query's arithmetic is therefore
//! the same whether it is computed in a prefill chunk or alone, and whichever thread
//! computed which tile: keys and values do not depend on how the prompt was split,
//! so a prompt reused from the cache gives the same answer as one evaluated cold.

use half::f16;
use rayon::prelude::*;

/// Positions per key tile.
pub(crate) const TILE: usize = 64;
/// Query positions per work unit in a prefill chunk.
const ROWS_PER_UNIT: usize = 16;
/// Below this many cached positions a decode step runs its heads one after the other:
/// the work is smaller than a thread hand-off.
const PARALLEL_FROM: usize = 256;

/// The sizes attention needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Heads {
    /// Query heads.
    pub(crate) n_head: usize,
    /// Key/value heads (each shared by `n_head / n_kv` query heads).
    pub(crate) n_kv: usize,
    /// Values per head.
    pub(crate) dim: usize,
    /// Positions the cache holds at most.
    pub(crate) capacity: usize,
}

impl Heads {
    /// f16 values one layer's keys take (and its values).
    pub(crate) fn layer_len(&self) -> usize {
        self.n_kv * self.capacity.div_ceil(TILE) * TILE * self.dim
    }

    fn groups(&self) -> usize {
        self.n_head / self.n_kv
    }
}

/// How a layer turns query-key products into attention weights.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scores {
    /// Products are multiplied by this.
    pub(crate) scale: f32,
    /// Scaled products are soft-capped at this value (`c * tanh(s / c)`).
    pub(crate) softcap: Option<f32>,
    /// A query sees only itself and the `window - 1` positions before it.
    pub(crate) window: Option<usize>,
}

impl Scores {
    /// Plain attention: `1 / sqrt(dim)`, no cap, no window.
    #[cfg(test)]
    fn plain(dim: usize) -> Scores {
        Scores { scale: 1.0 / (dim as f32).sqrt(), softcap: None, window: None }
    }

    /// The first position a query at `at` sees.
    fn first_seen(&self, at: usize) -> usize {
        self.window.map_or(0, |w| (at + 1).saturating_sub(w))
    }
}

/// Rotates `x` (`rows` rows of `heads` heads of `dim` values, row `i` at position
/// `pos + i`) by the rotary tables `cos`/`sin` (`[positions][dim / 2]`): pairs
/// `(j, j + dim/2)` when `neox`, else `(2j, 2j + 1)`.
pub(crate) fn rope(x: &mut [f32], heads: usize, dim: usize, pos: usize, cos: &[f32], sin: &[f32], neox: bool) {
    let half = dim / 2;
    for (i, row) in x.chunks_exact_mut(heads * dim).enumerate() {
        let (c, s) = (&cos[(pos + i) * half..(pos + i + 1) * half], &sin[(pos + i) * half..(pos + i + 1) * half]);
        for head in row.chunks_exact_mut(dim) {
            for j in 0..half {
                let (a, b) = if neox { (j, j + half) } else { (2 * j, 2 * j + 1) };
                let (x0, x1) = (head[a], head[b]);
                head[a] = x0 * c[j] - x1 * s[j];
                head[b] = x0 * s[j] + x1 * c[j];
            }
        }
    }
}

/// Rotates one head's key (`dim` values) by `delta` positions (negative: back), as
/// [`rope`] would have rotated it at a position `delta` further: rotary embeddings
/// compose, so a cached key moved by `delta` needs only this.
pub(crate) fn rotate(k: &mut [f32], delta: i64, cos: &[f32], sin: &[f32], neox: bool) {
    let half = k.len() / 2;
    let at = delta.unsigned_abs() as usize * half;
    let (c, s) = (&cos[at..at + half], &sin[at..at + half]);
    let sign = if delta < 0 { -1.0 } else { 1.0 };
    for j in 0..half {
        let (a, b) = if neox { (j, j + half) } else { (2 * j, 2 * j + 1) };
        let (x0, x1, sj) = (k[a], k[b], sign * s[j]);
        k[a] = x0 * c[j] - x1 * sj;
        k[b] = x0 * sj + x1 * c[j];
    }
}

/// What the cache stores a key or value as: f16 bits, or f32 in the exact mode the
/// reference tests use (`CANDLE_DEQUANTIZE_ALL`).
pub(crate) trait Element: Copy + Default + Send + Sync {
    /// The stored form of `x`.
    fn from_f32(x: f32) -> Self;
    /// Stored values back to f32.
    fn widen(src: &[Self], dst: &mut [f32]);
}

impl Element for u16 {
    fn from_f32(x: f32) -> u16 {
        f16::from_f32(x).to_bits()
    }

    fn widen(src: &[u16], dst: &mut [f32]) {
        to_f32(src, dst)
    }
}

impl Element for f32 {
    fn from_f32(x: f32) -> f32 {
        x
    }

    fn widen(src: &[f32], dst: &mut [f32]) {
        dst.copy_from_slice(&src[..dst.len()]);
    }
}

/// Writes `rows` positions from `pos` of keys and values (`[row][kv head][dim]`) into
/// one layer's cache.
pub(crate) fn store<E: Element>(h: &Heads, keys: &mut [E], values: &mut [E], k: &[f32], v: &[f32], pos: usize) {
    let tiles = h.capacity.div_ceil(TILE);
    for (i, (k_row, v_row)) in k.chunks_exact(h.n_kv * h.dim).zip(v.chunks_exact(h.n_kv * h.dim)).enumerate() {
        let p = pos + i;
        for kv in 0..h.n_kv {
            let tile = (kv * tiles + p / TILE) * h.dim * TILE;
            for d in 0..h.dim {
                keys[tile + d * TILE + p % TILE] = E::from_f32(k_row[kv * h.dim + d]);
            }
            let at = (kv * tiles * TILE + p) * h.dim;
            for (dst, &x) in values[at..at + h.dim].iter_mut().zip(&v_row[kv * h.dim..(kv + 1) * h.dim]) {
                *dst = E::from_f32(x);
            }
        }
    }
}

/// Softmax attention of `rows` new positions (queries `[row][head][dim]`, row `i` at
/// position `pos + i`) over the cache's first `pos + rows` positions (those the
/// window of `rule` leaves); returns `[row][head][dim]`.
pub(crate) fn attend<E: Element>(
    h: &Heads,
    rule: &Scores,
    q: &[f32],
    rows: usize,
    pos: usize,
    keys: &[E],
    values: &[E],
) -> Vec<f32> {
    let mut out = vec![0f32; rows * h.n_head * h.dim];
    let len = pos + rows;
    let tiles = len.div_ceil(TILE);
    let groups = h.groups();
    let width = h.dim + 2;
    if rows == 1 {
        // One query: the tiles of each kv head are split among threads; their partials
        // are merged in tile order.
        // Tiles wholly before the window are skipped.
        let skip = rule.first_seen(pos) / TILE;
        let seen = tiles - skip;
        let parts = if (len - skip * TILE) >= PARALLEL_FROM { rayon::current_num_threads().max(1) } else { 1 };
        let units: Vec<(usize, std::ops::Range<usize>)> = (0..h.n_kv)
            .flat_map(|kv| (0..parts).map(move |p| (kv, skip + p * seen / parts..skip + (p + 1) * seen / parts)))
            .filter(|(_, range)| !range.is_empty())
            .collect();
        let run = |(kv, range): &(usize, std::ops::Range<usize>)| {
            let mut scratch = Scratch::new(h.dim);
            let mut partials = vec![0f32; range.len() * groups * width];
            for (i, t) in range.clone().enumerate() {
                let at = i * groups * width;
                let part = &mut partials[at..at + groups * width];
                tile(h, rule, &mut scratch, q, 0, 1, pos, *kv, t, keys, values, part);
            }
            partials
        };
        let partials: Vec<Vec<f32>> =
            if parts > 1 { units.par_iter().map(run).collect() } else { units.iter().map(run).collect() };
        let mut merged = vec![0f32; h.n_head * width];
        for head in merged.chunks_exact_mut(width) {
            head[0] = f32::NEG_INFINITY;
        }
        for ((kv, _), tiles) in units.iter().zip(&partials) {
            for tile in tiles.chunks_exact(groups * width) {
                for (g, part) in tile.chunks_exact(width).enumerate() {
                    let head = kv * groups + g;
                    merge(&mut merged[head * width..(head + 1) * width], part);
                }
            }
        }
        for (head, m) in merged.chunks_exact(width).enumerate() {
            finish(m, &mut out[head * h.dim..(head + 1) * h.dim]);
        }
        return out;
    }
    // A chunk: units of (kv head, query rows), each running through its tiles in order
    // and merging each tile's partials as it goes.
    let units: Vec<(usize, usize)> =
        (0..h.n_kv).flat_map(|kv| (0..rows.div_ceil(ROWS_PER_UNIT)).map(move |u| (kv, u * ROWS_PER_UNIT))).collect();
    let results: Vec<(usize, usize, Vec<f32>)> = units
        .par_iter()
        .map(|&(kv, first)| {
            let count = ROWS_PER_UNIT.min(rows - first);
            let mut scratch = Scratch::new(h.dim);
            let mut merged = vec![0f32; count * groups * width];
            for row in merged.chunks_exact_mut(width) {
                row[0] = f32::NEG_INFINITY;
            }
            let mut parts = vec![0f32; count * groups * width];
            let last_tile = (pos + first + count - 1) / TILE;
            for t in rule.first_seen(pos + first) / TILE..=last_tile.min(tiles - 1) {
                tile(h, rule, &mut scratch, q, first, count, pos, kv, t, keys, values, &mut parts);
                for (m, part) in merged.chunks_exact_mut(width).zip(parts.chunks_exact(width)) {
                    merge(m, part);
                }
            }
            (kv, first, merged)
        })
        .collect();
    for (kv, first, merged) in results {
        // `merged` is by (row in unit, group).
        for (i, m) in merged.chunks_exact(width).enumerate() {
            let (r, g) = (first + i / groups, i % groups);
            let at = (r * h.n_head + kv * groups + g) * h.dim;
            finish(m, &mut out[at..at + h.dim]);
        }
    }
    out
}

/// A tile's keys and values as f32, reused by every query of a work unit.
struct Scratch {
    keys: Vec<f32>,
    values: Vec<f32>,
}

impl Scratch {
    fn new(dim: usize) -> Scratch {
        Scratch { keys: vec![0.0; dim * TILE], values: vec![0.0; TILE * dim] }
    }
}

/// Folds the next tile's partial into a running one (each `[max, sum, out[dim]]`: the
/// softmax over some positions, not yet normalized). Tiles are folded in order, so the
/// result does not depend on where the partials were computed.
fn merge(running: &mut [f32], next: &[f32]) {
    if next[1] == 0.0 {
        return;
    }
    let max = running[0].max(next[0]);
    let (a, b) = (exp(running[0] - max), exp(next[0] - max));
    running[0] = max;
    running[1] = running[1] * a + next[1] * b;
    for (o, n) in running[2..].iter_mut().zip(&next[2..]) {
        *o = *o * a + n * b;
    }
}

/// The normalized output of a running partial.
fn finish(running: &[f32], out: &mut [f32]) {
    let inv = if running[1] > 0.0 { 1.0 / running[1] } else { 0.0 };
    for (o, x) in out.iter_mut().zip(&running[2..]) {
        *o = x * inv;
    }
}

/// Writes the partials (`[max, sum, out[dim]]` each) of query rows `first..first +
/// count` (all query heads of kv head `kv`, by row then group) over tile `t` into
/// `parts`; rows see only positions up to their own.
#[allow(clippy::too_many_arguments, reason = "one tile's coordinates, one by one")]
fn tile<E: Element>(
    h: &Heads,
    rule: &Scores,
    scratch: &mut Scratch,
    q: &[f32],
    first: usize,
    count: usize,
    pos: usize,
    kv: usize,
    t: usize,
    keys: &[E],
    values: &[E],
    parts: &mut [f32],
) {
    let tiles = h.capacity.div_ceil(TILE);
    let len = (pos + first + count).min((t + 1) * TILE) - t * TILE;
    let k_at = (kv * tiles + t) * h.dim * TILE;
    E::widen(&keys[k_at..k_at + h.dim * TILE], &mut scratch.keys);
    let v_at = (kv * tiles * TILE + t * TILE) * h.dim;
    E::widen(&values[v_at..v_at + len * h.dim], &mut scratch.values[..len * h.dim]);
    let width = h.dim + 2;
    for (i, part) in parts.chunks_exact_mut(width).take(count * h.groups()).enumerate() {
        let (r, g) = (first + i / h.groups(), i % h.groups());
        // Positions of this tile the row may see.
        let visible = (pos + r + 1).saturating_sub(t * TILE).min(len);
        let from = rule.first_seen(pos + r).saturating_sub(t * TILE);
        if visible <= from {
            part[..2].copy_from_slice(&[f32::NEG_INFINITY, 0.0]);
            continue;
        }
        let head = kv * h.groups() + g;
        let query = &q[(r * h.n_head + head) * h.dim..(r * h.n_head + head + 1) * h.dim];
        let (max, sum) = partial(query, scratch, from..visible, rule, &mut part[2..]);
        part[0] = max;
        part[1] = sum;
    }
}

/// One query's softmax over the positions `seen` of a tile (keys `[dim][TILE]`, values
/// `[position][dim]`): returns the largest score and the sum of `exp(score - max)`,
/// and writes the values weighted likewise into `out`.
fn partial(query: &[f32], tile: &Scratch, seen: std::ops::Range<usize>, rule: &Scores, out: &mut [f32]) -> (f32, f32) {
    #[cfg(target_arch = "x86_64")]
    if seen.start == 0
        && rule.softcap.is_none()
        && query.len().is_multiple_of(8)
        && std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
    {
        // SAFETY: the CPU supports the features the function is compiled for, and the
        // shapes are the ones it reads (`query.len()` a multiple of 8, `tile` a scratch
        // of that width, `out` sized by the caller).
        return unsafe { x86::partial(query, tile, seen.end, rule.scale, out) };
    }
    partial_portable(query, tile, seen, rule, out)
}

/// See [`partial`]: one value at a time (also the only path for windows that begin
/// inside a tile and for soft-capped scores, which are rare).
fn partial_portable(
    query: &[f32],
    tile: &Scratch,
    seen: std::ops::Range<usize>,
    rule: &Scores,
    out: &mut [f32],
) -> (f32, f32) {
    let (keys, values) = (&tile.keys, &tile.values);
    let mut scores = [0f32; TILE];
    for (d, &x) in query.iter().enumerate() {
        for (s, &k) in scores.iter_mut().zip(&keys[d * TILE..(d + 1) * TILE]) {
            *s += x * k;
        }
    }
    let mut max = f32::NEG_INFINITY;
    let scores = &mut scores[seen.clone()];
    for s in scores.iter_mut() {
        *s *= rule.scale;
        if let Some(cap) = rule.softcap {
            *s = cap * (*s / cap).tanh();
        }
        max = max.max(*s);
    }
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = exp(*s - max);
        sum += *s;
    }
    let dim = query.len();
    out.fill(0.0);
    let values = &values[seen.start * dim..];
    for (j, &w) in scores.iter().enumerate() {
        for (o, &v) in out.iter_mut().zip(&values[j * dim..(j + 1) * dim]) {
            *o += w * v;
        }
    }
    (max, sum)
}

/// The tile softmax with AVX2 and FMA: scores eight positions per register (keys are
/// stored transposed), exponentials eight at a time, values eight dims at a time.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{Scratch, TILE};

    /// Eight `e^x` (x <= 0), as [`super::exp`] computes them.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn exp8(x: __m256) -> __m256 {
        let x = _mm256_max_ps(x, _mm256_set1_ps(-87.0));
        let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
            x,
            _mm256_set1_ps(std::f32::consts::LOG2_E),
        ));
        let r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.121_944_4e-4), _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_359_4), x));
        let mut p = _mm256_set1_ps(1.0 / 5040.0);
        for c in [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
            p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(c));
        }
        let two_n = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(
            _mm256_cvtps_epi32(n),
            _mm256_set1_epi32(127),
        )));
        _mm256_mul_ps(p, two_n)
    }

    /// Folds the eight lanes of `v` with `op` (an SSE operation, applied lane-wise).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn fold8(v: __m256, op: impl Fn(__m128, __m128) -> __m128) -> f32 {
        let s = op(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = op(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(op(s, _mm_shuffle_ps::<1>(s, s)))
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn sum8(v: __m256) -> f32 {
        fold8(v, |a, b| _mm_add_ps(a, b))
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn max8(v: __m256) -> f32 {
        fold8(v, |a, b| _mm_max_ps(a, b))
    }

    /// See [`super::partial`].
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; `query.len()` must be a multiple of 8, `tile`
    /// made by `Scratch::new(query.len())`, `out` hold `query.len()` values, and
    /// `1 <= visible <= TILE`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn partial(
        query: &[f32],
        tile: &Scratch,
        visible: usize,
        scale: f32,
        out: &mut [f32],
    ) -> (f32, f32) {
        let (keys, values) = (&tile.keys, &tile.values);
        const V: usize = TILE / 8;
        let dim = query.len();
        // SAFETY: every load and store stays inside the slices the caller sized.
        unsafe {
            let mut acc = [_mm256_setzero_ps(); V];
            let k = keys.as_ptr();
            for (d, &x) in query.iter().enumerate() {
                let x = _mm256_set1_ps(x);
                for (i, a) in acc.iter_mut().enumerate() {
                    *a = _mm256_fmadd_ps(x, _mm256_loadu_ps(k.add(d * TILE + 8 * i)), *a);
                }
            }
            // Scale, hide the positions past `visible`, and find the largest score.
            let limit = _mm256_set1_ps(visible as f32);
            let lanes = _mm256_setr_ps(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0);
            let mut masks = [_mm256_setzero_ps(); V];
            let mut best = _mm256_set1_ps(f32::NEG_INFINITY);
            for (i, (a, mask)) in acc.iter_mut().zip(masks.iter_mut()).enumerate() {
                let at = _mm256_add_ps(lanes, _mm256_set1_ps((8 * i) as f32));
                *mask = _mm256_cmp_ps::<_CMP_LT_OQ>(at, limit);
                *a = _mm256_blendv_ps(
                    _mm256_set1_ps(f32::NEG_INFINITY),
                    _mm256_mul_ps(*a, _mm256_set1_ps(scale)),
                    *mask,
                );
                best = _mm256_max_ps(best, *a);
            }
            let max = max8(best);
            let m = _mm256_set1_ps(max);
            let mut total = _mm256_setzero_ps();
            let mut weights = [0f32; TILE];
            for (i, (a, mask)) in acc.iter().zip(&masks).enumerate() {
                let e = _mm256_and_ps(exp8(_mm256_sub_ps(*a, m)), *mask);
                total = _mm256_add_ps(total, e);
                _mm256_storeu_ps(weights.as_mut_ptr().add(8 * i), e);
            }
            // Weighted values, 64 dims (eight registers) at a time.
            let v = values.as_ptr();
            let mut col = 0;
            while col < dim {
                let width = (dim - col).min(64) / 8;
                let mut o = [_mm256_setzero_ps(); 8];
                for (j, &w) in weights[..visible].iter().enumerate() {
                    let w = _mm256_set1_ps(w);
                    for (c, o) in o.iter_mut().enumerate().take(width) {
                        *o = _mm256_fmadd_ps(w, _mm256_loadu_ps(v.add(j * dim + col + 8 * c)), *o);
                    }
                }
                for (c, o) in o.iter().enumerate().take(width) {
                    _mm256_storeu_ps(out.as_mut_ptr().add(col + 8 * c), *o);
                }
                col += 8 * width;
            }
            (max, sum8(total))
        }
    }
}

/// f16 bits to f32, with the F16C instructions when the CPU has them.
fn to_f32(src: &[u16], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("f16c") && std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU supports F16C and AVX (checked above).
        unsafe { to_f32_f16c(src, dst) };
        return;
    }
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f16::from_bits(s).to_f32();
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,f16c")]
unsafe fn to_f32_f16c(src: &[u16], dst: &mut [f32]) {
    use std::arch::x86_64::{_mm256_cvtph_ps, _mm256_storeu_ps, _mm_loadu_si128};
    let n = src.len().min(dst.len());
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: `i + 8 <= n` values are readable in `src` and writable in `dst`.
        unsafe {
            _mm256_storeu_ps(dst.as_mut_ptr().add(i), _mm256_cvtph_ps(_mm_loadu_si128(src.as_ptr().add(i).cast())))
        };
        i += 8;
    }
    for j in i..n {
        dst[j] = f16::from_bits(src[j]).to_f32();
    }
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
    let p = 1.0
        + r * (1.0
            + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r / 5040.0))))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attention in f64 straight from the definition, over f16-rounded keys and values.
    fn reference(h: &Heads, rule: &Scores, q: &[f32], k: &[f32], v: &[f32], rows: usize, pos: usize) -> Vec<f64> {
        let groups = h.n_head / h.n_kv;
        let round = |x: f32| f64::from(f16::from_f32(x).to_f32());
        let mut out = vec![0f64; rows * h.n_head * h.dim];
        for r in 0..rows {
            for head in 0..h.n_head {
                let kv = head / groups;
                let qv = &q[(r * h.n_head + head) * h.dim..][..h.dim];
                let seen = pos + r + 1;
                let first = rule.window.map_or(0, |w| seen.saturating_sub(w));
                let scores: Vec<f64> = (0..seen)
                    .map(|j| {
                        let key = &k[(j * h.n_kv + kv) * h.dim..][..h.dim];
                        let s = qv.iter().zip(key).map(|(a, b)| f64::from(*a) * round(*b)).sum::<f64>()
                            * f64::from(rule.scale);
                        let s = rule.softcap.map_or(s, |c| f64::from(c) * (s / f64::from(c)).tanh());
                        if j < first {
                            f64::NEG_INFINITY
                        } else {
                            s
                        }
                    })
                    .collect();
                let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
                let sum: f64 = e.iter().sum();
                for j in 0..seen {
                    for d in 0..h.dim {
                        out[(r * h.n_head + head) * h.dim + d] += e[j] / sum * round(v[(j * h.n_kv + kv) * h.dim + d]);
                    }
                }
            }
        }
        out
    }

    /// A layer's cache (keys, values), the keys and values stored in it, and queries.
    type Setup = ((Vec<u16>, Vec<u16>), Vec<f32>, Vec<f32>, Vec<f32>);

    /// Random keys and values for `len` positions stored in a cache, and queries.
    fn setup(h: &Heads, len: usize, rows: usize, seed: u64) -> Setup {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut random = |n: usize| (0..n).map(|_| rng.f32() * 2.0 - 1.0).collect::<Vec<f32>>();
        let k = random(len * h.n_kv * h.dim);
        let v = random(len * h.n_kv * h.dim);
        let q = random(rows * h.n_head * h.dim);
        let (mut keys, mut values) = (vec![0u16; h.layer_len()], vec![0u16; h.layer_len()]);
        store(h, &mut keys, &mut values, &k, &v, 0);
        ((keys, values), k, v, q)
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
    fn matches_the_definition_for_chunks_and_single_steps() {
        for &(n_head, n_kv, dim, len, rows) in &[
            (9, 3, 64, 1, 1),
            (9, 3, 64, 37, 5),
            (4, 4, 32, 300, 1),
            (8, 2, 24, 130, 64),
            (2, 1, 8, 1000, 1),
            (14, 2, 64, 700, 17),
        ] {
            let h = Heads { n_head, n_kv, dim, capacity: len + 70 };
            let ((keys, values), k, v, q) = setup(&h, len, rows, len as u64);
            let pos = len - rows;
            let rules = [
                Scores::plain(dim),
                Scores { window: Some(100), ..Scores::plain(dim) },
                Scores { window: Some(3), softcap: Some(1.5), scale: 0.3 },
            ];
            for rule in rules {
                let got = attend(&h, &rule, &q, rows, pos, &keys, &values);
                let want = reference(&h, &rule, &q, &k, &v, rows, pos);
                let diff = got.iter().zip(&want).map(|(g, w)| (f64::from(*g) - w).abs()).fold(0.0, f64::max);
                assert!(diff < 1e-5, "{n_head}/{n_kv} heads, d {dim}, len {len}, rows {rows}, {rule:?}: {diff}");
            }
        }
    }

    #[test]
    fn a_query_gives_the_same_bits_in_a_chunk_and_alone() {
        let h = Heads { n_head: 14, n_kv: 2, dim: 64, capacity: 1024 };
        let ((keys, values), _, _, q) = setup(&h, 600, 40, 9);
        let chunk = attend(&h, &Scores::plain(64), &q, 40, 560, &keys, &values);
        let width = h.n_head * h.dim;
        for r in [0, 7, 39] {
            let alone = attend(&h, &Scores::plain(64), &q[r * width..(r + 1) * width], 1, 560 + r, &keys, &values);
            assert_eq!(alone, chunk[r * width..(r + 1) * width], "row {r}");
        }
    }

    #[test]
    fn a_key_rotated_by_a_distance_is_the_key_at_the_new_position() {
        let (dim, positions) = (16, 64);
        let theta: Vec<f32> = (0..dim / 2).map(|j| 1.0 / 10_000f32.powf(2.0 * j as f32 / dim as f32)).collect();
        let table = |f: fn(f32) -> f32| {
            (0..positions).flat_map(|p| theta.iter().map(move |t| f(p as f32 * t))).collect::<Vec<f32>>()
        };
        let (cos, sin) = (table(f32::cos), table(f32::sin));
        let x: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.37).sin()).collect();
        for neox in [true, false] {
            for (from, to) in [(5usize, 40usize), (40, 5), (0, 63), (17, 17)] {
                let mut moved = x.clone();
                rope(&mut moved, 1, dim, from, &cos[..(from + 1) * dim / 2], &sin[..(from + 1) * dim / 2], neox);
                rotate(&mut moved, to as i64 - from as i64, &cos, &sin, neox);
                let mut direct = x.clone();
                // `rope` reads the rows of the positions it rotates: start them at `to`.
                rope(&mut direct, 1, dim, to, &cos, &sin, neox);
                for (a, b) in moved.iter().zip(&direct) {
                    assert!((a - b).abs() < 1e-4, "{from} -> {to} (neox {neox}): {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn rotary_embeddings_rotate_pairs_by_position() {
        let (dim, positions) = (8, 4);
        let cos: Vec<f32> = (0..positions * dim / 2).map(|i| (i as f32 * 0.3).cos()).collect();
        let sin: Vec<f32> = (0..positions * dim / 2).map(|i| (i as f32 * 0.3).sin()).collect();
        let x: Vec<f32> = (0..2 * dim).map(|i| i as f32).collect();
        for neox in [true, false] {
            let mut y = x.clone();
            rope(&mut y, 1, dim, 2, &cos, &sin, neox);
            for (row, pos) in [(0, 2), (1, 3)] {
                for j in 0..dim / 2 {
                    let (a, b) = if neox { (j, j + dim / 2) } else { (2 * j, 2 * j + 1) };
                    let (c, s) = (cos[pos * dim / 2 + j], sin[pos * dim / 2 + j]);
                    let (x0, x1) = (x[row * dim + a], x[row * dim + b]);
                    assert!((y[row * dim + a] - (x0 * c - x1 * s)).abs() < 1e-5);
                    assert!((y[row * dim + b] - (x0 * s + x1 * c)).abs() < 1e-5);
                }
            }
        }
    }
}
