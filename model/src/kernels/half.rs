//! Products with f16 and bf16 weights (files that keep some tensors unquantized, or
//! are wholly f16/bf16): the weights stay 2 bytes each, a row is widened to f32 once
//! per call and dotted with every input row. candle would widen the whole matrix to
//! f32 at load (twice the memory, twice the bytes a decode step reads).

use candle_core::quantized::GgmlDType;
use half::slice::{HalfBitsSliceExt, HalfFloatSliceExt};
use rayon::prelude::*;

/// Weight rows per unit of parallel work.
const BLOCK: usize = 16;

/// The two-byte float formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Half {
    F16,
    Bf16,
}

/// A `rows x cols` matrix of f16 or bf16 values, row-major as in the file.
pub struct HalfMatrix {
    kind: Half,
    rows: usize,
    cols: usize,
    bits: Vec<u16>,
}

impl HalfMatrix {
    /// The matrix of `data` (the file's bytes) when `dtype` is F16 or BF16.
    pub(crate) fn new(dtype: GgmlDType, data: &[u8], rows: usize, cols: usize) -> Option<HalfMatrix> {
        let kind = match dtype {
            GgmlDType::F16 => Half::F16,
            GgmlDType::BF16 => Half::Bf16,
            _ => return None,
        };
        if data.len() != rows * cols * 2 {
            return None;
        }
        let bits = data.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
        Some(HalfMatrix { kind, rows, cols, bits })
    }

    /// Rows (outputs).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns (inputs).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes of weights held.
    pub fn bytes(&self) -> usize {
        self.bits.len() * 2
    }

    /// The file format.
    pub fn dtype(&self) -> GgmlDType {
        match self.kind {
            Half::F16 => GgmlDType::F16,
            Half::Bf16 => GgmlDType::BF16,
        }
    }

    /// Row `r` as f32 values into `out` (`cols` long).
    pub(crate) fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        let row = &self.bits[r * self.cols..(r + 1) * self.cols];
        match self.kind {
            Half::F16 => {
                let row: &[half::f16] = bytemuck_f16(row);
                row.convert_to_f32_slice(out);
            }
            Half::Bf16 => {
                for (o, &b) in out.iter_mut().zip(row) {
                    *o = f32::from_bits(u32::from(b) << 16);
                }
            }
        }
    }

    /// `x · mᵀ` for `x` of `n * cols` values: `n * rows` values, input row by input row.
    pub(crate) fn matmul(&self, x: &[f32]) -> Vec<f32> {
        let n = x.len() / self.cols;
        let blocks: Vec<(usize, Vec<f32>)> = (0..self.rows.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                let rows = b * BLOCK..((b + 1) * BLOCK).min(self.rows);
                let width = rows.len();
                let mut row = vec![0f32; self.cols];
                // By input row, then weight row: `width` values per input row.
                let mut out = vec![0f32; width * n];
                for (i, r) in rows.enumerate() {
                    self.dequantize_row(r, &mut row);
                    for (c, input) in x.chunks_exact(self.cols).enumerate() {
                        out[c * width + i] = dot(&row, input);
                    }
                }
                (b * BLOCK, out)
            })
            .collect();
        let mut out = vec![0f32; n * self.rows];
        for (first, block) in blocks {
            let width = block.len() / n.max(1);
            if width == 0 {
                continue;
            }
            for (c, part) in block.chunks_exact(width).enumerate() {
                out[c * self.rows + first..c * self.rows + first + width].copy_from_slice(part);
            }
        }
        out
    }
}

/// `u16` bits as `f16` values (the same layout; `half` guarantees it).
fn bytemuck_f16(bits: &[u16]) -> &[half::f16] {
    bits.reinterpret_cast::<half::f16>()
}

/// The dot product, with AVX2 and FMA where the CPU has them.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features the function is compiled for.
        return unsafe { dot_fma(a, b) };
    }
    dot_lanes(a, b)
}

/// Thirty-two running sums (which the compiler keeps in vector registers), then the tail.
#[inline(always)]
fn dot_lanes(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 32;
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] = x[i].mul_add(y[i], acc[i]);
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_fma(a: &[f32], b: &[f32]) -> f32 {
    dot_lanes(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_equal_the_widened_weights_times_the_inputs() {
        let mut rng = fastrand::Rng::with_seed(3);
        for (dtype, rows, cols, n) in
            [(GgmlDType::F16, 37, 70, 1), (GgmlDType::BF16, 40, 64, 3), (GgmlDType::F16, 5, 33, 2)]
        {
            let weights: Vec<f32> = (0..rows * cols).map(|_| rng.f32() - 0.5).collect();
            let bytes: Vec<u8> = weights
                .iter()
                .flat_map(|&w| match dtype {
                    GgmlDType::F16 => half::f16::from_f32(w).to_bits().to_le_bytes(),
                    _ => half::bf16::from_f32(w).to_bits().to_le_bytes(),
                })
                .collect();
            let m = HalfMatrix::new(dtype, &bytes, rows, cols).expect("a half matrix");
            let x: Vec<f32> = (0..n * cols).map(|_| rng.f32() - 0.5).collect();
            let got = m.matmul(&x);
            let mut row = vec![0f32; cols];
            for c in 0..n {
                for r in 0..rows {
                    m.dequantize_row(r, &mut row);
                    let want: f64 = row.iter().zip(&x[c * cols..]).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
                    let g = got[c * rows + r];
                    assert!((f64::from(g) - want).abs() < 1e-4, "{dtype:?} ({c}, {r}): {g} vs {want}");
                }
            }
        }
    }
}
