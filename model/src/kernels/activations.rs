//! Activations rounded to 8 bits per 32-value block, once per input row, before the
//! integer dot products (ggml's `q8_1` scheme: a scale `d = max|x| / 127`), with the
//! integer sums the weights' offsets and mins need.

use super::pack::BLOCK;

/// Adding and subtracting 1.5 * 2^23 rounds an f32 below 2^22 to an integer.
const ROUNDER: f32 = 12_582_912.0;

/// `rows` input rows of `cols` values, quantized.
pub(crate) struct QuantizedRows {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    /// Blocks per row.
    pub(crate) blocks: usize,
    /// `rows * cols` values.
    pub(crate) quants: Vec<i8>,
    /// Per (row, block): the scale `d`.
    pub(crate) scales: Vec<f32>,
    /// Per (row, block, half): the sum of the 16 quants `Σq`.
    pub(crate) half_sums: Vec<i32>,
    /// Per (row, block): `d * Σq` over the block.
    pub(crate) sums: Vec<f32>,
}

impl QuantizedRows {
    /// Quantizes `x` (`rows * cols` values, row-major; `cols` a multiple of 32).
    pub(crate) fn new(x: &[f32], cols: usize) -> QuantizedRows {
        let rows = x.len() / cols;
        let blocks = cols / BLOCK;
        let mut q = QuantizedRows {
            rows,
            cols,
            blocks,
            quants: vec![0; rows * cols],
            scales: vec![0.0; rows * blocks],
            half_sums: vec![0; rows * blocks * 2],
            sums: vec![0.0; rows * blocks],
        };
        for (i, (src, dst)) in x.chunks_exact(BLOCK).zip(q.quants.chunks_exact_mut(BLOCK)).enumerate() {
            // Eight running maxima, so the loop vectorizes (NaN compares false: ignored).
            let mut lanes = [0f32; 8];
            for part in src.chunks_exact(8) {
                for (m, v) in lanes.iter_mut().zip(part) {
                    let a = v.abs();
                    *m = if a > *m { a } else { *m };
                }
            }
            let max = lanes.into_iter().fold(0f32, |m, v| if v > m { v } else { m });
            let d = max / 127.0;
            let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
            for (o, &v) in dst.iter_mut().zip(src) {
                // Round to nearest (ties to even) by the 1.5 * 2^23 trick: `f32::round`
                // is a libm call on baseline x86_64, this is two vector adds.
                // |v * inv| <= 127 by construction; NaN becomes 0.
                *o = ((v * inv + ROUNDER) - ROUNDER) as i8;
            }
            let half = |h: usize| dst[h * 16..(h + 1) * 16].iter().map(|&k| i32::from(k)).sum::<i32>();
            let (low, high) = (half(0), half(1));
            q.half_sums[2 * i] = low;
            q.half_sums[2 * i + 1] = high;
            q.scales[i] = d;
            q.sums[i] = d * (low + high) as f32;
        }
        q
    }

    /// The integer sum of block `b` of row `c`.
    pub(crate) fn block_sum(&self, c: usize, b: usize) -> i32 {
        let i = 2 * (c * self.blocks + b);
        self.half_sums[i] + self.half_sums[i + 1]
    }
}
