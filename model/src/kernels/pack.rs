//! Repacking GGUF weight blocks, once at load, into the layout the kernels read.
//!
//! Rows are interleaved in groups of [`GROUP`] (16: one AVX-512 register of 32-bit
//! lanes, or two AVX2 ones). For each group and each 32-value block, "quads" of four
//! consecutive values of the sixteen rows lie side by side (lane r = row r), so one
//! multiply-add of a quad with four activation bytes broadcast to every lane adds four
//! products to each row's sum: no horizontal reduction, and each output is one lane.
//!
//! Every format becomes unsigned quants `q` with per-block (Q6_K: per half-block)
//! scales, and either an integer offset (`value = d * (q - offset)`: Q4_0, Q5_0,
//! Q6_K) or a min (`value = d * q + m`: Q4_1, Q5_1, Q4_K, Q5_K); Q8_0 keeps its signed
//! bytes. Quants of 4 to 6 bits are stored as nibbles plus one bit plane per extra
//! bit, so a decode step reads no more bytes than the file holds.

use candle_core::quantized::GgmlDType;
use half::f16;

/// Rows interleaved together (one 32-bit lane each).
pub(crate) const GROUP: usize = 16;
/// Values per block.
pub(crate) const BLOCK: usize = 32;
/// Bytes of one quad vector: four values of each of the group's rows.
pub(crate) const QUAD: usize = 4 * GROUP;

/// How a block's quants are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bits {
    /// 4 bits: four nibble vectors (low nibbles quads 0..4, high nibbles quads 4..8).
    Four,
    /// 5 bits: the nibbles and one bit plane.
    Five,
    /// 6 bits: the nibbles and two bit planes.
    Six,
    /// Signed 8-bit values: eight quad vectors.
    Eight,
}

impl Bits {
    /// Bytes of one block of a group.
    pub(crate) fn block_bytes(self) -> usize {
        match self {
            Bits::Four => 4 * QUAD,
            Bits::Five => 5 * QUAD,
            Bits::Six => 6 * QUAD,
            Bits::Eight => 8 * QUAD,
        }
    }

    /// Bit planes after the nibbles.
    pub(crate) fn planes(self) -> usize {
        match self {
            Bits::Four | Bits::Eight => 0,
            Bits::Five => 1,
            Bits::Six => 2,
        }
    }
}

/// How quants become values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `value = d * (q - offset)` (Q8_0: signed `q`, offset 0).
    Offset(i32),
    /// `value = d * q + m`.
    Min,
}

/// Scales or mins, indexed by `i = (slot * per_block + half) * GROUP + lane` where
/// `slot = group * blocks + block` (two halves per block for Q6_K, else one).
pub(crate) enum Scales {
    /// f16 bits, as Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 store them.
    Half(Vec<u16>),
    /// The K-quants' two factors, kept apart so they take the bytes the file gives them.
    Super(SuperScales),
}

/// A K-quant scale `d * k`: a small integer `k` per (slot, half, lane) and an f32 `d`
/// per (256-value super-block, lane), multiplied as the file's readers multiply them.
pub(crate) struct SuperScales {
    /// The integer factors (as bytes; signed for Q6_K).
    pub(crate) k: Vec<u8>,
    /// Whether `k` holds signed values.
    pub(crate) signed: bool,
    /// The super-block factors, by (group, super-block, lane).
    pub(crate) d: Vec<f32>,
    /// Blocks per row.
    blocks: usize,
    /// Scales per block.
    per_block: usize,
}

/// 32-value blocks per K-quant super-block.
pub(crate) const SUPER_BLOCKS: usize = 8;

impl SuperScales {
    /// Index into `d` of the super-block factor for group `g`, block `b`, lane 0.
    pub(crate) fn super_at(&self, g: usize, b: usize) -> usize {
        (g * self.blocks.div_ceil(SUPER_BLOCKS) + b / SUPER_BLOCKS) * GROUP
    }

    fn get(&self, i: usize) -> f32 {
        let lane = i % GROUP;
        let slot = i / GROUP / self.per_block;
        let k = if self.signed { f32::from(self.k[i] as i8) } else { f32::from(self.k[i]) };
        self.d[self.super_at(slot / self.blocks, slot % self.blocks) + lane] * k
    }
}

impl Scales {
    /// Scale `i` as f32.
    pub(crate) fn get(&self, i: usize) -> f32 {
        match self {
            Scales::Half(v) => f16::from_bits(v[i]).to_f32(),
            Scales::Super(s) => s.get(i),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Scales::Half(v) => 2 * v.len(),
            Scales::Super(s) => s.k.len() + 4 * s.d.len(),
        }
    }

    /// Stores scale `i` of group `g`, block `b`.
    fn set(&mut self, i: usize, g: usize, b: usize, value: Scale) {
        match (self, value) {
            (Scales::Half(v), Scale::Half(x)) => v[i] = x,
            (Scales::Super(s), Scale::Super(d, k)) => {
                s.k[i] = k as u8;
                let at = s.super_at(g, b) + i % GROUP;
                s.d[at] = d;
            }
            // Each format's reader gives the one kind its matrix stores.
            (Scales::Half(_), Scale::Super(..)) | (Scales::Super(_), Scale::Half(_)) => {}
        }
    }
}

/// One scale as the source stores it.
#[derive(Clone, Copy)]
enum Scale {
    /// f16 bits.
    Half(u16),
    /// A K-quant super-block factor and a sub-block's integer factor.
    Super(f32, i32),
}

/// A weight matrix `[rows, cols]` in the kernels' layout.
pub struct PackedMatrix {
    pub(crate) bits: Bits,
    pub(crate) scheme: Scheme,
    /// Two scales per block, one per 16 values (Q6_K).
    pub(crate) half_scales: bool,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    /// Row groups (`rows` rounded up to [`GROUP`]; padding rows are zero).
    pub(crate) groups: usize,
    /// Blocks per row.
    pub(crate) blocks: usize,
    /// Quants, by (group, block).
    pub(crate) quants: Vec<u8>,
    /// Scales `d`.
    pub(crate) scales: Scales,
    /// Mins `m` (empty for [`Scheme::Offset`]).
    pub(crate) mins: Scales,
    /// The file's format.
    pub(crate) dtype: GgmlDType,
}

/// A 32-value sub-block read from a source block: its quants and scales.
struct Sub {
    q: [u8; BLOCK],
    /// One scale, or two (values 0..16 and 16..32).
    d: [Scale; 2],
    m: Option<Scale>,
}

/// The layout facts of a source format.
struct Source {
    bits: Bits,
    scheme: Scheme,
    half_scales: bool,
    /// K-quant scales ([`Scales::Super`]; signed when `half_scales`: Q6_K).
    single: bool,
    block_bytes: usize,
    block_values: usize,
}

fn source(dtype: GgmlDType) -> Option<Source> {
    let s = |bits, scheme, half_scales, single, block_bytes, block_values| {
        Some(Source { bits, scheme, half_scales, single, block_bytes, block_values })
    };
    match dtype {
        GgmlDType::Q4_0 => s(Bits::Four, Scheme::Offset(8), false, false, 18, 32),
        GgmlDType::Q4_1 => s(Bits::Four, Scheme::Min, false, false, 20, 32),
        GgmlDType::Q5_0 => s(Bits::Five, Scheme::Offset(16), false, false, 22, 32),
        GgmlDType::Q5_1 => s(Bits::Five, Scheme::Min, false, false, 24, 32),
        GgmlDType::Q8_0 => s(Bits::Eight, Scheme::Offset(0), false, false, 34, 32),
        GgmlDType::Q4K => s(Bits::Four, Scheme::Min, false, true, 144, 256),
        GgmlDType::Q5K => s(Bits::Five, Scheme::Min, false, true, 176, 256),
        GgmlDType::Q6K => s(Bits::Six, Scheme::Offset(32), true, true, 210, 256),
        _ => None,
    }
}

impl PackedMatrix {
    /// Repacks `data` (GGUF blocks of `dtype`, `rows * cols` values, row-major).
    /// `None` when the kernels do not handle `dtype` or `cols` is not a whole
    /// number of blocks.
    pub(crate) fn pack(dtype: GgmlDType, data: &[u8], rows: usize, cols: usize) -> Option<PackedMatrix> {
        let src = source(dtype)?;
        if cols == 0
            || !cols.is_multiple_of(src.block_values)
            || data.len() != rows * cols / src.block_values * src.block_bytes
        {
            return None;
        }
        let blocks = cols / BLOCK;
        let groups = rows.div_ceil(GROUP);
        let per_block = if src.half_scales { 2 } else { 1 };
        let zeros = |n: usize, per_block: usize| {
            if src.single {
                let d = vec![0.0; groups * blocks.div_ceil(SUPER_BLOCKS) * GROUP];
                Scales::Super(SuperScales { k: vec![0; n], signed: src.half_scales, d, blocks, per_block })
            } else {
                Scales::Half(vec![0; n])
            }
        };
        let mut packed = PackedMatrix {
            bits: src.bits,
            scheme: src.scheme,
            half_scales: src.half_scales,
            rows,
            cols,
            groups,
            blocks,
            quants: vec![0; groups * blocks * src.bits.block_bytes()],
            scales: zeros(groups * blocks * per_block * GROUP, per_block),
            mins: zeros(if src.scheme == Scheme::Min { groups * blocks * GROUP } else { 0 }, 1),
            dtype,
        };
        let row_bytes = cols / src.block_values * src.block_bytes;
        for (r, row) in data.chunks_exact(row_bytes).enumerate() {
            for (s, block) in row.chunks_exact(src.block_bytes).enumerate() {
                for sub in 0..src.block_values / BLOCK {
                    let b = s * src.block_values / BLOCK + sub;
                    packed.put(r, b, &read_sub(dtype, block, sub));
                }
            }
        }
        Some(packed)
    }

    /// Writes one sub-block of row `r` at block `b`.
    fn put(&mut self, r: usize, b: usize, sub: &Sub) {
        let (g, lane) = (r / GROUP, r % GROUP);
        let slot = g * self.blocks + b;
        let base = slot * self.bits.block_bytes();
        let quants = &mut self.quants[base..base + self.bits.block_bytes()];
        for (v, &q) in sub.q.iter().enumerate() {
            let (quad, j) = (v / 4, v % 4);
            if self.bits == Bits::Eight {
                quants[quad * QUAD + lane * 4 + j] = q;
                continue;
            }
            // Nibbles: quads 0..4 low, 4..8 high, of nibble vectors 0..4.
            let at = (quad % 4) * QUAD + lane * 4 + j;
            let shift = if quad < 4 { 0 } else { 4 };
            quants[at] |= (q & 0x0F) << shift;
            for p in 0..self.bits.planes() {
                if (q >> (4 + p)) & 1 == 1 {
                    quants[(4 + p) * QUAD + lane * 4 + j] |= 1 << quad;
                }
            }
        }
        let per_block = if self.half_scales { 2 } else { 1 };
        for h in 0..per_block {
            self.scales.set((slot * per_block + h) * GROUP + lane, g, b, sub.d[h]);
        }
        if let Some(m) = sub.m {
            self.mins.set(slot * GROUP + lane, g, b, m);
        }
    }

    /// Rows of the matrix (outputs per input row).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns of the matrix (values per input row).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.quants.len() + self.scales.bytes() + self.mins.bytes()
    }

    /// The file format it was packed from.
    pub fn dtype(&self) -> GgmlDType {
        self.dtype
    }

    /// The unsigned (or, 8-bit, signed) quant of row `lane` of a group at value `v` of a block.
    pub(crate) fn quant(&self, block: &[u8], lane: usize, v: usize) -> i32 {
        let (quad, j) = (v / 4, v % 4);
        if self.bits == Bits::Eight {
            return i32::from(block[quad * QUAD + lane * 4 + j] as i8);
        }
        let byte = block[(quad % 4) * QUAD + lane * 4 + j];
        let mut q = i32::from(if quad < 4 { byte & 0x0F } else { byte >> 4 });
        for p in 0..self.bits.planes() {
            q |= i32::from((block[(4 + p) * QUAD + lane * 4 + j] >> quad) & 1) << (4 + p);
        }
        q
    }

    /// Row `r`, dequantized into `out` (`cols` values).
    pub(crate) fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        let (g, lane) = (r / GROUP, r % GROUP);
        let per_block = if self.half_scales { 2 } else { 1 };
        for (b, dst) in out.chunks_exact_mut(BLOCK).take(self.blocks).enumerate() {
            let slot = g * self.blocks + b;
            let block = &self.quants[slot * self.bits.block_bytes()..(slot + 1) * self.bits.block_bytes()];
            for (v, value) in dst.iter_mut().enumerate() {
                let h = if self.half_scales { v / 16 } else { 0 };
                let d = self.scales.get((slot * per_block + h) * GROUP + lane);
                let q = self.quant(block, lane, v);
                *value = match self.scheme {
                    Scheme::Offset(o) => d * (q - o) as f32,
                    Scheme::Min => d * q as f32 + self.mins.get(slot * GROUP + lane),
                };
            }
        }
    }
}

/// Sub-block `sub` (32 values) of one source block, as unsigned quants (Q8_0: its
/// signed bytes) and scales.
fn read_sub(dtype: GgmlDType, block: &[u8], sub: usize) -> Sub {
    let half = |i: usize| u16::from_le_bytes([block[i], block[i + 1]]);
    let f = |i: usize| f16::from_bits(half(i)).to_f32();
    let mut q = [0u8; BLOCK];
    // The 4-bit formats: value j low nibble of byte j, value j + 16 its high nibble.
    let nibbles = |q: &mut [u8; BLOCK], bytes: &[u8]| {
        for j in 0..16 {
            q[j] = bytes[j] & 0x0F;
            q[j + 16] = bytes[j] >> 4;
        }
    };
    let high_bits = |q: &mut [u8; BLOCK], qh: u32| {
        for (j, v) in q.iter_mut().enumerate() {
            *v |= (((qh >> j) & 1) as u8) << 4;
        }
    };
    match dtype {
        GgmlDType::Q4_0 => {
            nibbles(&mut q, &block[2..18]);
            Sub { q, d: [Scale::Half(half(0)); 2], m: None }
        }
        GgmlDType::Q4_1 => {
            nibbles(&mut q, &block[4..20]);
            Sub { q, d: [Scale::Half(half(0)); 2], m: Some(Scale::Half(half(2))) }
        }
        GgmlDType::Q5_0 => {
            nibbles(&mut q, &block[6..22]);
            high_bits(&mut q, u32::from_le_bytes([block[2], block[3], block[4], block[5]]));
            Sub { q, d: [Scale::Half(half(0)); 2], m: None }
        }
        GgmlDType::Q5_1 => {
            nibbles(&mut q, &block[8..24]);
            high_bits(&mut q, u32::from_le_bytes([block[4], block[5], block[6], block[7]]));
            Sub { q, d: [Scale::Half(half(0)); 2], m: Some(Scale::Half(half(2))) }
        }
        GgmlDType::Q4K | GgmlDType::Q5K => {
            // d, dmin, 12 bytes of 6-bit sub-block scales and mins, (Q5_K: 32 bytes of
            // high bits, bit j for sub-block j), 128 bytes of nibbles: each 32 bytes
            // hold sub-block 2i in their low nibbles, 2i + 1 in the high.
            let (d, dmin) = (f(0), f(2));
            let (sc, m) = k_scale_min(&block[4..16], sub);
            let ql = if dtype == GgmlDType::Q5K { 48 } else { 16 };
            let bytes = &block[ql + 32 * (sub / 2)..ql + 32 * (sub / 2) + 32];
            for (l, v) in q.iter_mut().enumerate() {
                *v = if sub.is_multiple_of(2) { bytes[l] & 0x0F } else { bytes[l] >> 4 };
                if dtype == GgmlDType::Q5K {
                    *v |= ((block[16 + l] >> sub) & 1) << 4;
                }
            }
            let scale = Scale::Super(d, i32::from(sc));
            Sub { q, d: [scale; 2], m: Some(Scale::Super(-dmin, i32::from(m))) }
        }
        GgmlDType::Q6K => {
            // ql[128], qh[64], scales[16] (i8), d. Values 128n + 32s + l come from
            // ql[64n + l (+32 for s odd)] (low nibble for s < 2), qh[32n + l] bits 2s..2s+2,
            // scale sc[8n + 2s + l / 16].
            let d = f(208);
            let (n, s) = (sub / 4, sub % 4);
            for (l, v) in q.iter_mut().enumerate() {
                let low = block[64 * n + l + if s % 2 == 1 { 32 } else { 0 }];
                let nibble = if s < 2 { low & 0x0F } else { low >> 4 };
                let high = (block[128 + 32 * n + l] >> (2 * s)) & 3;
                *v = nibble | (high << 4);
            }
            let sc = |i: usize| Scale::Super(d, i32::from(block[192 + 8 * n + 2 * s + i] as i8));
            Sub { q, d: [sc(0), sc(1)], m: None }
        }
        _ => {
            // Q8_0: d, then 32 signed bytes.
            q.copy_from_slice(&block[2..34]);
            Sub { q, d: [Scale::Half(half(0)); 2], m: None }
        }
    }
}

/// The K-quants' 6-bit scale and min of sub-block `j` (0..8), packed in 12 bytes.
fn k_scale_min(packed: &[u8], j: usize) -> (u8, u8) {
    if j < 4 {
        (packed[j] & 63, packed[j + 4] & 63)
    } else {
        ((packed[j + 4] & 0x0F) | ((packed[j - 4] >> 6) << 4), (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4))
    }
}
