//! x86 kernels: one kernel body, compiled for four instruction sets: AVX2
//! (`maddubs` + `madd`), AVX-VNNI and AVX-512 VNNI on 256-bit registers (eight lanes:
//! a group of sixteen rows in two halves), and AVX-512 VNNI on 512-bit registers
//! (sixteen lanes: a group at once).
//!
//! Per 32-value block and activation row: eight multiply-adds of a quad vector (four
//! values of each lane's row) with four activation bytes broadcast to every lane leave
//! each row's integer dot product in its own lane; the weights' offset (or, for mins,
//! a separate multiply-add) is applied once per block, then one conversion and one
//! fused multiply-add by `d_w * d_a`. A block's quad vectors are unpacked once and
//! used for up to four activation rows.

/// The kernel body, over the primitives each instruction set defines (`V`, `F`,
/// `LANES`, `load`, `and`, `or`, `xor`, `srl16`, `sll16`, `splat8`, `splat32`,
/// `zero`, `dot_u`, `dot8`, `EIGHT_UNSIGNED`, `sub32`, `cvt`, `fmadd`, `mul`,
/// `splatf`, `fzero`, `scales_half`, `scales_single`, `store`).
macro_rules! lane_kernels {
    ($name:ident, $features:literal, { $($primitives:item)* }) => {
        #[doc = concat!("Kernels compiled for `", $features, "`.")]
        pub(crate) mod $name {
            #[allow(unused_imports, reason = "each instruction set uses its own part")]
            use std::arch::x86_64::*;

            use crate::kernels::activations::QuantizedRows;
            use crate::kernels::pack::{Bits, PackedMatrix, Scales, Scheme, GROUP, QUAD, SUPER_BLOCKS};

            $($primitives)*

            /// The weights of one block for the lanes of `half`, unpacked to one byte per
            /// value (8-bit weights made unsigned when `EIGHT_UNSIGNED`).
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn weights<const BITS: u8>(q: *const u8) -> [V; 8] {
                // SAFETY: the caller passes a block of `BITS` bits (its quad vectors and planes).
                unsafe {
                    let mut w = [zero(); 8];
                    if BITS == 8 {
                        for (k, w) in w.iter_mut().enumerate() {
                            *w = load(q.add(k * QUAD));
                            if EIGHT_UNSIGNED {
                                *w = xor(*w, splat8(-128));
                            }
                        }
                        return w;
                    }
                    let low = splat8(0x0F);
                    for k in 0..4 {
                        let n = load(q.add(k * QUAD));
                        w[k] = and(n, low);
                        w[k + 4] = and(srl16(n, 4), low);
                    }
                    for p in 0..(BITS as usize - 4) {
                        let plane = load(q.add((4 + p) * QUAD));
                        let bit = 4 + p as i32;
                        let mask = splat8(1 << bit);
                        for (k, w) in w.iter_mut().enumerate() {
                            let k = k as i32;
                            let moved = if k <= bit { sll16(plane, bit - k) } else { srl16(plane, k - bit) };
                            *w = or(*w, and(moved, mask));
                        }
                    }
                    w
                }
            }

            /// The dot products of quads `from..to` with activation bytes at `a`.
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn dot<const BITS: u8>(w: &[V; 8], a: *const u8, from: usize, to: usize) -> V {
                // SAFETY: `a` points at a block of 32 activation bytes.
                unsafe {
                    let mut s = zero();
                    for k in from..to {
                        let x = splat32(std::ptr::read_unaligned(a.add(4 * k).cast::<i32>()));
                        s = if BITS == 8 && !EIGHT_UNSIGNED { dot8(s, w[k], x) } else { dot_u(s, w[k], x) };
                    }
                    s
                }
            }

            /// Where a matrix's scales (or mins) are: f16 values, or K-quant integer
            /// factors and super-block factors.
            #[derive(Clone, Copy)]
            struct ScalePtrs {
                k: *const u8,
                d: *const f32,
            }

            impl ScalePtrs {
                fn of(scales: &Scales) -> ScalePtrs {
                    match scales {
                        Scales::Half(v) => ScalePtrs { k: v.as_ptr().cast(), d: std::ptr::null() },
                        Scales::Super(s) => ScalePtrs { k: s.k.as_ptr(), d: s.d.as_ptr() },
                    }
                }
            }

            /// The `LANES` scales from index `at`: f16 (`KIND` 0), or `d` at `sup` times
            /// unsigned (1) or signed (2) integer factors.
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn scales<const KIND: u8>(p: ScalePtrs, at: usize, sup: usize) -> F {
                // SAFETY: the caller passes indices whose `LANES` values are stored.
                unsafe {
                    match KIND {
                        0 => scales_half(p.k.cast::<u16>().add(at)),
                        1 => mul(scales_single(p.d.add(sup)), cvt(widen_u8(p.k.add(at)))),
                        _ => mul(scales_single(p.d.add(sup)), cvt(widen_i8(p.k.add(at)))),
                    }
                }
            }

            /// The lanes of `half` of group `g` against activation rows `c0..c0 + T`.
            #[target_feature(enable = $features)]
            #[inline]
            #[allow(clippy::too_many_arguments, reason = "the tile's coordinates, one by one")]
            unsafe fn tile<const T: usize, const BITS: u8, const MIN: bool, const HALVES: bool, const KIND: u8>(
                m: &PackedMatrix,
                g: usize,
                half: usize,
                acts: &QuantizedRows,
                c0: usize,
                out: *mut f32,
                stride: usize,
            ) {
                // SAFETY: every offset stays inside the packed matrix (group `g`, block
                // `b`, lanes of `half`), the activation rows `c0..c0 + T`, and the output
                // rows `c0..c0 + T` of `stride` values from the group's first column.
                unsafe {
                    let nb = m.blocks;
                    let block_bytes = m.bits.block_bytes();
                    let per_block = if HALVES { 2 } else { 1 };
                    let offset = match m.scheme {
                        Scheme::Offset(o) => o + if BITS == 8 && EIGHT_UNSIGNED { 128 } else { 0 },
                        Scheme::Min => 0,
                    };
                    let quants = m.quants.as_ptr().add(half * LANES * 4);
                    let a_quants = acts.quants.as_ptr().cast::<u8>();
                    let (sp, mp) = (ScalePtrs::of(&m.scales), ScalePtrs::of(&m.mins));
                    let lanes = half * LANES;
                    let mut acc = [fzero(); T];
                    for b in 0..nb {
                        let slot = g * nb + b;
                        let sup = (g * nb.div_ceil(SUPER_BLOCKS) + b / SUPER_BLOCKS) * GROUP + lanes;
                        let w = weights::<BITS>(quants.add(slot * block_bytes));
                        let d0 = scales::<KIND>(sp, slot * per_block * GROUP + lanes, sup);
                        let d1 = if HALVES { scales::<KIND>(sp, (slot * 2 + 1) * GROUP + lanes, sup) } else { d0 };
                        let mins = if MIN { scales::<KIND>(mp, slot * GROUP + lanes, sup) } else { d0 };
                        for (t, acc) in acc.iter_mut().enumerate() {
                            let row = c0 + t;
                            let a = a_quants.add(row * acts.cols + b * 32);
                            let i = row * nb + b;
                            let da = splatf(*acts.scales.get_unchecked(i));
                            if HALVES {
                                let lo = sub32(dot::<BITS>(&w, a, 0, 4), splat32(offset * *acts.half_sums.get_unchecked(2 * i)));
                                let hi = sub32(dot::<BITS>(&w, a, 4, 8), splat32(offset * *acts.half_sums.get_unchecked(2 * i + 1)));
                                *acc = fmadd(cvt(lo), mul(d0, da), *acc);
                                *acc = fmadd(cvt(hi), mul(d1, da), *acc);
                            } else {
                                let mut s = dot::<BITS>(&w, a, 0, 8);
                                if offset != 0 {
                                    let sum = *acts.half_sums.get_unchecked(2 * i) + *acts.half_sums.get_unchecked(2 * i + 1);
                                    s = sub32(s, splat32(offset * sum));
                                }
                                *acc = fmadd(cvt(s), mul(d0, da), *acc);
                                if MIN {
                                    *acc = fmadd(mins, splatf(*acts.sums.get_unchecked(i)), *acc);
                                }
                            }
                        }
                    }
                    for (t, acc) in acc.into_iter().enumerate() {
                        store(out.add((c0 + t) * stride + half * LANES), acc);
                    }
                }
            }

            /// Products of group `g` with every activation row `c`, into
            /// `out[c * stride + lane]` (`out` points at the group's first column).
            ///
            /// # Safety
            /// The CPU must have the features this module is compiled for; the shapes must
            /// agree (`acts.cols == m.cols`, `g < m.groups`) and `out` must hold
            /// `acts.rows` rows of `stride` values from the group's column on, `GROUP`
            /// of them this call's alone; [`super::super::matmul`] checks the first two.
            #[target_feature(enable = $features)]
            pub(crate) unsafe fn group(m: &PackedMatrix, g: usize, acts: &QuantizedRows, out: *mut f32, stride: usize) {
                macro_rules! rows {
                    ($bits:literal, $min:literal, $halves:literal, $kind:literal) => {{
                        for half in 0..GROUP / LANES {
                            let mut c = 0;
                            while c < acts.rows {
                                let n = (acts.rows - c).min(4);
                                // SAFETY: the caller guarantees the features and shapes `tile` needs.
                                unsafe {
                                    match n {
                                        1 => tile::<1, $bits, $min, $halves, $kind>(m, g, half, acts, c, out, stride),
                                        2 => tile::<2, $bits, $min, $halves, $kind>(m, g, half, acts, c, out, stride),
                                        3 => tile::<3, $bits, $min, $halves, $kind>(m, g, half, acts, c, out, stride),
                                        _ => tile::<4, $bits, $min, $halves, $kind>(m, g, half, acts, c, out, stride),
                                    }
                                }
                                c += n;
                            }
                        }
                    }};
                }
                let k_quant = matches!(m.scales, Scales::Super(_));
                match (m.bits, m.scheme == Scheme::Min, k_quant) {
                    (Bits::Eight, _, _) => rows!(8, false, false, 0),
                    (Bits::Four, false, _) => rows!(4, false, false, 0),
                    (Bits::Four, true, false) => rows!(4, true, false, 0),
                    (Bits::Four, true, true) => rows!(4, true, false, 1),
                    (Bits::Five, false, _) => rows!(5, false, false, 0),
                    (Bits::Five, true, false) => rows!(5, true, false, 0),
                    (Bits::Five, true, true) => rows!(5, true, false, 1),
                    (Bits::Six, _, _) => rows!(6, false, true, 2),
                }
            }
        }
    };
}

/// The 256-bit primitives shared by the AVX2, AVX-VNNI and AVX-512VL kernels.
macro_rules! ymm_primitives {
    ($features:literal, |$acc:ident, $w:ident, $a:ident| $dot:expr, $unsigned:literal) => {
        type V = __m256i;
        type F = __m256;
        const LANES: usize = 8;
        /// Whether 8-bit weights are made unsigned (XOR 0x80, offset 128) for `dot_u`.
        const EIGHT_UNSIGNED: bool = $unsigned;
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn load(p: *const u8) -> V {
            // SAFETY: the caller passes 32 readable bytes.
            unsafe { _mm256_loadu_si256(p.cast()) }
        }
        #[target_feature(enable = $features)]
        #[inline]
        fn and(a: V, b: V) -> V {
            _mm256_and_si256(a, b)
        }
        #[target_feature(enable = $features)]
        #[inline]
        fn or(a: V, b: V) -> V {
            _mm256_or_si256(a, b)
        }
        #[target_feature(enable = $features)]
        #[inline]
        fn xor(a: V, b: V) -> V {
            _mm256_xor_si256(a, b)
        }
        #[target_feature(enable = $features)]
        #[inline]
        fn srl16(a: V, n: i32) -> V {
            _mm256_srl_epi16(a, _mm_cvtsi32_si128(n))
        }
        #[target_feature(enable = $features)]
        #[inline]
        fn sll16(a: V, n: i32) -> V {
            _mm256_sll_epi16(a, _mm_cvtsi32_si128(n))
        }
        #[target_feature(enable = $features)]
        #[inline]
        fn splat8(x: i8) -> V {
            _mm256_set1_epi8(x)
        }
        #[target_feature(enable = $features)]
        #[inline]
        fn splat32(x: i32) -> V {
            _mm256_set1_epi32(x)
        }
        #[target_feature(enable = $features)]
        #[inline]
        fn zero() -> V {
            _mm256_setzero_si256()
        }
        /// `acc` plus, per 32-bit lane, the sum of four `u8 * i8` products.
        #[target_feature(enable = $features)]
        #[inline]
        fn dot_u($acc: V, $w: V, $a: V) -> V {
            $dot
        }
        /// `acc` plus, per lane, the sum of four `i8 * i8` products (the sign trick:
        /// `|w|` unsigned, the activation's sign flipped where `w < 0`).
        #[target_feature(enable = $features)]
        #[inline]
        fn dot8(acc: V, w: V, a: V) -> V {
            let p = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(a, w));
            _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)))
        }
        #[target_feature(enable = $features)]
        #[inline]
        fn sub32(a: V, b: V) -> V {
            _mm256_sub_epi32(a, b)
        }
        #[target_feature(enable = $features)]
        #[inline]
        fn cvt(a: V) -> F {
            _mm256_cvtepi32_ps(a)
        }
        #[target_feature(enable = $features)]
        #[inline]
        fn fmadd(a: F, b: F, c: F) -> F {
            _mm256_fmadd_ps(a, b, c)
        }
        #[target_feature(enable = $features)]
        #[inline]
        fn mul(a: F, b: F) -> F {
            _mm256_mul_ps(a, b)
        }
        #[target_feature(enable = $features)]
        #[inline]
        fn splatf(x: f32) -> F {
            _mm256_set1_ps(x)
        }
        #[target_feature(enable = $features)]
        #[inline]
        fn fzero() -> F {
            _mm256_setzero_ps()
        }
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn scales_half(p: *const u16) -> F {
            // SAFETY: the caller passes 8 readable f16 values.
            unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p.cast())) }
        }
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn scales_single(p: *const f32) -> F {
            // SAFETY: the caller passes 8 readable f32 values.
            unsafe { _mm256_loadu_ps(p) }
        }
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn store(p: *mut f32, v: F) {
            // SAFETY: the caller passes 8 writable f32 values.
            unsafe { _mm256_storeu_ps(p, v) }
        }
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn widen_u8(p: *const u8) -> V {
            // SAFETY: the caller passes 8 readable bytes.
            unsafe { _mm256_cvtepu8_epi32(_mm_loadl_epi64(p.cast())) }
        }
        #[target_feature(enable = $features)]
        #[inline]
        unsafe fn widen_i8(p: *const u8) -> V {
            // SAFETY: the caller passes 8 readable bytes.
            unsafe { _mm256_cvtepi8_epi32(_mm_loadl_epi64(p.cast())) }
        }
    };
}

lane_kernels!(avx2, "avx2,fma,f16c", {
    ymm_primitives!(
        "avx2,fma,f16c",
        |acc, w, a| _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), _mm256_set1_epi16(1))),
        false
    );
});
lane_kernels!(avx_vnni, "avx2,fma,f16c,avxvnni", {
    ymm_primitives!("avx2,fma,f16c,avxvnni", |acc, w, a| _mm256_dpbusd_avx_epi32(acc, w, a), true);
});
lane_kernels!(avx512_vnni, "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni", {
    ymm_primitives!(
        "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni",
        |acc, w, a| _mm256_dpbusd_epi32(acc, w, a),
        true
    );
});
lane_kernels!(avx512_zmm, "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni", {
    type V = __m512i;
    type F = __m512;
    const LANES: usize = 16;
    /// 8-bit weights are made unsigned (XOR 0x80, offset 128) for `dot_u`.
    const EIGHT_UNSIGNED: bool = true;
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    unsafe fn load(p: *const u8) -> V {
        // SAFETY: the caller passes 64 readable bytes.
        unsafe { _mm512_loadu_si512(p.cast()) }
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    fn and(a: V, b: V) -> V {
        _mm512_and_si512(a, b)
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    fn or(a: V, b: V) -> V {
        _mm512_or_si512(a, b)
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    fn xor(a: V, b: V) -> V {
        _mm512_xor_si512(a, b)
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    fn srl16(a: V, n: i32) -> V {
        _mm512_srl_epi16(a, _mm_cvtsi32_si128(n))
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    fn sll16(a: V, n: i32) -> V {
        _mm512_sll_epi16(a, _mm_cvtsi32_si128(n))
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    fn splat8(x: i8) -> V {
        _mm512_set1_epi8(x)
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    fn splat32(x: i32) -> V {
        _mm512_set1_epi32(x)
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    fn zero() -> V {
        _mm512_setzero_si512()
    }
    /// `acc` plus, per 32-bit lane, the sum of four `u8 * i8` products.
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    fn dot_u(acc: V, w: V, a: V) -> V {
        _mm512_dpbusd_epi32(acc, w, a)
    }
    /// Unused: 8-bit weights are made unsigned.
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    fn dot8(acc: V, w: V, a: V) -> V {
        _mm512_dpbusd_epi32(acc, xor(w, splat8(-128)), a)
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    fn sub32(a: V, b: V) -> V {
        _mm512_sub_epi32(a, b)
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    fn cvt(a: V) -> F {
        _mm512_cvtepi32_ps(a)
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    fn fmadd(a: F, b: F, c: F) -> F {
        _mm512_fmadd_ps(a, b, c)
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    fn mul(a: F, b: F) -> F {
        _mm512_mul_ps(a, b)
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    fn splatf(x: f32) -> F {
        _mm512_set1_ps(x)
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    fn fzero() -> F {
        _mm512_setzero_ps()
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    unsafe fn scales_half(p: *const u16) -> F {
        // SAFETY: the caller passes 16 readable f16 values.
        unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(p.cast())) }
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    unsafe fn scales_single(p: *const f32) -> F {
        // SAFETY: the caller passes 16 readable f32 values.
        unsafe { _mm512_loadu_ps(p) }
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    unsafe fn store(p: *mut f32, v: F) {
        // SAFETY: the caller passes 16 writable f32 values.
        unsafe { _mm512_storeu_ps(p, v) }
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    unsafe fn widen_u8(p: *const u8) -> V {
        // SAFETY: the caller passes 16 readable bytes.
        unsafe { _mm512_cvtepu8_epi32(_mm_loadu_si128(p.cast())) }
    }
    #[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
    #[inline]
    unsafe fn widen_i8(p: *const u8) -> V {
        // SAFETY: the caller passes 16 readable bytes.
        unsafe { _mm512_cvtepi8_epi32(_mm_loadu_si128(p.cast())) }
    }
});
