//! The portable kernel: the same integer arithmetic as the SIMD kernels, one value
//! at a time. It is the fallback on CPUs without AVX2 and the tests' reference.

use super::activations::QuantizedRows;
use super::pack::{Format, PackedMatrix, BLOCK, GROUP};

/// Products of the eight rows of group `g` with every activation row, into
/// `out[r * acts.rows + c]`.
pub(crate) fn group(m: &PackedMatrix, g: usize, acts: &QuantizedRows, out: &mut [f32]) {
    let qb = m.format.block_bytes();
    for c in 0..acts.rows {
        let a_row = &acts.quants[c * acts.cols..(c + 1) * acts.cols];
        for r in 0..GROUP {
            let mut acc = 0f32;
            for b in 0..m.blocks {
                let slot = (g * m.blocks + b) * GROUP + r;
                let q = &m.quants[slot * qb..(slot + 1) * qb];
                let a = &a_row[b * BLOCK..(b + 1) * BLOCK];
                let dot: i32 = match m.format {
                    Format::Nibbles => (0..BLOCK / 2)
                        .map(|j| {
                            i32::from(q[j] & 0x0F) * i32::from(a[j])
                                + i32::from(q[j] >> 4) * i32::from(a[j + BLOCK / 2])
                        })
                        .sum(),
                    Format::Bytes => q.iter().zip(a).map(|(&w, &x)| i32::from(w as i8) * i32::from(x)).sum(),
                };
                let (d, da) = (m.scales.get(slot), acts.scales[c * acts.blocks + b]);
                acc += d * da * dot as f32;
                if m.format == Format::Nibbles {
                    acc += m.mins.get(slot) * acts.sums[c * acts.blocks + b];
                }
            }
            out[r * acts.rows + c] = acc;
        }
    }
}
