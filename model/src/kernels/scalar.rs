//! The portable kernel: the same integer arithmetic as the SIMD kernels, one value
//! at a time. It is the fallback on CPUs without AVX2 and the tests' reference.

use super::activations::QuantizedRows;
use super::pack::{PackedMatrix, Scheme, GROUP};

/// Products of the rows of group `g` with every activation row `c`, into
/// `out[c * stride + lane]` (`out` starts at the group's first column).
pub(crate) fn group(m: &PackedMatrix, g: usize, acts: &QuantizedRows, out: &mut [f32], stride: usize) {
    let bytes = m.bits.block_bytes();
    let per_block = if m.half_scales { 2 } else { 1 };
    for c in 0..acts.rows {
        let a_row = &acts.quants[c * acts.cols..(c + 1) * acts.cols];
        for lane in 0..GROUP {
            let mut acc = 0f32;
            for b in 0..m.blocks {
                let slot = g * m.blocks + b;
                let block = &m.quants[slot * bytes..(slot + 1) * bytes];
                let da = acts.scales[c * acts.blocks + b];
                for h in 0..per_block {
                    let values = if m.half_scales { h * 16..(h + 1) * 16 } else { 0..32 };
                    let mut dot: i32 =
                        values.clone().map(|v| m.quant(block, lane, v) * i32::from(a_row[b * 32 + v])).sum();
                    if let Scheme::Offset(offset) = m.scheme {
                        let sum = if m.half_scales {
                            acts.half_sums[2 * (c * acts.blocks + b) + h]
                        } else {
                            acts.block_sum(c, b)
                        };
                        dot -= offset * sum;
                    }
                    acc += m.scales.get((slot * per_block + h) * GROUP + lane) * da * dot as f32;
                }
                if m.scheme == Scheme::Min {
                    acc += m.mins.get(slot * GROUP + lane) * acts.sums[c * acts.blocks + b];
                }
            }
            out[c * stride + lane] = acc;
        }
    }
}
