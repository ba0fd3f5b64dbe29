//! GELU (tanh form) as llama.cpp computes it on the CPU, where GGUF files are made and
//! checked: inputs between -10 and 10 are rounded to f16 and looked up in a table of
//! `gelu` of every f16, rounded to f16; above 10 the input itself, below -10 zero.
//! The rounding is far below the activations' 8-bit quantization, but near-tied tokens
//! follow it; and a table lookup is also several times faster than `tanh`.

use candle_core::{Result as CResult, Tensor};
use half::f16;
use rayon::prelude::*;

/// Values per parallel chunk (below this, one thread does it all).
const CHUNK: usize = 16 * 1024;

/// `gelu(f16(x))` rounded to f16, for every f16 bit pattern `x`.
fn table() -> &'static [f16] {
    static TABLE: std::sync::OnceLock<Vec<f16>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=u16::MAX)
            .map(|bits| {
                let x = f16::from_bits(bits).to_f32();
                f16::from_f32(0.5 * x * (1.0 + (0.797_884_6 * x * (1.0 + 0.044_715 * x * x)).tanh()))
            })
            .collect()
    })
}

fn gelu_one(table: &[f16], x: f32) -> f32 {
    if x <= -10.0 {
        0.0
    } else if x >= 10.0 {
        x
    } else {
        table[usize::from(f16::from_f32(x).to_bits())].to_f32()
    }
}

/// `gelu(x) * gate` element by element (`gate` absent: `gelu(x)`), for tensors of the
/// same shape; candle's GELU on devices other than the CPU.
pub(crate) fn gelu_times(x: &Tensor, gate: Option<&Tensor>) -> CResult<Tensor> {
    if !x.device().is_cpu() {
        return match gate {
            Some(g) => x.gelu()? * g,
            None => x.gelu(),
        };
    }
    let table = table();
    let mut values: Vec<f32> = x.flatten_all()?.to_vec1::<f32>()?;
    let gates: Option<Vec<f32>> = gate.map(|g| g.flatten_all()?.to_vec1::<f32>()).transpose()?;
    if gates.as_ref().is_some_and(|g| g.len() != values.len()) {
        candle_core::bail!("gelu: a gate of another shape");
    }
    let run = |(i, chunk): (usize, &mut [f32])| {
        let g = gates.as_deref().map(|g| &g[i * CHUNK..i * CHUNK + chunk.len()]);
        for (j, v) in chunk.iter_mut().enumerate() {
            *v = gelu_one(table, *v) * g.map_or(1.0, |g| g[j]);
        }
    };
    if values.len() > CHUNK {
        values.par_chunks_mut(CHUNK).enumerate().for_each(run);
    } else {
        run((0, &mut values));
    }
    Tensor::from_vec(values, x.shape(), x.device())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_agrees_with_gelu_to_f16_precision() {
        let table = table();
        for i in -2000..=2000 {
            let x = i as f32 * 0.005;
            let exact = 0.5 * x * (1.0 + (0.797_884_6 * x * (1.0 + 0.044_715 * x * x)).tanh());
            let got = gelu_one(table, x);
            assert!((got - exact).abs() <= 2e-3 * exact.abs().max(0.05), "gelu({x}) = {got}, want {exact}");
        }
        assert_eq!((gelu_one(table, -11.0), gelu_one(table, 12.5)), (0.0, 12.5));
    }
}
