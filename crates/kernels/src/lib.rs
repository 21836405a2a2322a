//! Quantized weight matrices kept as the GGUF stores them, and the
//! matrix–vector kernels that multiply them (for fineprint-inference's decoder).
//!
//! candle's CPU kernels are generic and, for several of the types small models
//! ship in, scalar even in wasm; they also widen F16 matrices to f32 on load.
//! The kernels here work on the raw GGUF blocks of the types GGUF downloads
//! use — Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (blocks of 32, this file), Q4_K, Q5_K,
//! Q6_K (super-blocks of 256, `kquant`) and F16 (`float16`) — each with a wasm
//! `simd128` path and a portable one; the rare rest (Q2_K, Q3_K, BF16, …)
//! goes through candle's `QMatMul`.
//!
//! Activations are quantized once per product to 8 bits, in blocks of 32 (what
//! ggml calls Q8_0 / Q8_1) or 256 (Q8_K), so the inner loops are integer dot
//! products, exact whatever their order; only the per-block scaling is floating point.

use std::ops::Range;
use std::sync::OnceLock;

pub mod dot_sums;
pub mod float16;
mod kquant;
pub mod parallel;
mod quantize;

use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QMatMul};
use candle_core::{Device, Module, Tensor};

/// Elements per quantization block for every type with a kernel here.
pub const BLOCK: usize = 32;

/// The block layouts with a kernel here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blocks {
    /// f16 scale, 16 bytes of 4-bit values stored with an offset of 8.
    Q4_0,
    /// f16 scale, f16 minimum, 16 bytes of 4-bit values.
    Q4_1,
    /// f16 scale, 32 fifth bits, 16 bytes of low nibbles; values offset by 16.
    Q5_0,
    /// f16 scale, f16 minimum, 32 fifth bits, 16 bytes of low nibbles.
    Q5_1,
    /// f16 scale, 32 signed bytes.
    Q8_0,
}

impl Blocks {
    fn of(dtype: GgmlDType) -> Option<Self> {
        match dtype {
            GgmlDType::Q4_0 => Some(Blocks::Q4_0),
            GgmlDType::Q4_1 => Some(Blocks::Q4_1),
            GgmlDType::Q5_0 => Some(Blocks::Q5_0),
            GgmlDType::Q5_1 => Some(Blocks::Q5_1),
            GgmlDType::Q8_0 => Some(Blocks::Q8_0),
            _ => None,
        }
    }

    const fn bytes(self) -> usize {
        match self {
            Blocks::Q4_0 => 18,
            Blocks::Q4_1 => 20,
            Blocks::Q5_0 => 22,
            Blocks::Q5_1 => 24,
            Blocks::Q8_0 => 34,
        }
    }
}

enum Store {
    Blocks(Blocks, Vec<u8>),
    /// K-quant super-blocks of 256 (Q4_K, Q5_K, Q6_K).
    Super(kquant::Kind, Vec<u8>),
    /// F16, kept as the file stores it.
    F16(Vec<u8>),
    /// Types without a kernel here, multiplied by candle (which keeps F16/F32
    /// matrices as an f32 tensor, other types as its quantized tensor).
    Candle(QMatMul),
}

/// A `rows × cols` weight matrix (out × in, as GGUF stores linear layers).
pub struct Weight {
    pub rows: usize,
    pub cols: usize,
    pub dtype: GgmlDType,
    store: Store,
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
    /// with a kernel here).
    pub fn from_gguf_bytes(dtype: GgmlDType, rows: usize, cols: usize, bytes: Vec<u8>) -> Result<Self, WeightError> {
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
            (Some(b), _) => Store::Blocks(b, bytes),
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

    /// Bytes of the matrix as stored.
    fn bytes(&self) -> usize {
        match &self.store {
            Store::Blocks(_, b) | Store::Super(_, b) | Store::F16(b) => b.len(),
            Store::Candle(_) => self.rows * self.cols * 4,
        }
    }

    /// Rows `js` of the product with `x` (quantized in `a` as the store
    /// needs) into `out`, `m × js.len()`; nothing for candle's stores.
    fn band(&self, x: &[f32], m: usize, a: &Activations, js: Range<usize>, out: &mut [f32]) {
        match &self.store {
            Store::Blocks(kind, w) => {
                let k = Blocks32 { kind: *kind, t: f16_table(), a, cols: self.cols, extras: Extras::of(*kind) };
                band(&k, w, self.cols / BLOCK * kind.bytes(), m, js, out)
            }
            Store::Super(kind, w) => {
                let k = Super256 { kind: *kind, t: f16_table(), a: &a.k, cols: self.cols };
                band(&k, w, self.cols / kquant::SUPER * kind.bytes(), m, js, out)
            }
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
    let kinds = products.iter().filter_map(|(w, _)| match w.store {
        Store::Blocks(kind, _) => Some(kind),
        _ => None,
    });
    if let Some(needs) = kinds.map(Extras::of).reduce(Extras::or) {
        scratch.quantize(x, m, cols, needs);
    }
    if products.iter().any(|(w, _)| matches!(w.store, Store::Super(..))) {
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

/// Whether the relaxed-SIMD kernels are compiled in (the browser builds for
/// engines that validate `i32x4.relaxed_dot_i8x16_i7x16_add_s`).
const RELAXED: bool = cfg!(all(feature = "relaxed-simd", target_feature = "simd128"));

/// What the relaxed-SIMD kernels need beside the quantized values, by the
/// block types a product meets (nothing in other builds).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Extras {
    /// Per-lane activation sums, for the types stored with an offset.
    lanes: bool,
    /// Positive and negative parts, for Q8_0.
    split: bool,
}

impl Extras {
    /// Everything this build's kernels may read (the tests).
    #[cfg(test)]
    const ALL: Extras = Extras { lanes: RELAXED, split: RELAXED };

    fn of(kind: Blocks) -> Self {
        Extras { lanes: RELAXED && matches!(kind, Blocks::Q4_0 | Blocks::Q5_0), split: RELAXED && kind == Blocks::Q8_0 }
    }

    fn or(self, other: Self) -> Self {
        Extras { lanes: self.lanes || other.lanes, split: self.split || other.split }
    }
}

/// Activations quantized to 8 bits in blocks of 32: values, scale, and
/// scale × sum (what a block with a minimum, Q4_1, needs).
#[derive(Default)]
pub struct Activations {
    qs: Vec<i8>,
    d: Vec<f32>,
    s: Vec<f32>,
    /// Relaxed-SIMD builds only. The dot product's 7-bit operand must not be
    /// negative, so weights stored with an offset (Q4_0, Q5_0) are multiplied
    /// as stored and the offset taken off afterwards: per block, minus the sum
    /// of the eight activations each i32 lane of the product covers, times
    /// Q5_0's offset of 16 (Q4_0's 8 is half of it), so Q5_0's kernel adds it
    /// as it is.
    lanes: Vec<i32>,
    /// Relaxed-SIMD builds only: Q8_0's weights take every signed byte, so the
    /// activations are the 7-bit operand, split into their positive and
    /// negative parts (`a = pos − neg`, both within 0..=127).
    pos: Vec<i8>,
    neg: Vec<i8>,
    /// The same rows quantized for K-quant weights.
    k: kquant::Act8K,
}

impl Activations {
    fn quantize(&mut self, x: &[f32], m: usize, cols: usize, extras: Extras) {
        let nb = cols / BLOCK;
        self.qs.resize(m * cols, 0);
        self.d.resize(m * nb, 0.0);
        self.s.resize(m * nb, 0.0);
        for ((xs, qs), (d, s)) in
            x.chunks_exact(BLOCK).zip(self.qs.chunks_exact_mut(BLOCK)).zip(self.d.iter_mut().zip(self.s.iter_mut()))
        {
            let scale = quantize::abs_max(xs) / 127.0;
            let inv = if scale != 0.0 { 1.0 / scale } else { 0.0 };
            // Within ±127 (the simd128 Q8_0 product relies on it).
            let sum = quantize::round_scaled(xs, inv, -127.0, qs);
            // Scales rounded to f16 as ggml and candle store them: greedy
            // decoding is sensitive enough that the exact f32 scale changes
            // SmolLM2's fifth token against every reference implementation.
            let dh = half::f16::from_f32(scale);
            *d = dh.to_f32();
            *s = (half::f16::from_f32(sum as f32) * dh).to_f32();
        }
        if extras.lanes {
            self.lanes.resize(m * nb * 4, 0);
            for (qs, lanes) in self.qs.chunks_exact(BLOCK).zip(self.lanes.chunks_exact_mut(4)) {
                // Lane k of a 16-byte dot product sums bytes 4k..4k+4 of each half.
                for (k, lane) in lanes.iter_mut().enumerate() {
                    let half =
                        |h: usize| qs[16 * h + 4 * k..16 * h + 4 * k + 4].iter().map(|&q| i32::from(q)).sum::<i32>();
                    *lane = -16 * (half(0) + half(1));
                }
            }
        }
        if extras.split {
            self.pos.clear();
            self.pos.extend(self.qs.iter().map(|&q| q.max(0)));
            self.neg.clear();
            self.neg.extend(self.qs.iter().map(|&q| (-q).max(0)));
        }
    }
}

/// f16 → f32 through a table: wasm has no half-precision conversion
/// instruction and every block carries one or two f16 values.
fn f16_table() -> &'static [f32] {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    TABLE.get_or_init(|| (0..=u16::MAX).map(|b| half::f16::from_bits(b).to_f32()).collect())
}

#[inline(always)]
fn f16_at(table: &[f32], bytes: &[u8], at: usize) -> f32 {
    table[usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]))]
}

fn dequantize_row(kind: Blocks, row: &[u8], out: &mut [f32]) {
    let t = f16_table();
    for (blk, o) in row.chunks_exact(kind.bytes()).zip(out.chunks_exact_mut(BLOCK)) {
        let d = f16_at(t, blk, 0);
        let (vals, min) = block_values(kind, t, blk);
        for (o, v) in o.iter_mut().zip(vals) {
            *o = f32::from(v) * d + min;
        }
    }
}

/// The 32 values of a block as small integers, centred for the types stored
/// with an offset, and the block's minimum (0 where it has none): element i
/// is `v[i] · scale + min`.
#[inline(always)]
fn block_values(kind: Blocks, t: &[f32], blk: &[u8]) -> ([i16; 32], f32) {
    let mut v = [0i16; 32];
    let min = match kind {
        Blocks::Q4_0 | Blocks::Q4_1 => {
            let (at, centre) = if kind == Blocks::Q4_0 { (2, 8) } else { (4, 0) };
            for j in 0..16 {
                v[j] = i16::from(blk[at + j] & 0x0F) - centre;
                v[j + 16] = i16::from(blk[at + j] >> 4) - centre;
            }
            if kind == Blocks::Q4_1 {
                f16_at(t, blk, 2)
            } else {
                0.0
            }
        }
        Blocks::Q5_0 | Blocks::Q5_1 => {
            let (at, centre) = if kind == Blocks::Q5_0 { (2, 16) } else { (4, 0) };
            let qh = u32::from_le_bytes([blk[at], blk[at + 1], blk[at + 2], blk[at + 3]]);
            let qs = &blk[at + 4..at + 20];
            for j in 0..16 {
                let h0 = ((qh >> j) & 1) as u8;
                let h1 = ((qh >> (j + 16)) & 1) as u8;
                v[j] = i16::from((qs[j] & 0x0F) | (h0 << 4)) - centre;
                v[j + 16] = i16::from((qs[j] >> 4) | (h1 << 4)) - centre;
            }
            if kind == Blocks::Q5_1 {
                f16_at(t, blk, 2)
            } else {
                0.0
            }
        }
        Blocks::Q8_0 => {
            for j in 0..32 {
                v[j] = i16::from(blk[2 + j] as i8);
            }
            0.0
        }
    };
    (v, min)
}

/// A product the integer kernels run: activation row `i` as its kernel takes
/// it, and one weight row against `R` of them.
trait Kernel<'a> {
    type Act: Copy;
    fn act(&self, i: usize) -> Self::Act;
    fn dot<const R: usize>(&self, w: &[u8], acts: &[Self::Act; R]) -> [f32; R];
}

/// Blocks of 32 against activations quantized in blocks of 32.
struct Blocks32<'a> {
    kind: Blocks,
    t: &'a [f32],
    a: &'a Activations,
    cols: usize,
    extras: Extras,
}

impl<'a> Kernel<'a> for Blocks32<'a> {
    type Act = Act<'a>;

    fn act(&self, i: usize) -> Act<'a> {
        let (a, cols, nb) = (self.a, self.cols, self.cols / BLOCK);
        /// Row `i` of an array the relaxed-SIMD kernel of this type reads (empty otherwise).
        fn row_if<T>(needed: bool, v: &[T], i: usize, n: usize) -> &[T] {
            if needed {
                &v[i * n..(i + 1) * n]
            } else {
                &[]
            }
        }
        Act {
            qs: &a.qs[i * cols..(i + 1) * cols],
            d: &a.d[i * nb..(i + 1) * nb],
            s: &a.s[i * nb..(i + 1) * nb],
            lanes: row_if(self.extras.lanes, &a.lanes, i, nb * 4),
            pos: row_if(self.extras.split, &a.pos, i, cols),
            neg: row_if(self.extras.split, &a.neg, i, cols),
        }
    }

    fn dot<const R: usize>(&self, w: &[u8], acts: &[Act<'a>; R]) -> [f32; R] {
        dot_tile(self.kind, self.t, w, acts)
    }
}

/// K-quant super-blocks against activations quantized as Q8_K.
struct Super256<'a> {
    kind: kquant::Kind,
    t: &'a [f32],
    a: &'a kquant::Act8K,
    cols: usize,
}

impl<'a> Kernel<'a> for Super256<'a> {
    type Act = kquant::Row<'a>;

    fn act(&self, i: usize) -> kquant::Row<'a> {
        self.a.row(i, self.cols)
    }

    fn dot<const R: usize>(&self, w: &[u8], acts: &[kquant::Row<'a>; R]) -> [f32; R] {
        kquant::dot_tile(self.kind, self.t, w, acts)
    }
}

/// Weight rows per chunk of a band: a chunk's bytes (a few tens of KB) stay
/// in cache while every group of `TILE` activation rows meets them.
const CHUNK: usize = 64;

/// Rows `js` of an integer product into `out` (`m × js.len()`). In a prompt,
/// each weight block is unpacked once for `TILE` activation rows (the rows
/// left over in fours, twos, then one at a time), and a group's rows are
/// looked up once for a chunk of weight rows, not once per weight row (that
/// took a tenth of a prompt).
fn band<'a, K: Kernel<'a>>(k: &K, w: &[u8], row_bytes: usize, m: usize, js: Range<usize>, out: &mut [f32]) {
    let n = js.len();
    let rows = &w[js.start * row_bytes..js.end * row_bytes];
    for (c, chunk) in rows.chunks(CHUNK * row_bytes).enumerate() {
        let at = Columns { j0: c * CHUNK, n };
        let i = rows_by::<K, TILE>(k, chunk, row_bytes, (0, m), at, out);
        let i = rows_by::<K, 4>(k, chunk, row_bytes, (i, m), at, out);
        let i = rows_by::<K, 2>(k, chunk, row_bytes, (i, m), at, out);
        rows_by::<K, 1>(k, chunk, row_bytes, (i, m), at, out);
    }
}

/// Where a chunk's products go in a band's output: its first column, and the
/// band's width.
#[derive(Clone, Copy)]
struct Columns {
    j0: usize,
    n: usize,
}

/// Activation rows `from..to`, `R` at a time while `R` are left, against every
/// weight row of `chunk`; returns the first row it did not take.
#[inline(always)]
fn rows_by<'a, K: Kernel<'a>, const R: usize>(
    k: &K,
    chunk: &[u8],
    row_bytes: usize,
    (from, to): (usize, usize),
    at: Columns,
    out: &mut [f32],
) -> usize {
    let mut i = from;
    while i + R <= to {
        let acts: [K::Act; R] = std::array::from_fn(|r| k.act(i + r));
        for (j, wr) in chunk.chunks_exact(row_bytes).enumerate() {
            for (r, v) in k.dot(wr, &acts).into_iter().enumerate() {
                out[(i + r) * at.n + at.j0 + j] = v;
            }
        }
        i += R;
    }
    i
}

/// Rows `js` of an F16 product into `out` (`m × js.len()`): each weight row
/// widened once, then met by every activation row.
fn f16_band(w: &[u8], cols: usize, x: &[f32], m: usize, js: Range<usize>, out: &mut [f32]) {
    let n = js.len();
    let mut wide = vec![0.0; cols];
    for (j, wr) in w[js.start * 2 * cols..js.end * 2 * cols].chunks_exact(2 * cols).enumerate() {
        float16::widen_row(wr, &mut wide);
        for (i, xr) in x.chunks_exact(cols).enumerate().take(m) {
            out[i * n + j] = float16::dot::<4>(&wide, xr);
        }
    }
}

/// Activation rows per weight-block unpack in a prompt. Eight, not four:
/// the prompt kernels ran 10–20 % faster in Chromium (Q5_0's unpacking, the
/// dearest, gained most), one token unchanged; each row's arithmetic is the
/// same whatever the tile, so the results are too.
const TILE: usize = 8;

/// One activation row, quantized: values, scales, scale × sum per block (and
/// what the relaxed-SIMD kernels need besides, empty in other builds).
#[derive(Clone, Copy)]
struct Act<'a> {
    qs: &'a [i8],
    d: &'a [f32],
    s: &'a [f32],
    #[cfg_attr(not(all(feature = "relaxed-simd", target_feature = "simd128")), allow(dead_code))]
    lanes: &'a [i32],
    #[cfg_attr(not(all(feature = "relaxed-simd", target_feature = "simd128")), allow(dead_code))]
    pos: &'a [i8],
    #[cfg_attr(not(all(feature = "relaxed-simd", target_feature = "simd128")), allow(dead_code))]
    neg: &'a [i8],
}

#[inline(always)]
fn dot_tile<const R: usize>(kind: Blocks, t: &[f32], w: &[u8], acts: &[Act<'_>; R]) -> [f32; R] {
    #[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
    {
        // SAFETY: the caller passes whole rows: `w` holds `d.len()` blocks of
        // this kind, each `qs`, `pos` and `neg` 32 values and `lanes` 4 sums
        // per block; simd128 is enabled at compile time, and the page loads a
        // relaxed-SIMD build only where the engine validates its dot product.
        unsafe { simd::dot_tile_relaxed(kind, t, w, acts) }
    }
    #[cfg(all(target_feature = "simd128", not(feature = "relaxed-simd")))]
    {
        // SAFETY: the caller passes whole rows: `w` holds `d.len()` blocks of
        // this kind and each `qs` 32 values per block; simd128 is enabled at
        // compile time.
        unsafe { simd::dot_tile(kind, t, w, acts) }
    }
    #[cfg(all(target_arch = "x86_64", not(target_feature = "simd128")))]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above; the result is cached).
            return std::array::from_fn(|r| unsafe {
                portable::dot_avx2(kind, t, w, acts[r].qs, acts[r].d, acts[r].s)
            });
        }
        std::array::from_fn(|r| portable::dot(kind, t, w, acts[r].qs, acts[r].d, acts[r].s))
    }
    #[cfg(not(any(target_arch = "x86_64", target_feature = "simd128")))]
    {
        std::array::from_fn(|r| portable::dot(kind, t, w, acts[r].qs, acts[r].d, acts[r].s))
    }
}

#[cfg_attr(target_feature = "simd128", allow(dead_code))]
pub(crate) mod portable {
    use super::{block_values, f16_at, Blocks, BLOCK};

    /// Σ a·b over i16 products, the shape compilers turn into `pmaddwd`-style
    /// multiply-adds on any x86-64.
    #[inline(always)]
    fn madd(a: &[i16; 32], b: &[i8; 32]) -> i32 {
        let mut acc = 0i32;
        for (x, y) in a.iter().zip(b) {
            // Wrapping only to spare the overflow checks of test builds, which
            // stop vectorisation: |x·y| ≤ 128·128 fits i16, 32 of them fit i32.
            acc = acc.wrapping_add(i32::from(x.wrapping_mul(i16::from(*y))));
        }
        acc
    }

    /// The portable loop compiled for AVX2: the compiler vectorises it with
    /// 256-bit multiply-adds (the `fineprint run` command line on x86-64).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    pub unsafe fn dot_avx2(kind: Blocks, t: &[f32], w: &[u8], qs: &[i8], d: &[f32], s: &[f32]) -> f32 {
        dot(kind, t, w, qs, d, s)
    }

    #[inline(always)]
    pub fn dot(kind: Blocks, t: &[f32], w: &[u8], qs: &[i8], d: &[f32], s: &[f32]) -> f32 {
        match kind {
            Blocks::Q4_0 => dot_sized::<18>(kind, t, w, qs, d, s),
            Blocks::Q4_1 => dot_sized::<20>(kind, t, w, qs, d, s),
            Blocks::Q5_0 => dot_sized::<22>(kind, t, w, qs, d, s),
            Blocks::Q5_1 => dot_sized::<24>(kind, t, w, qs, d, s),
            Blocks::Q8_0 => dot_sized::<34>(kind, t, w, qs, d, s),
        }
    }

    /// One loop per block size, over fixed-size blocks: no bounds checks left
    /// inside, so the compiler vectorises it.
    #[inline(always)]
    fn dot_sized<const S: usize>(kind: Blocks, t: &[f32], w: &[u8], qs: &[i8], d: &[f32], s: &[f32]) -> f32 {
        let (blocks, _) = w.as_chunks::<S>();
        let (acts, _) = qs.as_chunks::<BLOCK>();
        let mut sum = 0f32;
        for (((blk, a), db), sb) in blocks.iter().zip(acts).zip(d).zip(s) {
            let (v, min) = block_values(kind, t, blk);
            sum += madd(&v, a) as f32 * f16_at(t, blk, 0) * db + min * sb;
        }
        sum
    }
}

#[cfg(target_feature = "simd128")]
mod simd {
    use std::arch::wasm32::*;

    use super::{f16_at, Act, Blocks, BLOCK};
    use crate::float16::simd::widen4;

    /// Σ over 32 lanes of `w · a` as four i32 sums; `w` holds values of at most
    /// 5 bits (signed or not), so the i16 partial sums (4 × 31 × 128) cannot overflow.
    #[inline(always)]
    unsafe fn dot_nibbles(lo: v128, hi: v128, a0: v128, a1: v128) -> v128 {
        let p0 = i16x8_add(i16x8_extmul_low_i8x16(lo, a0), i16x8_extmul_high_i8x16(lo, a0));
        let p1 = i16x8_add(i16x8_extmul_low_i8x16(hi, a1), i16x8_extmul_high_i8x16(hi, a1));
        i32x4_extadd_pairwise_i16x8(i16x8_add(p0, p1))
    }

    /// The same for full signed bytes. A product fits i16, and so does a sum of
    /// two: activations are quantized to ±127 (never −128), so each product is
    /// at most 128·127 and two of them 32,512.
    #[inline(always)]
    unsafe fn dot_bytes(w0: v128, w1: v128, a0: v128, a1: v128) -> v128 {
        let p0 = i16x8_add(i16x8_extmul_low_i8x16(w0, a0), i16x8_extmul_high_i8x16(w0, a0));
        let p1 = i16x8_add(i16x8_extmul_low_i8x16(w1, a1), i16x8_extmul_high_i8x16(w1, a1));
        i32x4_add(i32x4_extadd_pairwise_i16x8(p0), i32x4_extadd_pairwise_i16x8(p1))
    }

    #[inline(always)]
    unsafe fn hsum(v: v128) -> f32 {
        f32x4_extract_lane::<0>(v)
            + f32x4_extract_lane::<1>(v)
            + f32x4_extract_lane::<2>(v)
            + f32x4_extract_lane::<3>(v)
    }

    const Q4_0: u8 = 0;
    const Q4_1: u8 = 1;
    const Q5_0: u8 = 2;
    const Q5_1: u8 = 3;
    const Q8_0: u8 = 4;

    #[cfg_attr(feature = "relaxed-simd", allow(dead_code))]
    pub unsafe fn dot_tile<const R: usize>(kind: Blocks, t: &[f32], w: &[u8], acts: &[Act<'_>; R]) -> [f32; R] {
        // One monomorphised loop per block type: no branch on the type inside it.
        match kind {
            Blocks::Q4_0 => tile::<Q4_0, R, false, false>(t, w, acts),
            Blocks::Q4_1 => tile::<Q4_1, R, false, false>(t, w, acts),
            Blocks::Q5_0 => tile::<Q5_0, R, false, false>(t, w, acts),
            Blocks::Q5_1 => tile::<Q5_1, R, false, false>(t, w, acts),
            Blocks::Q8_0 => tile::<Q8_0, R, false, false>(t, w, acts),
        }
    }

    /// As `dot_tile`, with relaxed SIMD's 8-bit dot product, summed as
    /// `DotSums` says. The integer sums are the same; the f32 lanes they are
    /// added in are not, so results differ from `dot_tile`'s in the last bits
    /// (and are the same whichever `DotSums`).
    #[cfg(feature = "relaxed-simd")]
    #[target_feature(enable = "relaxed-simd")]
    pub unsafe fn dot_tile_relaxed<const R: usize>(kind: Blocks, t: &[f32], w: &[u8], acts: &[Act<'_>; R]) -> [f32; R] {
        if crate::dot_sums::in_i16() {
            relaxed::<R, true>(kind, t, w, acts)
        } else {
            relaxed::<R, false>(kind, t, w, acts)
        }
    }

    #[cfg(feature = "relaxed-simd")]
    #[inline(always)]
    unsafe fn relaxed<const R: usize, const I16: bool>(
        kind: Blocks,
        t: &[f32],
        w: &[u8],
        acts: &[Act<'_>; R],
    ) -> [f32; R] {
        match kind {
            Blocks::Q4_0 => tile::<Q4_0, R, true, I16>(t, w, acts),
            Blocks::Q4_1 => tile::<Q4_1, R, true, I16>(t, w, acts),
            Blocks::Q5_0 => tile::<Q5_0, R, true, I16>(t, w, acts),
            Blocks::Q5_1 => tile::<Q5_1, R, true, I16>(t, w, acts),
            Blocks::Q8_0 => tile::<Q8_0, R, true, I16>(t, w, acts),
        }
    }

    /// Block layouts: (bytes per block, offset of the 16 bytes of nibbles).
    /// Q5's 32 fifth bits sit in the 4 bytes before the nibbles.
    const fn layout(k: u8) -> (usize, usize) {
        match k {
            Q4_0 => (18, 2),
            Q4_1 => (20, 4),
            Q5_0 => (22, 6),
            Q5_1 => (24, 8),
            _ => (34, 2),
        }
    }

    /// A block's 32 values as two vectors (values 0..16, 16..32): signed bytes
    /// for Q8_0; for the others, small integers, centred only if `CENTRED`.
    #[inline(always)]
    unsafe fn unpack<const K: u8, const CENTRED: bool>(blk: *const u8) -> (v128, v128) {
        let (_, quants) = layout(K);
        if K == Q8_0 {
            return (v128_load(blk.add(2) as *const v128), v128_load(blk.add(18) as *const v128));
        }
        let q = v128_load(blk.add(quants) as *const v128);
        let nibble = u8x16_splat(0x0F);
        let (lo, hi) = (v128_and(q, nibble), moved_bits(q, 4, 0, nibble));
        if K == Q5_0 || K == Q5_1 {
            // Lane j of the low half takes bit j of qh, lane j of the high
            // half bit j + 16: each byte of qh looked up as its 8 lanes.
            let centred = CENTRED && K == Q5_0;
            let table = if centred { FIFTH_CENTRED.as_ptr() } else { FIFTH.as_ptr() };
            let qh = blk.add(quants - 4);
            let lanes = |k: usize, l: usize| {
                let low = v128_load64_zero(table.add(*qh.add(k) as usize));
                v128_load64_lane::<1>(low, table.add(*qh.add(l) as usize))
            };
            return (v128_or(lo, lanes(0, 1)), v128_or(hi, lanes(2, 3)));
        }
        if CENTRED && K == Q4_0 {
            (i8x16_sub(lo, i8x16_splat(8)), i8x16_sub(hi, i8x16_splat(8)))
        } else {
            (lo, hi)
        }
    }

    /// Each byte's bits moved from bit `from` to bit `to`, then masked with
    /// `mask`, which must keep none of the bits a byte's neighbour shifted in.
    /// Shifted as u16 lanes: V8 lowers an i8 shift to that same shift and a
    /// mask it builds again every time, five instructions where two do.
    #[inline(always)]
    pub(crate) unsafe fn moved_bits(v: v128, from: u32, to: u32, mask: v128) -> v128 {
        let moved = if from > to { u16x8_shr(v, from - to) } else { u16x8_shl(v, to - from) };
        v128_and(moved, mask)
    }

    /// Q5's fifth bits, a byte of them at a time: byte j of entry `b` is 0x10
    /// where bit j of `b` is set. Two lookups give a half block's 16 lanes,
    /// where spreading the bits with swizzles, masks and compares took a dozen
    /// vector instructions a block, as much as the dot products in a decoded token.
    static FIFTH: [u64; 256] = fifth_bits(0x10, 0x00);

    /// The same for centred values: a value without its fifth bit is its
    /// nibble − 16, which is the nibble with 0xF0 set (as i8); with it, the nibble.
    static FIFTH_CENTRED: [u64; 256] = fifth_bits(0x00, 0xF0);

    const fn fifth_bits(set: u8, unset: u8) -> [u64; 256] {
        let mut table = [0u64; 256];
        let mut b = 0;
        while b < 256 {
            let mut j = 0;
            while j < 8 {
                let byte = if b >> j & 1 == 1 { set } else { unset };
                table[b] |= (byte as u64) << (8 * j);
                j += 1;
            }
            b += 1;
        }
        table
    }

    /// Block `b` of one activation row against the block's values `(v0, v1)`:
    /// four i32 partial sums. `RELAXED` takes the values as stored (not
    /// centred) and relaxed SIMD's dot product, summing in i32 or, with
    /// `I16`, in i16 (see `DotSums`); the sums are the same either way.
    #[inline(always)]
    unsafe fn block_dot<const K: u8, const RELAXED: bool, const I16: bool>(
        v0: v128,
        v1: v128,
        a: &Act<'_>,
        b: usize,
    ) -> v128 {
        let load = |p: *const i8| (v128_load(p as *const v128), v128_load(p.add(16) as *const v128));
        let (a0, a1) = load(a.qs.as_ptr().add(b * BLOCK));
        if !RELAXED {
            return if K == Q8_0 { dot_bytes(v0, v1, a0, a1) } else { dot_nibbles(v0, v1, a0, a1) };
        }
        #[cfg(feature = "relaxed-simd")]
        {
            let dot = i32x4_relaxed_dot_i8x16_i7x16_add;
            let dot16 = i16x8_relaxed_dot_i8x16_i7x16;
            if K == Q8_0 {
                // The weights are the signed operand, the activations' two
                // halves the 7-bit one.
                let (p0, p1) = load(a.pos.as_ptr().add(b * BLOCK));
                let (n0, n1) = load(a.neg.as_ptr().add(b * BLOCK));
                if I16 {
                    // A pair's product with one half is at most 2 × 128 × 127,
                    // and only one half of each activation is not zero, so the
                    // difference is the pair's exact sum: it fits i16. Two
                    // halves' sums would not, so each is widened.
                    let s0 = i16x8_sub(dot16(v0, p0), dot16(v0, n0));
                    let s1 = i16x8_sub(dot16(v1, p1), dot16(v1, n1));
                    return i32x4_add(i32x4_extadd_pairwise_i16x8(s0), i32x4_extadd_pairwise_i16x8(s1));
                }
                let zero = i32x4_splat(0);
                return i32x4_sub(dot(v0, p0, dot(v1, p1, zero)), dot(v0, n0, dot(v1, n1, zero)));
            }
            // The offset comes off the lanes: Σ (q − c)·a = Σ q·a − c·Σ a.
            let start = if K == Q4_0 || K == Q5_0 {
                let minus_16_sums = v128_load(a.lanes.as_ptr().add(4 * b) as *const v128);
                if K == Q5_0 {
                    minus_16_sums
                } else {
                    i32x4_shr(minus_16_sums, 1)
                }
            } else {
                i32x4_splat(0)
            };
            if I16 {
                // Values of at most 5 bits: four products (2 × 2 × 31 × 127)
                // fit i16, so both halves are summed before one widening.
                // Lane k is then bytes 4k..4k+4 of each half, as with `dot`.
                return i32x4_add(start, i32x4_extadd_pairwise_i16x8(i16x8_add(dot16(a0, v0), dot16(a1, v1))));
            }
            dot(a0, v0, dot(a1, v1, start))
        }
        #[cfg(not(feature = "relaxed-simd"))]
        unreachable!("relaxed SIMD is not compiled in")
    }

    #[inline(always)]
    unsafe fn tile<const K: u8, const R: usize, const RELAXED: bool, const I16: bool>(
        t: &[f32],
        w: &[u8],
        acts: &[Act<'_>; R],
    ) -> [f32; R] {
        let (size, _) = layout(K);
        let has_min = K == Q4_1 || K == Q5_1;
        let nb = acts[0].d.len();
        let wp = w.as_ptr();
        let mut acc = [f32x4_splat(0.0); R];
        let mut mins = [f32x4_splat(0.0); R];
        // Four blocks at a time: their four integer sums gathered into one
        // vector (lane i: block b + i), so the per-block scaling, the float
        // work that dominates once the integer dot product is one instruction,
        // is one conversion and two multiplies for four blocks.
        let mut b = 0;
        while b + 4 <= nb {
            let p = wp.add(b * size);
            let (v00, v01) = values::<K, RELAXED>(p);
            let (v10, v11) = values::<K, RELAXED>(p.add(size));
            let (v20, v21) = values::<K, RELAXED>(p.add(2 * size));
            let (v30, v31) = values::<K, RELAXED>(p.add(3 * size));
            let (dw, mw) = scales4(p, size, has_min);
            for r in 0..R {
                let a = acts.get_unchecked(r);
                let sums = gather4(
                    block_dot::<K, RELAXED, I16>(v00, v01, a, b),
                    block_dot::<K, RELAXED, I16>(v10, v11, a, b + 1),
                    block_dot::<K, RELAXED, I16>(v20, v21, a, b + 2),
                    block_dot::<K, RELAXED, I16>(v30, v31, a, b + 3),
                );
                let da = v128_load(a.d.as_ptr().add(b) as *const v128);
                let acc_r = acc.get_unchecked_mut(r);
                *acc_r = f32x4_add(*acc_r, f32x4_mul(f32x4_convert_i32x4(sums), f32x4_mul(dw, da)));
                if has_min {
                    let m = mins.get_unchecked_mut(r);
                    *m = f32x4_add(*m, f32x4_mul(mw, v128_load(a.s.as_ptr().add(b) as *const v128)));
                }
            }
            b += 4;
        }
        // The last blocks one at a time; their lanes land anywhere in the
        // accumulators, which are summed whole at the end.
        while b < nb {
            let (v0, v1) = values::<K, RELAXED>(wp.add(b * size));
            let dw = f16_at(t, w, b * size);
            let mw = if has_min { f16_at(t, w, b * size + 2) } else { 0.0 };
            for r in 0..R {
                let a = acts.get_unchecked(r);
                let si = block_dot::<K, RELAXED, I16>(v0, v1, a, b);
                let acc_r = acc.get_unchecked_mut(r);
                *acc_r = f32x4_add(*acc_r, f32x4_mul(f32x4_convert_i32x4(si), f32x4_splat(dw * *a.d.get_unchecked(b))));
                if has_min {
                    let m = mins.get_unchecked_mut(r);
                    *m = f32x4_add(*m, f32x4_replace_lane::<0>(f32x4_splat(0.0), mw * *a.s.get_unchecked(b)));
                }
            }
            b += 1;
        }
        let mut out = [0f32; R];
        for r in 0..R {
            out[r] = hsum(f32x4_add(acc[r], mins[r]));
        }
        out
    }

    /// A block's values as `tile` multiplies them: as stored for relaxed SIMD,
    /// centred for simd128.
    #[inline(always)]
    unsafe fn values<const K: u8, const RELAXED: bool>(blk: *const u8) -> (v128, v128) {
        if RELAXED {
            unpack::<K, false>(blk)
        } else {
            unpack::<K, true>(blk)
        }
    }

    /// The scales of four consecutive blocks (their first f16) as f32 lanes,
    /// and for the types with a minimum (the f16 after it) their minimums,
    /// widened in vectors: eight table lookups and lane inserts cost about as
    /// much as the four blocks' dot products.
    #[inline(always)]
    unsafe fn scales4(p: *const u8, size: usize, min: bool) -> (v128, v128) {
        if min {
            // Each u32 lane holds a block's scale (low half) and minimum
            // (high half, where `widen4` takes it).
            let mut v = u32x4_splat(0);
            v = v128_load32_lane::<0>(v, p as *const u32);
            v = v128_load32_lane::<1>(v, p.add(size) as *const u32);
            v = v128_load32_lane::<2>(v, p.add(2 * size) as *const u32);
            v = v128_load32_lane::<3>(v, p.add(3 * size) as *const u32);
            (widen4(u32x4_shl(v, 16)), widen4(v))
        } else {
            // Each scale into the high half of a u32 lane.
            let mut v = u32x4_splat(0);
            v = v128_load16_lane::<1>(v, p as *const u16);
            v = v128_load16_lane::<3>(v, p.add(size) as *const u16);
            v = v128_load16_lane::<5>(v, p.add(2 * size) as *const u16);
            v = v128_load16_lane::<7>(v, p.add(3 * size) as *const u16);
            (widen4(v), f32x4_splat(0.0))
        }
    }

    /// Four vectors' lane totals as one vector: lane i is the sum of `s_i`'s lanes.
    #[inline(always)]
    unsafe fn gather4(s0: v128, s1: v128, s2: v128, s3: v128) -> v128 {
        let s01 = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(s0, s1), i32x4_shuffle::<2, 6, 3, 7>(s0, s1));
        let s23 = i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(s2, s3), i32x4_shuffle::<2, 6, 3, 7>(s2, s3));
        i32x4_add(i32x4_shuffle::<0, 1, 4, 5>(s01, s23), i32x4_shuffle::<2, 3, 6, 7>(s01, s23))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::QTensor;

    /// A deterministic pseudo-random sequence (no dev-dependency for it).
    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn quantized(dtype: GgmlDType, rows: usize, cols: usize, seed: u64) -> (Vec<u8>, Tensor) {
        let w = Tensor::from_vec(noise(rows * cols, seed), (rows, cols), &Device::Cpu).unwrap();
        let q = QTensor::quantize(&w, dtype).unwrap();
        let bytes = q.data().unwrap().into_owned();
        (bytes, q.dequantize(&Device::Cpu).unwrap())
    }

    /// Every type with a kernel here, and one (Q3_K) that goes through candle.
    const EVERY_TYPE: [GgmlDType; 10] = [
        GgmlDType::Q4_0,
        GgmlDType::Q4_1,
        GgmlDType::Q5_0,
        GgmlDType::Q5_1,
        GgmlDType::Q8_0,
        GgmlDType::Q4K,
        GgmlDType::Q5K,
        GgmlDType::Q6K,
        GgmlDType::F16,
        GgmlDType::Q3K,
    ];

    /// Split across threads, every product (one token or a prompt, one matrix
    /// or several sharing the input) is bit-for-bit the one-thread product.
    #[cfg(feature = "parallel")]
    #[test]
    fn threads_give_the_one_thread_products() {
        let pool = |n| rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap();
        let (one, four) = (pool(1), pool(4));
        let (rows, cols) = (1536, 576);
        for dtype in EVERY_TYPE {
            let cols = if dtype.block_size() == 256 { 768 } else { cols };
            let (bytes, _) = quantized(dtype, rows, cols, 7);
            let (bytes2, _) = quantized(dtype, rows / 3, cols, 8);
            let w = Weight::from_gguf_bytes(dtype, rows, cols, bytes).unwrap();
            let w2 = Weight::from_gguf_bytes(dtype, rows / 3, cols, bytes2).unwrap();
            // One token, and a prompt of a tile and a row left over.
            for m in [1, TILE + 1] {
                let x = noise(m * cols, 9);
                let run = |pool: &rayon::ThreadPool| {
                    pool.install(|| {
                        let (mut a, mut b) = (vec![0.0; m * rows], vec![0.0; m * rows / 3]);
                        matmul_shared(&x, m, &mut [(&w, &mut a), (&w2, &mut b)], &mut Activations::default()).unwrap();
                        (a, b)
                    })
                };
                let (a1, b1) = run(&one);
                let (a4, b4) = run(&four);
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&a1), bits(&a4), "{dtype:?} m {m}");
                assert_eq!(bits(&b1), bits(&b4), "{dtype:?} m {m}");
            }
        }
    }

    /// Against candle's own quantized product (same 8-bit activations, same
    /// f16 scales: only the float summation order differs) and, loosely,
    /// against the f32 product of the dequantized weights. Run natively (the
    /// portable kernel) and under wasm32-wasip1 with simd128 (scripts/test.sh).
    #[test]
    fn kernels_agree_with_candle() {
        // Activation rows: one tile and two left over. Weight rows: a chunk and
        // part of another. Columns: two K-quant super-blocks; 18 blocks of 32
        // (the kernels take four at a time, then the rest).
        let (rows, m) = (CHUNK + 8, TILE + 2);
        for dtype in EVERY_TYPE {
            let cols = if dtype.block_size() == 256 { 512 } else { 576 };
            let (bytes, deq) = quantized(dtype, rows, cols, 7);
            let x = noise(m * cols, 99);
            let xt = Tensor::from_slice(&x, (m, cols), &Device::Cpu).unwrap();
            let f32_product: Vec<f32> = xt.matmul(&deq.t().unwrap()).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            let q = qtensor_from_ggml(dtype, &bytes, vec![rows, cols], &Device::Cpu).unwrap();
            let candle: Vec<f32> =
                QMatMul::from_qtensor(q).unwrap().forward(&xt).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            let w = Weight::from_gguf_bytes(dtype, rows, cols, bytes).unwrap();
            assert_eq!(w.has_own_kernel(), dtype != GgmlDType::Q3K, "{dtype:?}");
            let mut out = vec![0f32; m * rows];
            w.matmul(&x, m, &mut out, &mut Activations::default()).unwrap();
            let scale = candle.iter().fold(0f32, |a, v| a.max(v.abs()));
            // The plain portable loops (what a CPU without AVX2 or simd128 runs)
            // against whichever kernel ran above.
            let portable = |i: usize, j: usize| -> Option<f32> {
                match &w.store {
                    Store::Blocks(kind, bytes) => {
                        let mut a = Activations::default();
                        a.quantize(&x, m, cols, Extras::ALL);
                        let (nb, rb) = (cols / BLOCK, cols / BLOCK * kind.bytes());
                        Some(portable::dot(
                            *kind,
                            f16_table(),
                            &bytes[j * rb..(j + 1) * rb],
                            &a.qs[i * cols..(i + 1) * cols],
                            &a.d[i * nb..(i + 1) * nb],
                            &a.s[i * nb..(i + 1) * nb],
                        ))
                    }
                    Store::Super(kind, bytes) => {
                        let mut a = kquant::Act8K::default();
                        a.quantize(&x, m, cols);
                        let rb = cols / kquant::SUPER * kind.bytes();
                        let wr = &bytes[j * rb..(j + 1) * rb];
                        Some(kquant::portable::dot_tile(*kind, f16_table(), wr, &[a.row(i, cols)])[0])
                    }
                    _ => None,
                }
            };
            for i in 0..m {
                for j in 0..rows {
                    if let Some(p) = portable(i, j) {
                        assert!((p - out[i * rows + j]).abs() <= 1e-4 * scale, "{dtype:?} portable [{i},{j}]");
                    }
                }
            }
            let simd = cfg!(target_feature = "simd128");
            for (i, ((a, c), f)) in out.iter().zip(&candle).zip(&f32_product).enumerate() {
                assert!((a - c).abs() <= 1e-4 * scale, "{dtype:?} [{i}] {a} vs candle {c} (simd128: {simd})");
                // 8-bit activations: about 1/254 of each block's largest value per term.
                assert!((a - f).abs() <= 0.02 * scale, "{dtype:?} [{i}] {a} vs f32 {f}");
            }
        }
    }

    /// Every bit pattern of a K-quant super-block's scales and high bits
    /// matters: random bytes (not only what a quantizer writes) against
    /// candle's dequantization and product.
    #[test]
    fn k_quants_agree_with_candle_on_arbitrary_bytes() {
        let (rows, m, cols) = (5, 5, 256);
        for dtype in [GgmlDType::Q4K, GgmlDType::Q5K, GgmlDType::Q6K] {
            let size = dtype.type_size();
            let mut bytes: Vec<u8> = noise(rows * size, 11).iter().map(|v| ((v + 1.0) * 127.9) as u8).collect();
            // Keep the f16 scales small and finite so the products are comparable.
            for b in bytes.chunks_exact_mut(size) {
                let at = if dtype == GgmlDType::Q6K { vec![208] } else { vec![0, 2] };
                for a in at {
                    b[a..a + 2].copy_from_slice(&half::f16::from_f32(0.01).to_le_bytes());
                }
            }
            let q = qtensor_from_ggml(dtype, &bytes, vec![rows, cols], &Device::Cpu).unwrap();
            let deq: Vec<f32> = q.dequantize(&Device::Cpu).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            let x = noise(m * cols, 3);
            let xt = Tensor::from_slice(&x, (m, cols), &Device::Cpu).unwrap();
            let candle: Vec<f32> =
                QMatMul::from_qtensor(q).unwrap().forward(&xt).unwrap().flatten_all().unwrap().to_vec1().unwrap();
            let w = Weight::from_gguf_bytes(dtype, rows, cols, bytes).unwrap();
            let mut row = vec![0f32; cols];
            for r in 0..rows {
                w.row(r, &mut row).unwrap();
                assert_eq!(row, deq[r * cols..(r + 1) * cols], "{dtype:?} row {r}");
            }
            let mut out = vec![0f32; m * rows];
            w.matmul(&x, m, &mut out, &mut Activations::default()).unwrap();
            let scale = candle.iter().fold(0f32, |a, v| a.max(v.abs()));
            for (i, (a, c)) in out.iter().zip(&candle).enumerate() {
                assert!((a - c).abs() <= 1e-4 * scale, "{dtype:?} [{i}] {a} vs candle {c}");
            }
        }
    }

    /// The widest Q8_0 products: weights of −128 against activations at ±127.
    #[test]
    fn q8_0_extremes_do_not_overflow() {
        let (rows, cols) = (2, 64);
        let mut bytes = Vec::new();
        for _ in 0..rows * cols / BLOCK {
            bytes.extend_from_slice(&half::f16::from_f32(1.0).to_le_bytes());
            bytes.extend_from_slice(&[0x80; 32]);
        }
        let x: Vec<f32> = (0..cols).map(|i| if i % 3 == 0 { -1.0 } else { 1.0 }).collect();
        let want: f32 = x.iter().map(|v| v * -128.0).sum();
        let w = Weight::from_gguf_bytes(GgmlDType::Q8_0, rows, cols, bytes).unwrap();
        let mut out = vec![0f32; rows];
        w.matmul(&x, 1, &mut out, &mut Activations::default()).unwrap();
        for o in out {
            assert!((o - want).abs() <= 1e-3 * want.abs(), "{o} vs {want}");
        }
    }

    /// A prompt's rows, taken eight, four, two and one at a time, are each
    /// the product of that row alone, bit for bit.
    #[test]
    fn a_prompts_rows_are_each_rows_own_product() {
        let rows = 70;
        let m = TILE + 4 + 2 + 1;
        for dtype in EVERY_TYPE {
            let cols = if dtype.block_size() == 256 { 512 } else { 576 };
            let w = Weight::from_gguf_bytes(dtype, rows, cols, quantized(dtype, rows, cols, 11).0).unwrap();
            let x = noise(m * cols, 12);
            let mut acts = Activations::default();
            let mut all = vec![0f32; m * rows];
            w.matmul(&x, m, &mut all, &mut acts).unwrap();
            for (i, (xr, want)) in x.chunks_exact(cols).zip(all.chunks_exact(rows)).enumerate() {
                let mut one = vec![0f32; rows];
                w.matmul(xr, 1, &mut one, &mut acts).unwrap();
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&one), bits(want), "{dtype:?} row {i} of {m}");
            }
        }
    }

    #[test]
    fn shared_input_gives_the_same_products() {
        let (a, b) = (quantized(GgmlDType::Q4_1, 8, 64, 1).0, quantized(GgmlDType::Q8_0, 5, 64, 2).0);
        let (a, b) = (
            Weight::from_gguf_bytes(GgmlDType::Q4_1, 8, 64, a).unwrap(),
            Weight::from_gguf_bytes(GgmlDType::Q8_0, 5, 64, b).unwrap(),
        );
        let x = noise(2 * 64, 5);
        let mut acts = Activations::default();
        let (mut ya, mut yb) = (vec![0f32; 16], vec![0f32; 10]);
        matmul_shared(&x, 2, &mut [(&a, &mut ya), (&b, &mut yb)], &mut acts).unwrap();
        let (mut za, mut zb) = (vec![0f32; 16], vec![0f32; 10]);
        a.matmul(&x, 2, &mut za, &mut acts).unwrap();
        b.matmul(&x, 2, &mut zb, &mut acts).unwrap();
        assert_eq!((ya, yb), (za, zb));
        let mut wrong = vec![0f32; 3];
        assert!(a.matmul(&x, 2, &mut wrong, &mut acts).is_err());
    }

    /// The wasm test run must exercise the simd128 kernels, not the portable ones.
    #[cfg(target_arch = "wasm32")]
    #[test]
    fn wasm_builds_use_simd128() {
        assert!(cfg!(target_feature = "simd128"), "build with -C target-feature=+simd128");
        assert_eq!(RELAXED, cfg!(feature = "relaxed-simd"));
    }

    /// The relaxed-SIMD kernels against the simd128 ones in the same build, on
    /// quantizer output, on arbitrary bytes (every weight value, Q8_0's −128
    /// included) and on every value at its largest against activations at
    /// theirs: K-quants bit for bit (their integer sums are exact and scaled
    /// in the same order), blocks of 32 to f32 rounding (their lanes are
    /// summed in another grouping). Both `DotSums` give the same bits.
    #[cfg(all(feature = "relaxed-simd", target_feature = "simd128"))]
    #[test]
    fn relaxed_kernels_agree_with_simd128() {
        use crate::dot_sums::{self, DotSums};
        assert!(RELAXED);
        let (rows, m) = (7, 5);
        for dtype in EVERY_TYPE.into_iter().filter(|d| Blocks::of(*d).is_some() || kquant::Kind::of(*d).is_some()) {
            // 18 blocks of 32: four at a time, then two.
            let cols = if dtype.block_size() == 256 { 512 } else { 576 };
            let size = dtype.type_size() * rows * cols / dtype.block_size();
            let mut arbitrary: Vec<u8> = noise(size, 5).iter().map(|v| ((v + 1.0) * 127.9) as u8).collect();
            // Small finite f16 scales: the bytes elsewhere are arbitrary.
            let scale_at: &[usize] = match dtype {
                GgmlDType::Q6K => &[208],
                GgmlDType::Q4K | GgmlDType::Q5K | GgmlDType::Q4_1 | GgmlDType::Q5_1 => &[0, 2],
                _ => &[0],
            };
            for blk in arbitrary.chunks_exact_mut(dtype.type_size()) {
                for &at in scale_at {
                    blk[at..at + 2].copy_from_slice(&half::f16::from_f32(0.01).to_le_bytes());
                }
            }
            // Every value at its largest (Q8_0: −128): the i16 sums' bound.
            let mut extreme = vec![if dtype == GgmlDType::Q8_0 { 0x80 } else { 0xFF }; size];
            for blk in extreme.chunks_exact_mut(dtype.type_size()) {
                for &at in scale_at {
                    blk[at..at + 2].copy_from_slice(&half::f16::from_f32(0.01).to_le_bytes());
                }
            }
            for bytes in [quantized(dtype, rows, cols, 3).0, arbitrary, extreme] {
                // Rows 0 and 1 at the activations' extremes (±127, and −128
                // for the K-quants' Q8_K), the others noise.
                let mut x = noise(m * cols, 4);
                x[..cols].fill(1.0);
                x[cols..2 * cols].fill(-1.0);
                let mut a = Activations::default();
                a.quantize(&x, m, cols, Extras::ALL);
                a.k.quantize(&x, m, cols);
                let t = f16_table();
                let nb = cols / BLOCK;
                let rb = bytes.len() / rows;
                for j in 0..rows {
                    let wr = &bytes[j * rb..(j + 1) * rb];
                    for i in 0..m {
                        // SAFETY: whole rows of weights and activations; the
                        // engine running this test validated relaxed SIMD.
                        let run = |sums| unsafe {
                            dot_sums::set(sums);
                            match (Blocks::of(dtype), kquant::Kind::of(dtype)) {
                                (Some(kind), _) => {
                                    let act = Act {
                                        qs: &a.qs[i * cols..(i + 1) * cols],
                                        d: &a.d[i * nb..(i + 1) * nb],
                                        s: &a.s[i * nb..(i + 1) * nb],
                                        lanes: &a.lanes[i * nb * 4..(i + 1) * nb * 4],
                                        pos: &a.pos[i * cols..(i + 1) * cols],
                                        neg: &a.neg[i * cols..(i + 1) * cols],
                                    };
                                    (
                                        simd::dot_tile(kind, t, wr, &[act])[0],
                                        simd::dot_tile_relaxed(kind, t, wr, &[act])[0],
                                    )
                                }
                                (_, Some(kind)) => {
                                    let row = a.k.row(i, cols);
                                    (kquant::simd_dot(kind, t, wr, row), kquant::relaxed_dot(kind, t, wr, row))
                                }
                                _ => unreachable!(),
                            }
                        };
                        let (simd, relaxed) = run(DotSums::I32);
                        let (_, in_i16) = run(DotSums::I16);
                        dot_sums::set(DotSums::I32);
                        assert_eq!(relaxed.to_bits(), in_i16.to_bits(), "{dtype:?} [{i},{j}] {relaxed} vs {in_i16}");
                        if let Some(kind) = Blocks::of(dtype) {
                            // Summed in another order: to f32 rounding of the
                            // terms' magnitudes, which may cancel.
                            let mut w = vec![0.0; cols];
                            dequantize_row(kind, wr, &mut w);
                            let terms: f32 = w.iter().zip(&x[i * cols..]).map(|(w, x)| (w * x).abs()).sum();
                            assert!(
                                (simd - relaxed).abs() <= 1e-5 * terms.max(1.0),
                                "{dtype:?} [{i},{j}] {simd} vs {relaxed}"
                            );
                        } else {
                            assert_eq!(simd.to_bits(), relaxed.to_bits(), "{dtype:?} [{i},{j}] {simd} vs {relaxed}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn rows_are_the_dequantized_rows() {
        for dtype in EVERY_TYPE {
            let (bytes, deq) = quantized(dtype, 5, 256, 3);
            let w = Weight::from_gguf_bytes(dtype, 5, 256, bytes).unwrap();
            let mut row = vec![0f32; 256];
            w.row(3, &mut row).unwrap();
            let want: Vec<f32> = deq.get(3).unwrap().to_vec1().unwrap();
            assert_eq!(row, want, "{dtype:?}");
            assert!(w.row(5, &mut row).is_err());
        }
    }

    #[test]
    fn wrong_sizes_are_errors_not_panics() {
        assert!(matches!(
            Weight::from_gguf_bytes(GgmlDType::Q4_1, 2, 64, vec![0; 79]),
            Err(WeightError::Size { expected: 80, .. })
        ));
        assert!(matches!(
            Weight::from_gguf_bytes(GgmlDType::Q8_0, 2, 40, vec![0; 10]),
            Err(WeightError::Ragged { .. })
        ));
    }

    #[test]
    fn activations_of_zeros_do_not_divide_by_zero() {
        let mut a = Activations::default();
        a.quantize(&[0.0; 64], 1, 64, Extras::ALL);
        assert!(a.qs.iter().all(|&q| q == 0) && a.d.iter().all(|d| *d == 0.0));
    }
}
