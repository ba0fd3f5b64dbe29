//! Reading a GGUF file: its header, metadata and tensors, with every failure turned
//! into a [`ModelError`] that names the file and the problem.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::QTensor;
use candle_core::Device;

use crate::error::{ModelError, Result};

const GGUF_MAGIC: &[u8; 4] = b"GGUF";

/// An open GGUF file: parsed header and metadata, tensors read on demand.
pub struct GgufFile {
    path: PathBuf,
    content: Content,
    reader: BufReader<File>,
}

impl GgufFile {
    /// Opens and checks `path`: magic, header, and that every tensor lies inside the file.
    pub fn open(path: &Path) -> Result<GgufFile> {
        let io = |source| ModelError::Io { path: path.to_owned(), source };
        let file = File::open(path).map_err(io)?;
        let file_len = file.metadata().map_err(io)?.len();
        let mut reader = BufReader::new(file);
        let mut magic = [0u8; 4];
        if reader.read_exact(&mut magic).is_err() || &magic != GGUF_MAGIC {
            let reason = if file_len < 4 {
                format!("the file has only {file_len} bytes")
            } else {
                format!("bad magic {:?}, expected \"GGUF\"", String::from_utf8_lossy(&magic))
            };
            return Err(ModelError::NotGguf { path: path.to_owned(), reason });
        }
        reader.seek(SeekFrom::Start(0)).map_err(io)?;
        let content = Content::read(&mut reader).map_err(|e| classify_header_error(path, e))?;
        for (name, info) in &content.tensor_infos {
            let elems = info.shape.elem_count();
            let block = info.ggml_dtype.block_size();
            if elems % block != 0 {
                return Err(ModelError::TensorShape {
                    path: path.to_owned(),
                    name: name.clone(),
                    expected: vec![elems.next_multiple_of(block)],
                    found: info.shape.dims().to_vec(),
                });
            }
            let bytes = (elems / block * info.ggml_dtype.type_size()) as u64;
            let end = content.tensor_data_offset.saturating_add(info.offset).saturating_add(bytes);
            if end > file_len {
                return Err(ModelError::Truncated {
                    path: path.to_owned(),
                    reason: format!("tensor `{name}` ends at byte {end}, the file has {file_len}"),
                });
            }
        }
        Ok(GgufFile { path: path.to_owned(), content, reader })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A metadata value, if present.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.content.metadata.get(key)
    }

    /// An error about metadata `key`.
    pub fn metadata_error(&self, key: &str, problem: impl Into<String>) -> ModelError {
        ModelError::Metadata { path: self.path.clone(), key: key.to_owned(), problem: problem.into() }
    }

    /// A non-negative integer of any GGUF integer type; `None` when absent.
    pub fn opt_u64(&self, key: &str) -> Result<Option<u64>> {
        match self.value(key) {
            None => Ok(None),
            Some(v) => as_u64(v).map(Some).ok_or_else(|| self.metadata_error(key, "must be a non-negative integer")),
        }
    }

    /// A required non-negative integer that fits `usize`.
    pub fn usize(&self, key: &str) -> Result<usize> {
        let n = self.opt_u64(key)?.ok_or_else(|| self.metadata_error(key, "is missing"))?;
        usize::try_from(n).map_err(|_| self.metadata_error(key, "is too large"))
    }

    /// A required positive integer.
    pub fn positive(&self, key: &str) -> Result<usize> {
        match self.usize(key)? {
            0 => Err(self.metadata_error(key, "must be greater than zero")),
            n => Ok(n),
        }
    }

    /// A float (any GGUF float or integer type); `None` when absent.
    pub fn opt_f64(&self, key: &str) -> Result<Option<f64>> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::F32(x)) => Ok(Some(f64::from(*x))),
            Some(Value::F64(x)) => Ok(Some(*x)),
            Some(v) => as_u64(v).map(|n| Some(n as f64)).ok_or_else(|| self.metadata_error(key, "must be a number")),
        }
    }

    /// A string; `None` when absent or not a string.
    pub fn opt_str(&self, key: &str) -> Option<&str> {
        self.value(key).and_then(|v| v.to_string().ok()).map(String::as_str)
    }

    /// An array whose every item `convert` accepts; `None` when absent. `what` names
    /// the expected items in the error.
    fn opt_array<'a, T>(
        &'a self,
        key: &str,
        what: &str,
        convert: impl Fn(&'a Value) -> Option<T>,
    ) -> Result<Option<Vec<T>>> {
        let Some(value) = self.value(key) else { return Ok(None) };
        let bad = || self.metadata_error(key, format!("must be an array of {what}"));
        let items = value.to_vec().map_err(|_| bad())?;
        items.iter().map(|v| convert(v).ok_or_else(bad)).collect::<Result<Vec<_>>>().map(Some)
    }

    /// An array of strings; `None` when absent.
    pub fn opt_strings(&self, key: &str) -> Result<Option<Vec<&str>>> {
        self.opt_array(key, "strings", |v| v.to_string().ok().map(String::as_str))
    }

    /// An array of numbers as `f32`; `None` when absent.
    pub fn opt_f32s(&self, key: &str) -> Result<Option<Vec<f32>>> {
        self.opt_array(key, "numbers", |v| match v {
            Value::F32(x) => Some(*x),
            Value::F64(x) => Some(*x as f32),
            Value::I32(x) => Some(*x as f32),
            other => as_u64(other).map(|n| n as f32),
        })
    }

    /// An array of integers as `i64`; `None` when absent.
    pub fn opt_ints(&self, key: &str) -> Result<Option<Vec<i64>>> {
        self.opt_array(key, "integers", |v| match v {
            Value::I8(x) => Some(i64::from(*x)),
            Value::I16(x) => Some(i64::from(*x)),
            Value::I32(x) => Some(i64::from(*x)),
            Value::I64(x) => Some(*x),
            other => as_u64(other).and_then(|n| i64::try_from(n).ok()),
        })
    }

    /// How many tensors the file has.
    pub fn tensor_count(&self) -> usize {
        self.content.tensor_infos.len()
    }

    /// Whether the file has tensor `name`.
    pub fn has_tensor(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    /// The shape of tensor `name` (candle order: rows first).
    pub fn tensor_dims(&self, name: &str) -> Result<Vec<usize>> {
        self.content
            .tensor_infos
            .get(name)
            .map(|info| info.shape.dims().to_vec())
            .ok_or_else(|| ModelError::MissingTensor { path: self.path.clone(), name: name.to_owned() })
    }

    /// Reads tensor `name`, checking its shape is `expected`.
    pub fn tensor(&mut self, name: &str, expected: &[usize], device: &Device) -> Result<QTensor> {
        let found = self.tensor_dims(name)?;
        if found != expected {
            return Err(ModelError::TensorShape {
                path: self.path.clone(),
                name: name.to_owned(),
                expected: expected.to_vec(),
                found,
            });
        }
        self.content.tensor(&mut self.reader, name, device).map_err(|source| ModelError::Compute {
            path: self.path.clone(),
            context: format!("reading tensor `{name}`"),
            source: Box::new(source),
        })
    }

    /// Wraps a candle error with this file and what was being done.
    pub fn compute_error(&self, context: impl Into<String>) -> impl FnOnce(candle_core::Error) -> ModelError + '_ {
        let context = context.into();
        move |source| ModelError::Compute { path: self.path.clone(), context, source: Box::new(source) }
    }
}

fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::U8(x) => Some(u64::from(*x)),
        Value::U16(x) => Some(u64::from(*x)),
        Value::U32(x) => Some(u64::from(*x)),
        Value::U64(x) => Some(*x),
        Value::I8(x) => u64::try_from(*x).ok(),
        Value::I16(x) => u64::try_from(*x).ok(),
        Value::I32(x) => u64::try_from(*x).ok(),
        Value::I64(x) => u64::try_from(*x).ok(),
        _ => None,
    }
}

/// Sorts candle's header errors into ours: unknown tensor types are unsupported
/// quantizations, running out of bytes is truncation, the rest is a damaged header.
fn classify_header_error(path: &Path, error: candle_core::Error) -> ModelError {
    let text = error.to_string();
    let path = path.to_owned();
    let lower = text.to_lowercase();
    if lower.contains("dtype") || lower.contains("ggml type") {
        ModelError::UnsupportedQuantization { path, reason: text }
    } else if lower.contains("eof") || lower.contains("fill whole buffer") || lower.contains("remaining") {
        ModelError::Truncated { path, reason: format!("the header ends early ({text})") }
    } else {
        ModelError::NotGguf { path, reason: format!("damaged header: {text}") }
    }
}
