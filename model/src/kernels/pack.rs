//! Repacking GGUF weight blocks, once at load, into the layout the kernels read.
//!
//! Rows are interleaved in groups of [`GROUP`]: for each group and each 32-value
//! block, the eight rows' quants lie side by side, then their eight scales (and
//! mins), so one vector load brings all eight scales and the kernel reduces eight
//! rows' dot products into one register. Q4_0 becomes the Q4_1 form (`m = -8d`,
//! exact in f16), and Q4_K's 32-value sub-blocks become the same form with f32
//! scales (`d * sc` and `-dmin * m`, exact in f32), so one kernel serves all three.

use candle_core::quantized::GgmlDType;
use half::f16;

/// Rows interleaved together.
pub(crate) const GROUP: usize = 8;
/// Values per quantization block.
pub(crate) const BLOCK: usize = 32;

/// How one row-block's values are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// Unsigned 4-bit values `q` (16 bytes per block: low nibbles are values 0..16,
    /// high nibbles 16..32), value = `d * q + m`.
    Nibbles,
    /// Signed 8-bit values (32 bytes per block), value = `d * q`.
    Bytes,
}

impl Format {
    /// Bytes of quants per row-block.
    pub(crate) fn block_bytes(self) -> usize {
        match self {
            Format::Nibbles => BLOCK / 2,
            Format::Bytes => BLOCK,
        }
    }
}

/// Per-block scales (or mins), indexed by (group, block, row in group).
pub(crate) enum Scales {
    /// f16 bits, as Q4_0, Q4_1 and Q8_0 store them.
    Half(Vec<u16>),
    /// f32, for scales that are products of two stored factors (Q4_K).
    Single(Vec<f32>),
}

impl Scales {
    fn zeros(single: bool, n: usize) -> Scales {
        if single { Scales::Single(vec![0.0; n]) } else { Scales::Half(vec![0; n]) }
    }

    fn set(&mut self, i: usize, value: Scale) {
        match (self, value) {
            (Scales::Half(v), Scale::Half(x)) => v[i] = x,
            (Scales::Single(v), Scale::Single(x)) => v[i] = x,
            (Scales::Single(v), Scale::Half(x)) => v[i] = f16::from_bits(x).to_f32(),
            (Scales::Half(v), Scale::Single(x)) => v[i] = f16::from_f32(x).to_bits(),
        }
    }

    /// Scale `i` as f32.
    pub(crate) fn get(&self, i: usize) -> f32 {
        match self {
            Scales::Half(v) => f16::from_bits(v[i]).to_f32(),
            Scales::Single(v) => v[i],
        }
    }

    /// Whether scales are f32.
    pub(crate) fn is_single(&self) -> bool {
        matches!(self, Scales::Single(_))
    }

    /// Start of the storage, for the SIMD kernels.
    pub(crate) fn as_ptr(&self) -> *const u8 {
        match self {
            Scales::Half(v) => v.as_ptr().cast(),
            Scales::Single(v) => v.as_ptr().cast(),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Scales::Half(v) => 2 * v.len(),
            Scales::Single(v) => 4 * v.len(),
        }
    }
}

/// One scale read from a source block.
#[derive(Clone, Copy)]
enum Scale {
    Half(u16),
    Single(f32),
}

/// A weight matrix `[rows, cols]` in the kernels' layout.
pub struct PackedMatrix {
    pub(crate) format: Format,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    /// Row groups (`rows` rounded up to [`GROUP`]; padding rows are zero).
    pub(crate) groups: usize,
    /// Blocks per row.
    pub(crate) blocks: usize,
    /// Quants, indexed by (group, block, row in group).
    pub(crate) quants: Vec<u8>,
    /// Scales `d`.
    pub(crate) scales: Scales,
    /// Mins `m` (empty for [`Format::Bytes`]).
    pub(crate) mins: Scales,
}

impl PackedMatrix {
    /// Repacks `data` (GGUF blocks of `dtype`, `rows * cols` values, row-major).
    /// `None` when the kernels do not handle `dtype` or `cols` is not a whole
    /// number of blocks.
    pub(crate) fn pack(dtype: GgmlDType, data: &[u8], rows: usize, cols: usize) -> Option<PackedMatrix> {
        let (format, single, src_block, src_values) = match dtype {
            GgmlDType::Q4_0 => (Format::Nibbles, false, 18, BLOCK),
            GgmlDType::Q4_1 => (Format::Nibbles, false, 20, BLOCK),
            GgmlDType::Q4K => (Format::Nibbles, true, 144, 256),
            GgmlDType::Q8_0 => (Format::Bytes, false, 34, BLOCK),
            _ => return None,
        };
        if cols == 0 || !cols.is_multiple_of(src_values) || data.len() != rows * cols / src_values * src_block {
            return None;
        }
        let blocks = cols / BLOCK;
        let groups = rows.div_ceil(GROUP);
        let slots = groups * blocks * GROUP;
        let qb = format.block_bytes();
        let mut packed = PackedMatrix {
            format,
            rows,
            cols,
            groups,
            blocks,
            quants: vec![0; slots * qb],
            scales: Scales::zeros(single, slots),
            mins: Scales::zeros(single, if format == Format::Nibbles { slots } else { 0 }),
        };
        let mut quants = [0u8; BLOCK];
        for (r, row) in data.chunks_exact(cols / src_values * src_block).enumerate() {
            for (s, source) in row.chunks_exact(src_block).enumerate() {
                for sub in 0..src_values / BLOCK {
                    let slot = ((r / GROUP) * blocks + s * src_values / BLOCK + sub) * GROUP + r % GROUP;
                    let (d, m) = read_block(dtype, source, sub, &mut quants[..qb]);
                    packed.scales.set(slot, d);
                    if let Some(m) = m {
                        packed.mins.set(slot, m);
                    }
                    packed.quants[slot * qb..(slot + 1) * qb].copy_from_slice(&quants[..qb]);
                }
            }
        }
        Some(packed)
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

    /// Row `r`, dequantized into `out` (`cols` values).
    pub(crate) fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        let qb = self.format.block_bytes();
        for (b, dst) in out.chunks_exact_mut(BLOCK).take(self.blocks).enumerate() {
            let slot = ((r / GROUP) * self.blocks + b) * GROUP + r % GROUP;
            let d = self.scales.get(slot);
            let q = &self.quants[slot * qb..(slot + 1) * qb];
            match self.format {
                Format::Nibbles => {
                    let m = self.mins.get(slot);
                    for j in 0..BLOCK / 2 {
                        dst[j] = d * f32::from(q[j] & 0x0F) + m;
                        dst[j + BLOCK / 2] = d * f32::from(q[j] >> 4) + m;
                    }
                }
                Format::Bytes => {
                    for (v, &x) in dst.iter_mut().zip(q) {
                        *v = d * f32::from(x as i8);
                    }
                }
            }
        }
    }
}

/// Sub-block `sub` (32 values) of one source block, in our form: its scale, its min
/// (4-bit formats) and its quants written to `quants` (16 nibble bytes or 32 bytes).
fn read_block(dtype: GgmlDType, block: &[u8], sub: usize, quants: &mut [u8]) -> (Scale, Option<Scale>) {
    let half = |i: usize| u16::from_le_bytes([block[i], block[i + 1]]);
    match dtype {
        GgmlDType::Q4_0 => {
            quants.copy_from_slice(&block[2..18]);
            let m = f16::from_f32(-8.0 * f16::from_bits(half(0)).to_f32()).to_bits();
            (Scale::Half(half(0)), Some(Scale::Half(m)))
        }
        GgmlDType::Q4_1 => {
            quants.copy_from_slice(&block[4..20]);
            (Scale::Half(half(0)), Some(Scale::Half(half(2))))
        }
        GgmlDType::Q4K => {
            // d, dmin, 12 bytes of 6-bit sub-block scales and mins, 128 bytes of quants:
            // each 32 bytes hold sub-block 2j in their low nibbles, 2j+1 in the high.
            let (d, dmin) = (f16::from_bits(half(0)).to_f32(), f16::from_bits(half(2)).to_f32());
            let (sc, m) = q4k_scale_min(&block[4..16], sub);
            let q = &block[16 + 32 * (sub / 2)..16 + 32 * (sub / 2) + 32];
            let nibble = |l: usize| if sub.is_multiple_of(2) { q[l] & 0x0F } else { q[l] >> 4 };
            for (k, byte) in quants.iter_mut().enumerate() {
                *byte = nibble(k) | (nibble(k + 16) << 4);
            }
            (Scale::Single(d * f32::from(sc)), Some(Scale::Single(-(dmin * f32::from(m)))))
        }
        _ => {
            quants.copy_from_slice(&block[2..34]);
            (Scale::Half(half(0)), None)
        }
    }
}

/// Q4_K's 6-bit scale and min of sub-block `j` (0..8), packed in 12 bytes.
fn q4k_scale_min(packed: &[u8], j: usize) -> (u8, u8) {
    if j < 4 {
        (packed[j] & 63, packed[j + 4] & 63)
    } else {
        ((packed[j + 4] & 0x0F) | ((packed[j - 4] >> 6) << 4), (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4))
    }
}
