//! Rotary position tables: `cos` and `sin` of position x frequency for one RoPE base,
//! position scale and (Llama 3.x) per-frequency divisors, as tensors for the GPU path
//! and as plain rows for the CPU path.

use candle_core::{Device, Result as CResult, Tensor};

/// The tables of one rotation.
pub(crate) struct Rope {
    /// `[positions, head_dim / 2]`.
    pub(crate) cos: Tensor,
    /// `[positions, head_dim / 2]`.
    pub(crate) sin: Tensor,
    /// `cos` as plain rows.
    pub(crate) cos_rows: Vec<f32>,
    /// `sin` as plain rows.
    pub(crate) sin_rows: Vec<f32>,
}

impl Rope {
    /// Tables for `positions` positions of heads `dim` wide: frequency `j` is
    /// `base^(-2j/dim) / divisors[j]`, position `p` turns by `p * scale * frequency`.
    pub(crate) fn new(
        dim: usize,
        base: f32,
        scale: f32,
        divisors: Option<&[f32]>,
        positions: usize,
        device: &Device,
    ) -> CResult<Rope> {
        let theta: Vec<f32> = (0..dim / 2)
            .map(|j| {
                let divisor = divisors.and_then(|d| d.get(j)).copied().unwrap_or(1.0);
                scale / base.powf(2.0 * j as f32 / dim as f32) / divisor
            })
            .collect();
        let theta = Tensor::new(theta.as_slice(), device)?;
        let idx =
            Tensor::arange(0, positions as u32, device)?.to_dtype(candle_core::DType::F32)?.reshape((positions, 1))?;
        let angles = idx.matmul(&theta.reshape((1, theta.elem_count()))?)?;
        let (cos, sin) = (angles.cos()?, angles.sin()?);
        let cos_rows = cos.flatten_all()?.to_vec1::<f32>()?;
        let sin_rows = sin.flatten_all()?.to_vec1::<f32>()?;
        Ok(Rope { cos, sin, cos_rows, sin_rows })
    }

    /// Positions the tables cover.
    pub(crate) fn positions(&self) -> usize {
        self.cos.dims()[0]
    }
}
