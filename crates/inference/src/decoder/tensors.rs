//! Reading a decoder's tensors from the GGUF, in file order, into the
//! buffers they live in.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};

use candle_core::quantized::ggml_file::qtensor_from_ggml;
use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::GgmlDType;
use candle_core::Device;
use fineprint_kernels::{Holding, Weight};

use super::LoadError;

pub(super) type Raw = (Vec<usize>, GgmlDType, Vec<u8>);

/// The tensors a decoder needs, read in file order: a forward skip inside a
/// buffered reader keeps its buffer, where a seek back would throw it away
/// and refill it (4 MB from the dropped file in the browser) for every small
/// norm vector. Each tensor is read straight into the buffer it lives in.
pub(super) struct Tensors<'a> {
    content: &'a Content,
    pub(super) raw: HashMap<String, Raw>,
    /// How the layers' matrices are held (`holding_of`).
    layers: Holding,
}

/// How the matrix `name` is held when the layers' are held as `layers`
/// says. The embedding table and the output head stay compact: a token
/// looks up one row of the first, and the second meets only the last row of
/// a prompt, so a faster form would cost memory, and bytes each decoded
/// token streams, for nothing.
pub(crate) fn holding_of(name: &str, layers: Holding) -> Holding {
    if name.starts_with("blk.") {
        layers
    } else {
        Holding::Compact
    }
}

impl<'a> Tensors<'a> {
    pub(super) fn read<R: Read + Seek>(
        content: &'a Content,
        reader: &mut R,
        names: &[String],
        layers: Holding,
    ) -> Result<Self, LoadError> {
        let mut order = Vec::with_capacity(names.len());
        for name in names {
            let info = content.tensor_infos.get(name).ok_or_else(|| LoadError::Missing(name.clone()))?;
            order.push((info.offset, name));
        }
        order.sort();
        let mut raw = HashMap::with_capacity(order.len());
        for (offset, name) in order {
            let info = &content.tensor_infos[name];
            let dims = info.shape.dims().to_vec();
            let dtype = info.ggml_dtype;
            let len = dims.iter().product::<usize>() / dtype.block_size().max(1) * dtype.type_size();
            let at = content.tensor_data_offset + offset;
            let io = |source| LoadError::Io { name: name.clone(), source };
            let here = reader.stream_position().map_err(io)?;
            match at.checked_sub(here) {
                Some(0) => {}
                Some(ahead) => reader.seek_relative(ahead as i64).map_err(io)?,
                None => {
                    reader.seek(SeekFrom::Start(at)).map_err(io)?;
                }
            }
            // Room for what the weight store makes of it (the relaxed-SIMD
            // build interleaves K-quant rows in place, in a larger size).
            let held = match dims.as_slice() {
                [rows, cols] => Weight::held_bytes(dtype, *rows, *cols, len as u64, holding_of(name, layers)) as usize,
                _ => len,
            };
            let mut buf = Vec::with_capacity(held.max(len));
            buf.resize(len, 0);
            reader.read_exact(&mut buf).map_err(io)?;
            raw.insert(name.clone(), (dims, dtype, buf));
        }
        Ok(Self { content, raw, layers })
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    pub(super) fn take(&mut self, name: &str) -> Result<Raw, LoadError> {
        self.raw.remove(name).ok_or_else(|| LoadError::Missing(name.into()))
    }

    pub(super) fn matrix(&mut self, name: &str, rows: Option<usize>, cols: usize) -> Result<Weight, LoadError> {
        let (dims, dtype, bytes) = self.take(name)?;
        if !(dims.len() == 2 && dims[1] == cols && rows.is_none_or(|r| dims[0] == r)) {
            let expected = format!("[{}, {cols}]", rows.map_or("n".into(), |r| r.to_string()));
            return Err(LoadError::Shape { name: name.into(), shape: dims, expected });
        }
        Weight::from_gguf_bytes(dtype, dims[0], cols, bytes, holding_of(name, self.layers))
            .map_err(|e| LoadError::Tensor { name: name.into(), reason: e.to_string() })
    }

    pub(super) fn vector(&mut self, name: &str, len: usize) -> Result<Vec<f32>, LoadError> {
        let (dims, dtype, bytes) = self.take(name)?;
        if dims.iter().product::<usize>() != len {
            return Err(LoadError::Shape { name: name.into(), shape: dims, expected: format!("[{len}]") });
        }
        let err = |e: candle_core::Error| LoadError::Tensor { name: name.into(), reason: e.to_string() };
        let t = qtensor_from_ggml(dtype, &bytes, dims, &Device::Cpu).map_err(err)?;
        t.dequantize(&Device::Cpu).and_then(|t| t.flatten_all()?.to_vec1()).map_err(err)
    }
}
