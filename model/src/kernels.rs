//! Our quantized matrix products for the CPU, used instead of candle's `QMatMul`
//! where they apply (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and Q6_K weights on the
//! CPU; F16 and BF16 weights in [`half`]).
//!
//! Why not candle's: on x86 it has no SIMD kernel for Q4_1 or Q5_x (a generic Rust
//! loop), and its products walk one weight row per output value with no tiling, so
//! prefill re-reads every weight row for each token. Here weights are repacked at load
//! ([`pack`]: sixteen rows interleaved, four values per lane), activations are rounded
//! to 8 bits once per input row ([`activations`]), and each call runs a group of
//! sixteen rows against up to four input rows with integer dot products that land
//! each row in its own lane ([`x86`]; [`scalar`] elsewhere and as the tests'
//! reference). Work is split over rayon's pool by row groups.

mod activations;
mod half;
mod pack;
mod scalar;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::sync::OnceLock;

use rayon::prelude::*;

pub(crate) use activations::QuantizedRows;
pub use half::HalfMatrix;
pub use pack::PackedMatrix;
use pack::GROUP;

/// The instruction set a kernel is compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// Portable Rust.
    Scalar,
    /// AVX2 + FMA + F16C.
    Avx2,
    /// AVX2 with AVX-VNNI dot products.
    AvxVnni,
    /// AVX-512 VNNI dot products on 256-bit registers.
    Avx512Vnni,
    /// AVX-512 VNNI dot products on 512-bit registers.
    Avx512,
}

/// A kernel: group `g` of the matrix against every activation row, into the output
/// rows of `stride` values from the group's first column.
type GroupKernel = unsafe fn(&PackedMatrix, usize, &QuantizedRows, *mut f32, usize);

impl Isa {
    /// Every kernel this CPU can run, slowest first.
    pub fn available() -> Vec<Isa> {
        [Isa::Scalar, Isa::Avx2, Isa::AvxVnni, Isa::Avx512Vnni, Isa::Avx512]
            .into_iter()
            .filter(|isa| isa.is_available())
            .collect()
    }

    /// Whether this CPU can run the kernel (the detection is cached by std).
    pub fn is_available(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 =
                is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c");
            let avx512 = avx2
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512vnni");
            match self {
                Isa::Scalar => true,
                Isa::Avx2 => avx2,
                Isa::AvxVnni => avx2 && is_x86_feature_detected!("avxvnni"),
                Isa::Avx512Vnni | Isa::Avx512 => avx512,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Isa::Scalar
        }
    }

    /// The kernel in use: the fastest available, or the one named by `INFILL_KERNEL`
    /// (`scalar`, `avx2`, `avx-vnni`, `avx512-vnni`, `avx512`) when this CPU has it.
    pub fn selected() -> Isa {
        static SELECTED: OnceLock<Isa> = OnceLock::new();
        *SELECTED.get_or_init(|| {
            let available = Isa::available();
            let wanted = std::env::var("INFILL_KERNEL").ok();
            wanted
                .and_then(|name| available.iter().copied().find(|isa| isa.name() == name))
                .or_else(|| available.last().copied())
                .unwrap_or(Isa::Scalar)
        })
    }

    /// The name `INFILL_KERNEL` takes.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::AvxVnni => "avx-vnni",
            Isa::Avx512Vnni => "avx512-vnni",
            Isa::Avx512 => "avx512",
        }
    }

    fn kernel(self) -> GroupKernel {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => x86::avx2::group,
            #[cfg(target_arch = "x86_64")]
            Isa::AvxVnni => x86::avx_vnni::group,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni => x86::avx512_vnni::group,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => x86::avx512_zmm::group,
            _ => scalar_group,
        }
    }
}

/// The scalar kernel with the signature the SIMD ones have.
///
/// # Safety
/// `out` must hold `acts.rows` rows of `stride` values from the group's column on.
unsafe fn scalar_group(m: &PackedMatrix, g: usize, acts: &QuantizedRows, out: *mut f32, stride: usize) {
    let len = (acts.rows - 1) * stride + GROUP;
    // SAFETY: the caller guarantees `len` values from `out` belong to this call's rows
    // (other threads write other columns of the same rows, never these).
    let out = unsafe { std::slice::from_raw_parts_mut(out, len) };
    scalar::group(m, g, acts, out, stride)
}

/// The output buffer's address, shared by the threads that write disjoint columns of it.
#[derive(Clone, Copy)]
struct Output(*mut f32);
// SAFETY: threads write disjoint columns (their own row groups) through it; the buffer
// outlives the parallel call that uses it.
unsafe impl Send for Output {}
// SAFETY: as above.
unsafe impl Sync for Output {}

/// `x · mᵀ` for `x` of `rows * m.cols()` values: returns `rows * m.rows()` values
/// (input row by input row), with `isa`'s kernel.
pub fn matmul_with(isa: Isa, m: &PackedMatrix, x: &[f32]) -> candle_core::Result<Vec<f32>> {
    if !isa.is_available() {
        candle_core::bail!("this CPU cannot run the {} kernel", isa.name());
    }
    if !x.len().is_multiple_of(m.cols) {
        candle_core::bail!("{} values are not whole rows of {}", x.len(), m.cols);
    }
    Ok(product(isa, m, &QuantizedRows::new(x, m.cols)))
}

/// `x` times each of `matrices` (the same columns), the products of each input row side
/// by side (`rows * Σ m.rows()` values): the input is quantized once.
pub(crate) fn matmul_all(matrices: &[PackedMatrix], x: &[f32]) -> candle_core::Result<Vec<f32>> {
    let Some(first) = matrices.first() else { return Ok(Vec::new()) };
    if !x.len().is_multiple_of(first.cols) || matrices.iter().any(|m| m.cols != first.cols) {
        candle_core::bail!("{} values are not whole rows of {}", x.len(), first.cols);
    }
    let isa = Isa::selected();
    let acts = QuantizedRows::new(x, first.cols);
    if let [m] = matrices {
        return Ok(product(isa, m, &acts));
    }
    let products: Vec<Vec<f32>> = matrices.iter().map(|m| product(isa, m, &acts)).collect();
    let total: usize = matrices.iter().map(|m| m.rows).sum();
    let mut out = Vec::with_capacity(acts.rows * total);
    for c in 0..acts.rows {
        for (m, p) in matrices.iter().zip(&products) {
            out.extend_from_slice(&p[c * m.rows..(c + 1) * m.rows]);
        }
    }
    Ok(out)
}

/// The product of quantized activations with `m` (`acts.cols == m.cols`, `isa` available).
fn product(isa: Isa, m: &PackedMatrix, acts: &QuantizedRows) -> Vec<f32> {
    let n = acts.rows;
    if n == 0 {
        return Vec::new();
    }
    let kernel = isa.kernel();
    // Output rows padded to whole groups (kernels store whole lanes), cut back below.
    let stride = m.groups * GROUP;
    let mut out = vec![0f32; n * stride];
    let threads = rayon::current_num_threads().max(1);
    // One share per thread for a single input row (a decode step must not pay for
    // more hand-offs than threads); finer shares for batches, which balance better.
    let shares = if n == 1 { threads } else { threads * 4 };
    let per_share = m.groups.div_ceil(shares).max(1);
    let base = Output(out.as_mut_ptr());
    let run = move |share: usize| {
        let base = base;
        for g in share * per_share..((share + 1) * per_share).min(m.groups) {
            // SAFETY: `isa` is available on this CPU (checked above); `acts.cols ==
            // m.cols` (quantized above with `m.cols`); `g < m.groups`; the output has
            // `n` rows of `stride >= (g + 1) * GROUP` values, and group `g`'s columns
            // are written by this call alone.
            unsafe { kernel(m, g, acts, base.0.add(g * GROUP), stride) }
        }
    };
    let used = m.groups.div_ceil(per_share);
    if threads == 1 || used == 1 {
        (0..used).for_each(run);
    } else {
        (0..used).into_par_iter().for_each(run);
    }
    if stride != m.rows {
        for c in 1..n {
            out.copy_within(c * stride..c * stride + m.rows, c * m.rows);
        }
        out.truncate(n * m.rows);
    }
    out
}

/// `x · mᵀ` with the selected kernel (see [`matmul_with`]).
pub fn matmul(m: &PackedMatrix, x: &[f32]) -> candle_core::Result<Vec<f32>> {
    matmul_with(Isa::selected(), m, x)
}

#[cfg(test)]
mod tests {
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};

    use super::*;

    const FORMATS: [GgmlDType; 8] = [
        GgmlDType::Q4_0,
        GgmlDType::Q4_1,
        GgmlDType::Q5_0,
        GgmlDType::Q5_1,
        GgmlDType::Q8_0,
        GgmlDType::Q4K,
        GgmlDType::Q5K,
        GgmlDType::Q6K,
    ];

    fn random(n: usize, rng: &mut fastrand::Rng) -> Vec<f32> {
        // Mixed magnitudes, as activations have (a few outliers per row).
        (0..n).map(|i| (rng.f32() * 2.0 - 1.0) * if i % 37 == 0 { 8.0 } else { 1.0 }).collect()
    }

    /// A random `[rows, cols]` matrix in `dtype` (quantized by candle): candle's
    /// dequantized values of it, and its packed form.
    fn matrix(dtype: GgmlDType, rows: usize, cols: usize, rng: &mut fastrand::Rng) -> (Vec<f32>, PackedMatrix) {
        let values = Tensor::from_vec(random(rows * cols, rng), (rows, cols), &Device::Cpu).expect("tensor");
        let q = QTensor::quantize(&values, dtype).expect("quantize");
        let packed = PackedMatrix::pack(dtype, &q.data().expect("data"), rows, cols).expect("pack");
        let values = q.dequantize(&Device::Cpu).and_then(|t| t.flatten_all()).and_then(|t| t.to_vec1()).expect("deq");
        (values, packed)
    }

    /// (rows, cols, input rows); the K-quants take the shapes whose rows are whole 256-value blocks.
    const SHAPES: [(usize, usize, usize); 10] = [
        (1, 32, 1),
        (7, 64, 2),
        (8, 32, 4),
        (9, 96, 5),
        (17, 576, 3),
        (33, 128, 9),
        (64, 1536, 1),
        (40, 576, 64),
        (5, 256, 3),
        (19, 768, 6),
    ];

    fn shapes(dtype: GgmlDType) -> impl Iterator<Item = (usize, usize, usize)> {
        let block = dtype.block_size();
        SHAPES.into_iter().filter(move |(_, cols, _)| cols % block == 0)
    }

    #[test]
    fn repacked_rows_dequantize_as_candle_does() {
        let mut rng = fastrand::Rng::with_seed(1);
        for dtype in FORMATS {
            for (rows, cols, _) in shapes(dtype) {
                let (expected, packed) = matrix(dtype, rows, cols, &mut rng);
                let mut row = vec![0f32; cols];
                for r in 0..rows {
                    packed.dequantize_row(r, &mut row);
                    assert_eq!(row, expected[r * cols..(r + 1) * cols], "{dtype:?} {rows}x{cols} row {r}");
                }
            }
        }
    }

    /// The scalar kernel against f32 products with candle's dequantized weights: the
    /// only difference allowed is the activations' rounding to 8 bits, at most half a
    /// step `d_a / 2` per value, so each output may move by `Σ |w| * d_a / 2`.
    #[test]
    fn scalar_kernel_differs_from_f32_products_only_by_activation_rounding() {
        let mut rng = fastrand::Rng::with_seed(2);
        for dtype in FORMATS {
            for (rows, cols, n) in shapes(dtype) {
                let (w, packed) = matrix(dtype, rows, cols, &mut rng);
                let x = random(n * cols, &mut rng);
                let acts = QuantizedRows::new(&x, cols);
                let got = matmul_with(Isa::Scalar, &packed, &x).expect("matmul");
                assert_eq!(got.len(), n * rows);
                for c in 0..n {
                    for r in 0..rows {
                        let (w_row, x_row) = (&w[r * cols..(r + 1) * cols], &x[c * cols..(c + 1) * cols]);
                        let exact: f32 = w_row.iter().zip(x_row).map(|(a, b)| a * b).sum();
                        let bound: f32 = w_row
                            .iter()
                            .enumerate()
                            .map(|(j, v)| v.abs() * acts.scales[c * acts.blocks + j / 32] / 2.0)
                            .sum::<f32>()
                            * 1.001
                            + 1e-4;
                        let diff = (got[c * rows + r] - exact).abs();
                        assert!(
                            diff <= bound,
                            "{dtype:?} {rows}x{cols} n={n} ({c},{r}): {} vs {exact}, bound {bound}",
                            got[c * rows + r]
                        );
                    }
                }
            }
        }
    }

    /// Every SIMD kernel this CPU has against the scalar kernel: the same integer dot
    /// products, so only the order of float sums differs.
    #[test]
    fn simd_kernels_match_the_scalar_kernel() {
        let mut rng = fastrand::Rng::with_seed(3);
        let isas = Isa::available();
        for dtype in FORMATS {
            for (rows, cols, n) in shapes(dtype) {
                let (_, packed) = matrix(dtype, rows, cols, &mut rng);
                let x = random(n * cols, &mut rng);
                let reference = matmul_with(Isa::Scalar, &packed, &x).expect("scalar");
                let scale = reference.iter().fold(1f32, |m, v| m.max(v.abs()));
                for &isa in &isas[1..] {
                    let got = matmul_with(isa, &packed, &x).expect("simd");
                    for (i, (a, b)) in got.iter().zip(&reference).enumerate() {
                        assert!(
                            (a - b).abs() <= 1e-5 * scale,
                            "{isa:?} {dtype:?} {rows}x{cols} n={n} [{i}]: {a} vs {b}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn activations_round_to_the_nearest_step_and_keep_their_sums() {
        let mut rng = fastrand::Rng::with_seed(5);
        let mut x = random(3 * 96, &mut rng);
        x[40..72].fill(0.0); // an all-zero block: scale 0, no division by zero
        let q = QuantizedRows::new(&x, 96);
        assert_eq!((q.rows, q.blocks), (3, 3));
        for (i, block) in x.chunks_exact(32).enumerate() {
            let (d, quants) = (q.scales[i], &q.quants[i * 32..(i + 1) * 32]);
            let max = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            assert!((d * 127.0 - max).abs() <= 1e-6 * max, "block {i}: scale {d} for max {max}");
            for (v, &k) in block.iter().zip(quants) {
                assert!((v - d * f32::from(k)).abs() <= d / 2.0 * 1.0001, "block {i}: {v} became {k} x {d}");
            }
            let sum: i32 = quants.iter().map(|&k| i32::from(k)).sum();
            assert_eq!(q.sums[i], d * sum as f32);
        }
        assert!(q.quants[40..72].iter().all(|&k| k == 0));
    }

    #[test]
    fn inputs_that_are_not_whole_rows_are_an_error() {
        let mut rng = fastrand::Rng::with_seed(4);
        let (_, packed) = matrix(GgmlDType::Q4_1, 8, 64, &mut rng);
        assert!(matmul_with(Isa::Scalar, &packed, &[0.0; 65]).is_err());
        assert!(matmul_with(Isa::Scalar, &packed, &[]).expect("empty").is_empty());
    }
}
