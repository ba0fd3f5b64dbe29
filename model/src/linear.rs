//! Linear projections without bias: our kernels ([`crate::kernels`]) where they apply,
//! candle's `QMatMul` elsewhere (other formats, GPUs, and the exact mode that
//! `CANDLE_DEQUANTIZE_ALL` selects for the reference tests).

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Device, Module, Result as CResult, Storage, Tensor};

use crate::kernels::{self, HalfMatrix, PackedMatrix};

/// One or more projections of the same input (`wq`, `wk`, `wv` of a layer, say).
pub(crate) enum Projections {
    /// All parts repacked for our kernels, consecutive parts of one format stacked into
    /// one matrix (their rows one after the other): the input is quantized once, and
    /// the parts of a matrix share one parallel call.
    Packed {
        /// The matrices, in part order.
        matrices: Vec<PackedMatrix>,
        /// Rows of each part.
        widths: Vec<usize>,
    },
    /// F16 or BF16 parts, each kept in its two-byte format ([`HalfMatrix`]).
    Half {
        /// The matrices, in part order (one for a fused tensor).
        matrices: Vec<HalfMatrix>,
        /// Rows of each part.
        widths: Vec<usize>,
    },
    /// One candle matmul per tensor.
    Candle {
        /// The matmuls, in part order (one for a fused tensor).
        parts: Vec<QMatMul>,
        /// Rows of each part.
        widths: Vec<usize>,
    },
}

impl Projections {
    /// Projections by the weight matrices `parts` (`[out, in]` each), packed for our
    /// kernels when every part has the same supported format and input width.
    pub(crate) fn new(parts: Vec<std::sync::Arc<QTensor>>, device: &Device) -> CResult<Projections> {
        if let Some(packed) = Self::pack(&parts, device)? {
            return Ok(packed);
        }
        if let Some(half) = Self::half(&parts, device)? {
            return Ok(half);
        }
        let widths = parts.iter().map(|p| p.shape().dims().first().copied().unwrap_or(0)).collect();
        let parts = parts.into_iter().map(QMatMul::from_arc).collect::<CResult<Vec<_>>>()?;
        Ok(Projections::Candle { parts, widths })
    }

    /// The projections of one fused weight matrix whose rows are the parts, `widths`
    /// rows each, one after the other (phi3's `attn_qkv`, say).
    pub(crate) fn split(fused: std::sync::Arc<QTensor>, widths: Vec<usize>, device: &Device) -> CResult<Projections> {
        let rows = fused.shape().dims2()?.0;
        if widths.iter().sum::<usize>() != rows {
            candle_core::bail!("a fused matrix of {rows} rows split as {widths:?}");
        }
        Ok(match Self::new(vec![fused], device)? {
            Projections::Packed { matrices, .. } => Projections::Packed { matrices, widths },
            Projections::Half { matrices, .. } => Projections::Half { matrices, widths },
            Projections::Candle { parts, .. } => Projections::Candle { parts, widths },
        })
    }

    fn pack(parts: &[std::sync::Arc<QTensor>], device: &Device) -> CResult<Option<Projections>> {
        let Some(first) = parts.first() else {
            return Ok(None);
        };
        if !device.is_cpu() || std::env::var_os("CANDLE_DEQUANTIZE_ALL").is_some() {
            return Ok(None);
        }
        let cols = first.shape().dims2()?.1;
        let mut widths = Vec::with_capacity(parts.len());
        for part in parts {
            let (rows, part_cols) = part.shape().dims2()?;
            if part_cols != cols {
                return Ok(None);
            }
            widths.push(rows);
        }
        let mut matrices = Vec::new();
        for run in parts.chunk_by(|a, b| a.dtype() == b.dtype()) {
            let dtype = run[0].dtype();
            let data = if run.len() == 1 {
                run[0].data()?
            } else {
                let mut bytes = Vec::new();
                for part in run {
                    bytes.extend_from_slice(&part.data()?);
                }
                std::borrow::Cow::Owned(bytes)
            };
            let rows = run.iter().map(|p| p.shape().dims()[0]).sum();
            match PackedMatrix::pack(dtype, &data, rows, cols) {
                Some(matrix) => matrices.push(matrix),
                None => return Ok(None),
            }
        }
        Ok(Some(Projections::Packed { matrices, widths }))
    }

    /// F16/BF16 parts on the CPU as [`HalfMatrix`]es (`None`: not all of them are).
    fn half(parts: &[std::sync::Arc<QTensor>], device: &Device) -> CResult<Option<Projections>> {
        if !device.is_cpu() || std::env::var_os("CANDLE_DEQUANTIZE_ALL").is_some() {
            return Ok(None);
        }
        let mut matrices = Vec::with_capacity(parts.len());
        for part in parts {
            let (rows, cols) = part.shape().dims2()?;
            match HalfMatrix::new(part.dtype(), &part.data()?, rows, cols) {
                Some(m) if matrices.first().is_none_or(|f: &HalfMatrix| f.cols() == cols) => matrices.push(m),
                _ => return Ok(None),
            }
        }
        let widths = matrices.iter().map(HalfMatrix::rows).collect();
        Ok(Some(Projections::Half { matrices, widths }))
    }

    /// Bytes of weights held.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Projections::Packed { matrices, .. } => matrices.iter().map(PackedMatrix::bytes).sum(),
            Projections::Half { matrices, .. } => matrices.iter().map(HalfMatrix::bytes).sum(),
            Projections::Candle { parts, .. } => parts
                .iter()
                .map(|m| match m {
                    candle_core::quantized::QMatMul::QTensor(t) => t.storage_size_in_bytes(),
                    candle_core::quantized::QMatMul::Tensor(t) | candle_core::quantized::QMatMul::TensorF16(t) => {
                        t.elem_count() * t.dtype().size_in_bytes()
                    }
                })
                .sum(),
        }
    }

    /// Rows of a single projection whose rows our kernels can read back (a tied
    /// embedding table is read from there); `None` otherwise.
    pub(crate) fn readable_rows(&self) -> Option<usize> {
        match self {
            Projections::Packed { matrices, widths } if widths.len() == 1 => matrices.first().map(PackedMatrix::rows),
            Projections::Half { matrices, widths } if widths.len() == 1 => matrices.first().map(HalfMatrix::rows),
            _ => None,
        }
    }

    /// Row `r` of a single readable projection as f32 values (see [`Projections::readable_rows`]).
    pub(crate) fn read_row(&self, r: usize, out: &mut [f32]) -> CResult<()> {
        match self.readable_rows() {
            Some(rows) if r < rows => {}
            _ => candle_core::bail!("row {r} cannot be read from these projections"),
        }
        match self {
            Projections::Packed { matrices, .. } => matrices[0].dequantize_row(r, out),
            Projections::Half { matrices, .. } => matrices[0].dequantize_row(r, out),
            Projections::Candle { .. } => candle_core::bail!("candle's projections are not read by row"),
        }
        Ok(())
    }

    /// The file format of each part and whether our kernels run it (`false`: candle's).
    pub(crate) fn formats(&self) -> Vec<(candle_core::quantized::GgmlDType, bool)> {
        match self {
            Projections::Packed { matrices, .. } => matrices.iter().map(|m| (m.dtype(), true)).collect(),
            Projections::Half { matrices, .. } => matrices.iter().map(|m| (m.dtype(), true)).collect(),
            Projections::Candle { parts, .. } => parts
                .iter()
                .map(|m| match m {
                    QMatMul::QTensor(t) => (t.dtype(), false),
                    QMatMul::Tensor(_) => (candle_core::quantized::GgmlDType::F32, false),
                    QMatMul::TensorF16(_) => (candle_core::quantized::GgmlDType::F16, false),
                })
                .collect(),
        }
    }

    /// Each part applied to `x` (`[.., in]`), in the order given to [`Projections::new`].
    pub(crate) fn forward(&self, x: &Tensor) -> CResult<Vec<Tensor>> {
        let (matrices, widths) = match self {
            Projections::Half { matrices, widths } => {
                if x.dtype() != DType::F32 {
                    candle_core::bail!("f16 projections take f32 input, not {:?}", x.dtype());
                }
                let rows = x.flatten_all()?.to_vec1::<f32>()?;
                let Some(cols) = matrices.first().map(HalfMatrix::cols) else { return Ok(Vec::new()) };
                if !rows.len().is_multiple_of(cols) {
                    candle_core::bail!("{} values are not whole rows of {cols}", rows.len());
                }
                let products: Vec<Vec<f32>> = matrices.iter().map(|m| m.matmul(&rows)).collect();
                let n = rows.len() / cols;
                let total: usize = matrices.iter().map(HalfMatrix::rows).sum();
                let mut out = Vec::with_capacity(n * total);
                for c in 0..n {
                    for (m, p) in matrices.iter().zip(&products) {
                        out.extend_from_slice(&p[c * m.rows()..(c + 1) * m.rows()]);
                    }
                }
                return split_rows(x, out, widths);
            }
            Projections::Candle { parts, widths } => {
                let outs = parts.iter().map(|m| m.forward(x)).collect::<CResult<Vec<_>>>()?;
                if outs.len() == widths.len() {
                    return Ok(outs);
                }
                let [fused] = <[Tensor; 1]>::try_from(outs)
                    .map_err(|o| candle_core::Error::Msg(format!("{} matmuls for {} parts", o.len(), widths.len())))?;
                let last = fused.rank() - 1;
                let mut offset = 0;
                let mut split = Vec::with_capacity(widths.len());
                for &w in widths {
                    split.push(fused.narrow(last, offset, w)?.contiguous()?);
                    offset += w;
                }
                return Ok(split);
            }
            Projections::Packed { matrices, widths } => (matrices, widths),
        };
        if x.dtype() != DType::F32 {
            candle_core::bail!("quantized projections take f32 input, not {:?}", x.dtype());
        }
        let x = x.contiguous()?;
        let out = {
            let (storage, layout) = x.storage_and_layout();
            let Storage::Cpu(cpu) = &*storage else {
                candle_core::bail!("packed projections run on the CPU only");
            };
            let start = layout.start_offset();
            kernels::matmul_all(matrices, &cpu.as_slice::<f32>()?[start..start + x.elem_count()])?
        };
        split_rows(&x, out, widths)
    }

    /// The single part applied to `x` (see [`Projections::forward`]).
    pub(crate) fn forward_one(&self, x: &Tensor) -> CResult<Tensor> {
        match <[Tensor; 1]>::try_from(self.forward(x)?) {
            Ok([y]) => Ok(y),
            Err(parts) => candle_core::bail!("expected one projection, found {}", parts.len()),
        }
    }
}

/// Products `out` (each input row's outputs side by side, `widths` summed) as one tensor
/// per part, shaped as `x` with the part's width last.
fn split_rows(x: &Tensor, out: Vec<f32>, widths: &[usize]) -> CResult<Vec<Tensor>> {
    let shape_with = |width: usize| {
        let mut dims = x.dims().to_vec();
        if let Some(last) = dims.last_mut() {
            *last = width;
        }
        dims
    };
    if let [width] = widths {
        return Ok(vec![Tensor::from_vec(out, shape_with(*width), x.device())?]);
    }
    let total: usize = widths.iter().sum();
    let n = out.len() / total.max(1);
    let mut parts: Vec<Vec<f32>> = widths.iter().map(|w| Vec::with_capacity(n * w)).collect();
    for row in out.chunks_exact(total.max(1)) {
        let mut offset = 0;
        for (part, &w) in parts.iter_mut().zip(widths) {
            part.extend_from_slice(&row[offset..offset + w]);
            offset += w;
        }
    }
    parts.into_iter().zip(widths).map(|(part, &w)| Tensor::from_vec(part, shape_with(w), x.device())).collect()
}
