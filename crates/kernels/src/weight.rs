//! The weight store: a matrix kept as the GGUF stores it (blocks of 32,
//! K-quant super-blocks, F16, or candle's tensor for the rest), an embedding
//! row looked up from it, and products with it, split across threads.

use std::ops::Range;

use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QMatMul};
use candle_core::{Device, Module, Tensor};

use crate::activations::{Activations, Extras};
use crate::blocks::{dequantize_row, f16_table, Blocks, BLOCK};
use crate::tiling::{band, f16_band, Blocks32, Super256};
use crate::{float16, interleaved, kquant, parallel};

pub(crate) enum Store {
    Blocks(Blocks, Vec<u8>),
    /// K-quant super-blocks of 256 (Q4_K, Q5_K, Q6_K).
    Super(kquant::Kind, Vec<u8>),
    /// Q4_K or Q6_K rows interleaved in quads (`interleaved`: the relaxed-SIMD build).
    Quads(interleaved::Layout, Vec<u8>),
    /// Blocks of 32 (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) interleaved in quads (`interleaved::blocks32`).
    BlockQuads(Blocks, Vec<u8>),
    /// F16, kept as the file stores it.
    F16(Vec<u8>),
    /// Types without a kernel here, multiplied by candle (which keeps F16/F32
    /// matrices as an f32 tensor, other types as its quantized tensor).
    Candle(QMatMul),
}

/// How a matrix is held: within a few per cent of its file's bytes, or in
/// more memory where this build has a faster form for its type (Q6_K a byte
/// a value in the relaxed-SIMD build: 31 % more than the file's six bits,
/// its products without unpacking). The loader chooses, for the memory the
/// model may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Holding {
    #[default]
    Compact,
    Fast,
}

/// A `rows × cols` weight matrix (out × in, as GGUF stores linear layers).
pub struct Weight {
    pub rows: usize,
    pub cols: usize,
    pub dtype: GgmlDType,
    pub(crate) store: Store,
}

#[derive(Debug, thiserror::Error)]
pub enum WeightError {
    #[error("{rows}×{cols} {dtype:?} needs {expected} bytes, got {got}")]
    Size { rows: usize, cols: usize, dtype: GgmlDType, expected: usize, got: usize },
    #[error("a {rows}×{cols} matrix is empty")]
    Empty { rows: usize, cols: usize },
    #[error("{cols} columns is not a whole number of {block}-element blocks")]
    Ragged { cols: usize, block: usize },
    #[error("{0}")]
    Candle(#[from] candle_core::Error),
}

impl Weight {
    /// Takes the tensor's bytes as read from the GGUF (no copy for the types
    /// with a kernel here), to hold as `holding` says.
    pub fn from_gguf_bytes(
        dtype: GgmlDType,
        rows: usize,
        cols: usize,
        bytes: Vec<u8>,
        holding: Holding,
    ) -> Result<Self, WeightError> {
        let block = dtype.block_size();
        if rows == 0 || cols == 0 {
            return Err(WeightError::Empty { rows, cols });
        }
        if !cols.is_multiple_of(block) {
            return Err(WeightError::Ragged { cols, block });
        }
        let expected = rows * (cols / block) * dtype.type_size();
        if bytes.len() != expected {
            return Err(WeightError::Size { rows, cols, dtype, expected, got: bytes.len() });
        }
        let store = match (Blocks::of(dtype), kquant::Kind::of(dtype)) {
            (Some(b), _) if interleaved::blocks32::interleaves(b, rows) => {
                Store::BlockQuads(b, interleaved::blocks32::repack(b, bytes, rows, cols))
            }
            (Some(b), _) => Store::Blocks(b, bytes),
            (_, Some(k)) if interleaved::interleaves(k, rows, cols) => {
                let layout = interleaved::Layout::of(k, holding);
                Store::Quads(layout, interleaved::repack(layout, f16_table(), bytes, rows, cols))
            }
            (_, Some(k)) => Store::Super(k, bytes),
            _ if dtype == GgmlDType::F16 => Store::F16(bytes),
            _ => {
                let t = qtensor_from_ggml(dtype, &bytes, vec![rows, cols], &Device::Cpu)?;
                drop(bytes);
                Store::Candle(QMatMul::from_qtensor(t)?)
            }
        };
        Ok(Self { rows, cols, dtype, store })
    }

    /// Bytes a `rows × cols` matrix of `dtype` holds once loaded as
    /// `holding` says, for one the file stores in `file_bytes` (more where
    /// this build repacks it).
    pub fn held_bytes(dtype: GgmlDType, rows: usize, cols: usize, file_bytes: u64, holding: Holding) -> u64 {
        match kquant::Kind::of(dtype) {
            Some(k) if interleaved::interleaves(k, rows, cols) => {
                let layout = interleaved::Layout::of(k, holding);
                file_bytes / k.bytes() as u64 * layout.quad_bytes() as u64 / interleaved::QUAD as u64
            }
            _ => file_bytes,
        }
    }

    /// Whether this matrix is multiplied by the kernels here (else by candle).
    pub fn has_own_kernel(&self) -> bool {
        !matches!(self.store, Store::Candle(..))
    }

    /// Row `r` as f32 (an embedding lookup: the table stays quantized).
    pub fn row(&self, r: usize, out: &mut [f32]) -> candle_core::Result<()> {
        debug_assert_eq!(out.len(), self.cols);
        if r >= self.rows {
            candle_core::bail!("row {r} is outside a {}-row matrix", self.rows);
        }
        match &self.store {
            Store::Blocks(kind, bytes) => {
                let row_bytes = self.cols / BLOCK * kind.bytes();
                dequantize_row(*kind, &bytes[r * row_bytes..(r + 1) * row_bytes], out);
            }
            Store::Super(kind, bytes) => {
                let row_bytes = self.cols / kquant::SUPER * kind.bytes();
                kquant::dequantize_row(*kind, f16_table(), &bytes[r * row_bytes..(r + 1) * row_bytes], out);
            }
            Store::Quads(layout, quads) => interleaved::dequantize_row(*layout, quads, self.cols, r, out),
            Store::BlockQuads(kind, quads) => {
                dequantize_row(*kind, &interleaved::blocks32::gguf_row(*kind, quads, self.cols, r), out)
            }
            Store::F16(bytes) => float16::widen_row(&bytes[r * 2 * self.cols..(r + 1) * 2 * self.cols], out),
            Store::Candle(QMatMul::QTensor(t)) => {
                let data = t.data()?;
                let row_bytes = self.cols / self.dtype.block_size() * self.dtype.type_size();
                let row = &data[r * row_bytes..(r + 1) * row_bytes];
                let one = qtensor_from_ggml(self.dtype, row, vec![self.cols], &Device::Cpu)?;
                out.copy_from_slice(&one.dequantize(&Device::Cpu)?.to_vec1::<f32>()?);
            }
            Store::Candle(QMatMul::Tensor(t) | QMatMul::TensorF16(t)) => {
                out.copy_from_slice(&t.get(r)?.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()?);
            }
        }
        Ok(())
    }

    /// The matrix's bytes as the kernels here read them (None for candle's stores).
    pub fn stored(&self) -> Option<&[u8]> {
        match &self.store {
            Store::Blocks(_, b) | Store::Super(_, b) | Store::Quads(_, b) | Store::BlockQuads(_, b) | Store::F16(b) => {
                Some(b)
            }
            Store::Candle(_) => None,
        }
    }

    /// Bytes of the matrix as stored (candle's as f32).
    pub(crate) fn bytes(&self) -> usize {
        self.stored().map_or(self.rows * self.cols * 4, <[u8]>::len)
    }

    /// Rows `js` of the product with `x` (quantized in `a` as the store
    /// needs) into `out`, `m × js.len()`; nothing for candle's stores.
    pub(crate) fn band(&self, x: &[f32], m: usize, a: &Activations, js: Range<usize>, out: &mut [f32]) {
        match &self.store {
            Store::Blocks(kind, w) => {
                let k = Blocks32 { kind: *kind, t: f16_table(), a, cols: self.cols, extras: Extras::of(*kind) };
                band(&k, w, self.cols / BLOCK * kind.bytes(), m, js, out)
            }
            Store::Super(kind, w) => {
                let k = Super256 { kind: *kind, t: f16_table(), a: &a.k, cols: self.cols };
                band(&k, w, self.cols / kquant::SUPER * kind.bytes(), m, js, out)
            }
            #[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
            Store::Quads(layout, w) => {
                let k = crate::tiling::KQuads { layout: *layout, a: &a.k, cols: self.cols };
                let quad_bytes = self.cols / kquant::SUPER * layout.quad_bytes();
                crate::tiling::quad_band(&k, w, quad_bytes, m, js, out)
            }
            #[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
            Store::BlockQuads(kind, w) => {
                let k = Blocks32 { kind: *kind, t: f16_table(), a, cols: self.cols, extras: Extras::of_quads(*kind) };
                let quad_bytes = interleaved::QUAD * self.cols / BLOCK * kind.bytes();
                crate::tiling::quad_band(&k, w, quad_bytes, m, js, out)
            }
            #[cfg(not(all(target_feature = "simd128", feature = "relaxed-simd")))]
            Store::Quads(..) | Store::BlockQuads(..) => unreachable!("interleaved only where relaxed SIMD is built in"),
            Store::F16(w) => f16_band(w, self.cols, x, m, js, out),
            Store::Candle(_) => {}
        }
    }

    /// `out[i][j] = Σ_k x[i][k] · self[j][k]` for the `m` rows of `x`.
    pub fn matmul(&self, x: &[f32], m: usize, out: &mut [f32], scratch: &mut Activations) -> candle_core::Result<()> {
        matmul_shared(x, m, &mut [(self, out)], scratch)
    }
}

/// Multiplies one `m`-row input by several matrices of the same width (a
/// layer's query, key and value projections; its gate and up projections),
/// quantizing the input once for all of them and, with threads, sharing all
/// of them out at once (one hand-over instead of one per matrix).
pub fn matmul_shared(
    x: &[f32],
    m: usize,
    products: &mut [(&Weight, &mut [f32])],
    scratch: &mut Activations,
) -> candle_core::Result<()> {
    let mut cols = None;
    for (w, out) in products.iter() {
        if x.len() != m * w.cols || out.len() != m * w.rows || cols.is_some_and(|c| c != w.cols) {
            candle_core::bail!(
                "a {}×{} matrix cannot take {} inputs into {} outputs",
                w.rows,
                w.cols,
                x.len(),
                out.len()
            );
        }
        cols = Some(w.cols);
    }
    let Some(cols) = cols else { return Ok(()) };
    let needs = products.iter().filter_map(|(w, _)| match w.store {
        Store::Blocks(kind, _) => Some(Extras::of(kind)),
        Store::BlockQuads(kind, _) => Some(Extras::of_quads(kind)),
        _ => None,
    });
    if let Some(needs) = needs.reduce(Extras::or) {
        scratch.quantize(x, m, cols, needs);
    }
    if products.iter().any(|(w, _)| matches!(w.store, Store::Super(..) | Store::Quads(..))) {
        scratch.k.quantize(x, m, cols);
    }
    let acts = &*scratch;
    let (own, candle): (Vec<_>, Vec<_>) = products.iter_mut().partition(|(w, _)| w.has_own_kernel());
    let own = own.into_iter().map(|(w, out)| (*w, w.rows, w.bytes() * m, &mut **out)).collect();
    parallel::bands_many(m, own, |w: &Weight, js, out| w.band(x, m, acts, js, out));
    for (w, out) in candle {
        if let Store::Candle(mm) = &w.store {
            let xs = Tensor::from_slice(x, (m, w.cols), &Device::Cpu)?;
            let ys = mm.forward(&xs)?.flatten_all()?.to_vec1::<f32>()?;
            out.copy_from_slice(&ys);
        }
    }
    Ok(())
}
