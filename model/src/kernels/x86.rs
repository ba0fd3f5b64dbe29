//! AVX2 kernels, compiled three times: plain AVX2 (`maddubs` + `madd`), AVX-VNNI and
//! AVX-512 VNNI (`vpdpbusd` on 256-bit registers; with AVX-512VL the compiler also
//! gets 32 vector registers, so the eight unpacked weight rows stay in registers).
//!
//! One call computes a group's eight rows against up to four activation rows at a
//! time: per 32-value block, each row's unsigned-by-signed 8-bit dot product lands in
//! a vector of eight 32-bit lanes, the eight rows' vectors are reduced into one vector
//! (lane r = row r), which is converted once and scaled by `d_w * d_a` in one fused
//! multiply-add. The 4-bit formats' min term `m_w * d_a * Σq_a` is a separate
//! multiply-add per block on the eight rows' mins. 8-bit weights use the sign trick
//! (`|w|` unsigned, the activation's sign flipped where `w < 0`).

macro_rules! x86_kernels {
    ($name:ident, $features:literal, |$w:ident, $a:ident| $dot:expr) => {
        #[doc = concat!("Kernels compiled for `", $features, "`.")]
        pub(crate) mod $name {
            use std::arch::x86_64::*;

            use crate::kernels::activations::QuantizedRows;
            use crate::kernels::pack::{Format, PackedMatrix, BLOCK, GROUP};

            /// Per 32-bit lane, the sum of four `u8 * i8` products.
            #[target_feature(enable = $features)]
            #[inline]
            fn dot($w: __m256i, $a: __m256i) -> __m256i {
                $dot
            }

            /// Eight vectors of eight lanes into one vector: lane r = sum of `v[r]`.
            #[target_feature(enable = $features)]
            #[inline]
            fn reduce(v: &[__m256i; GROUP]) -> __m256i {
                let h01 = _mm256_hadd_epi32(v[0], v[1]);
                let h23 = _mm256_hadd_epi32(v[2], v[3]);
                let h45 = _mm256_hadd_epi32(v[4], v[5]);
                let h67 = _mm256_hadd_epi32(v[6], v[7]);
                // [r0..r3 over lanes 0..4 | r0..r3 over lanes 4..8], same for r4..r7.
                let h0123 = _mm256_hadd_epi32(h01, h23);
                let h4567 = _mm256_hadd_epi32(h45, h67);
                let low = _mm256_permute2x128_si256::<0x20>(h0123, h4567);
                let high = _mm256_permute2x128_si256::<0x31>(h0123, h4567);
                _mm256_add_epi32(low, high)
            }

            /// The eight scales at `slot`, stored as f32 (`SINGLE`) or f16.
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn scales<const SINGLE: bool>(storage: *const u8, slot: usize) -> __m256 {
                // SAFETY: the caller passes a slot whose eight scales are in `storage`.
                unsafe {
                    if SINGLE {
                        _mm256_loadu_ps(storage.cast::<f32>().add(slot))
                    } else {
                        _mm256_cvtph_ps(_mm_loadu_si128(storage.cast::<u16>().add(slot).cast()))
                    }
                }
            }

            /// Group `g` of `m` against activation rows `c0..c0 + T`.
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn tile<const T: usize, const NIBBLES: bool, const SINGLE: bool>(
                m: &PackedMatrix,
                g: usize,
                acts: &QuantizedRows,
                c0: usize,
                out: &mut [f32],
            ) {
                // SAFETY: every pointer offset stays inside the packed matrix (group `g`
                // and block `b` are below its sizes) and the activation rows `c0..c0 + T`.
                unsafe {
                    let nb = m.blocks;
                    let qb = m.format.block_bytes();
                    let quants = m.quants.as_ptr();
                    let a_quants = acts.quants.as_ptr();
                    let low_nibbles = _mm256_set1_epi8(0x0F);
                    let mut acc = [_mm256_setzero_ps(); T];
                    let mut acc_min = [_mm256_setzero_ps(); T];
                    for b in 0..nb {
                        let slot = (g * nb + b) * GROUP;
                        let q = quants.add(slot * qb);
                        // Unsigned weights, and (8-bit format) the signed originals.
                        let mut w = [_mm256_setzero_si256(); GROUP];
                        let mut signs = [_mm256_setzero_si256(); GROUP];
                        for r in 0..GROUP {
                            if NIBBLES {
                                let x = _mm_loadu_si128(q.add(r * 16).cast());
                                w[r] = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16::<4>(x), x), low_nibbles);
                            } else {
                                signs[r] = _mm256_loadu_si256(q.add(r * 32).cast());
                                w[r] = _mm256_abs_epi8(signs[r]);
                            }
                        }
                        let d = scales::<SINGLE>(m.scales.as_ptr(), slot);
                        let mins = if NIBBLES { scales::<SINGLE>(m.mins.as_ptr(), slot) } else { d };
                        for t in 0..T {
                            let row = c0 + t;
                            let a = _mm256_loadu_si256(a_quants.add(row * acts.cols + b * BLOCK).cast());
                            let mut p = [_mm256_setzero_si256(); GROUP];
                            for r in 0..GROUP {
                                p[r] = if NIBBLES { dot(w[r], a) } else { dot(w[r], _mm256_sign_epi8(a, signs[r])) };
                            }
                            let da = _mm256_set1_ps(*acts.scales.get_unchecked(row * nb + b));
                            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(reduce(&p)), _mm256_mul_ps(d, da), acc[t]);
                            if NIBBLES {
                                let sa = _mm256_set1_ps(*acts.sums.get_unchecked(row * nb + b));
                                acc_min[t] = _mm256_fmadd_ps(mins, sa, acc_min[t]);
                            }
                        }
                    }
                    for t in 0..T {
                        let mut lanes = [0f32; GROUP];
                        _mm256_storeu_ps(lanes.as_mut_ptr(), _mm256_add_ps(acc[t], acc_min[t]));
                        for (r, v) in lanes.into_iter().enumerate() {
                            out[r * acts.rows + c0 + t] = v;
                        }
                    }
                }
            }

            /// Products of the eight rows of group `g` with every activation row, into
            /// `out[r * acts.rows + c]`.
            ///
            /// # Safety
            /// The CPU must have the features this module is compiled for, and the
            /// shapes must agree (`acts.cols == m.cols`, `g < m.groups`,
            /// `out.len() >= GROUP * acts.rows`); [`super::super::matmul`] checks both.
            #[target_feature(enable = $features)]
            pub(crate) unsafe fn group(m: &PackedMatrix, g: usize, acts: &QuantizedRows, out: &mut [f32]) {
                let nibbles = m.format == Format::Nibbles;
                let mut c = 0;
                macro_rules! by_rows {
                    ($n:expr, $nibbles:literal, $single:literal) => {
                        match $n {
                            1 => tile::<1, $nibbles, $single>(m, g, acts, c, out),
                            2 => tile::<2, $nibbles, $single>(m, g, acts, c, out),
                            3 => tile::<3, $nibbles, $single>(m, g, acts, c, out),
                            _ => tile::<4, $nibbles, $single>(m, g, acts, c, out),
                        }
                    };
                }
                // SAFETY: the caller guarantees the features and shapes `tile` needs.
                unsafe {
                    while c < acts.rows {
                        let n = (acts.rows - c).min(4);
                        match (nibbles, m.scales.is_single()) {
                            (true, false) => by_rows!(n, true, false),
                            (true, true) => by_rows!(n, true, true),
                            (false, false) => by_rows!(n, false, false),
                            (false, true) => by_rows!(n, false, true),
                        }
                        c += n;
                    }
                }
            }
        }
    };
}

x86_kernels!(avx2, "avx2,fma,f16c", |w, a| _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), _mm256_set1_epi16(1)));
x86_kernels!(avx_vnni, "avx2,fma,f16c,avxvnni", |w, a| _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), w, a));
#[rustfmt::skip]
x86_kernels!(avx512_vnni, "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni", |w, a| _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, a));
