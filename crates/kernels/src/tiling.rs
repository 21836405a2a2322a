//! Tiling: how a band of weight rows meets the activation rows. Each weight
//! block is unpacked once for a tile of activation rows, and a chunk of
//! weight rows stays in cache while every tile meets it; the arithmetic of
//! each row is the same whatever the tile, so the results are too.

use std::ops::Range;

use crate::activations::{Act, Activations, Extras};
use crate::arch;
use crate::blocks::{Blocks, BLOCK};
#[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
use crate::interleaved::QUAD;
use crate::{float16, kquant, vector};

/// A product the integer kernels run: activation row `i` as its kernel takes
/// it, and one weight row against `R` of them.
pub(crate) trait Kernel<'a> {
    type Act: Copy;
    fn act(&self, i: usize) -> Self::Act;
    fn dot<const R: usize>(&self, w: &[u8], acts: &[Self::Act; R]) -> [f32; R];
}

/// Blocks of 32 against activations quantized in blocks of 32.
pub(crate) struct Blocks32<'a> {
    pub(crate) kind: Blocks,
    pub(crate) t: &'a [f32],
    pub(crate) a: &'a Activations,
    pub(crate) cols: usize,
    pub(crate) extras: Extras,
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
            sums: row_if(self.extras.sums, &a.sums, i, nb),
        }
    }

    fn dot<const R: usize>(&self, w: &[u8], acts: &[Act<'a>; R]) -> [f32; R] {
        arch::dot_tile(self.kind, self.t, w, acts)
    }
}

/// K-quant super-blocks against activations quantized as Q8_K.
pub(crate) struct Super256<'a> {
    pub(crate) kind: kquant::Kind,
    pub(crate) t: &'a [f32],
    pub(crate) a: &'a kquant::Act8K,
    pub(crate) cols: usize,
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
pub(crate) const CHUNK: usize = 64;

/// Rows `js` of an integer product into `out` (`m × js.len()`). In a prompt,
/// each weight block is unpacked once for `TILE` activation rows (the rows
/// left over in fours, twos, then one at a time), and a group's rows are
/// looked up once for a chunk of weight rows, not once per weight row; a
/// lone row goes through `lone_rows`.
pub(crate) fn band<'a, K: Kernel<'a>>(k: &K, w: &[u8], row_bytes: usize, m: usize, js: Range<usize>, out: &mut [f32]) {
    let n = js.len();
    let rows = &w[js.start * row_bytes..js.end * row_bytes];
    if m == 1 {
        return lone_rows(k, rows, row_bytes, out);
    }
    for (c, chunk) in rows.chunks(CHUNK * row_bytes).enumerate() {
        let at = Columns { j0: c * CHUNK, n };
        let i = rows_by::<K, TILE>(k, chunk, row_bytes, (0, m), at, out);
        let i = rows_by::<K, 4>(k, chunk, row_bytes, (i, m), at, out);
        let i = rows_by::<K, 2>(k, chunk, row_bytes, (i, m), at, out);
        rows_by::<K, 1>(k, chunk, row_bytes, (i, m), at, out);
    }
}

/// One activation row (a decoded token) against a band's weight `rows`,
/// which it reads once from memory: each row's bytes are asked for
/// `AHEAD` bytes before the kernel reads them, so that more misses are in
/// flight than the kernel's own loads, each among many instructions, keep
/// (x86-64; elsewhere the rows are read as they come).
fn lone_rows<'a, K: Kernel<'a>>(k: &K, rows: &[u8], row_bytes: usize, out: &mut [f32]) {
    let act = [k.act(0)];
    for (j, (wr, o)) in rows.chunks_exact(row_bytes).zip(out.iter_mut()).enumerate() {
        let end = ((j + 1) * row_bytes + AHEAD).min(rows.len());
        let start = (j * row_bytes + AHEAD).min(end);
        prefetch(&rows[start..end]);
        let [v] = k.dot(wr, &act);
        *o = v;
    }
}

/// How far ahead of the kernel `lone_rows` asks for a row's bytes: past a
/// miss's latency at the memory's pace, within the caches. 4 and 8 KiB ran
/// alike on the models measured, 16 KiB no better (the README's speed notes).
const AHEAD: usize = 4096;

/// Asks for `bytes`' cache lines ahead of their use.
#[inline(always)]
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in bytes.chunks(64) {
        // SAFETY: a prefetch reads nothing architecturally and never faults.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(line.as_ptr() as *const i8) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
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

/// A product over weights interleaved in quads of rows (`interleaved`):
/// activation row `i` as its kernel takes it, and `P` quads against `R` of
/// them, for each quad each row's products with its four rows.
#[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
pub(crate) trait QuadKernel<'a> {
    type Act: Copy;
    fn act(&self, i: usize) -> Self::Act;
    fn quad_dot<const R: usize, const P: usize>(&self, w: [&[u8]; P], acts: &[Self::Act; R]) -> [[[f32; QUAD]; R]; P];
    /// The tile a prompt's rows meet these weights in.
    fn prompt_tile(&self) -> PromptTile;
}

/// How a prompt's activation rows meet interleaved weights: how many rows
/// share each unpacked quad, against how many quads at once. The kernels
/// differ in what a tile costs them: where unpacking is dear (nibbles, six
/// bits) three rows share it; where it is a plain load (Q8_0, Q6_K held a
/// byte a value) two rows against two quads keep more chains of dot
/// products going with fewer loads (the README's speed notes have the
/// measurement).
#[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PromptTile {
    ThreeRows,
    TwoRowsTwoQuads,
}

#[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
impl<'a> QuadKernel<'a> for Blocks32<'a> {
    type Act = Act<'a>;

    fn act(&self, i: usize) -> Act<'a> {
        Kernel::act(self, i)
    }

    fn quad_dot<const R: usize, const P: usize>(&self, w: [&[u8]; P], acts: &[Act<'a>; R]) -> [[[f32; QUAD]; R]; P] {
        crate::interleaved::blocks32::dot_tile(self.kind, w, acts)
    }

    fn prompt_tile(&self) -> PromptTile {
        crate::interleaved::blocks32::prompt_tile(self.kind)
    }
}

/// K-quant super-blocks interleaved in quads, laid out as `layout` says,
/// against activations quantized as Q8_K.
#[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
pub(crate) struct KQuads<'a> {
    pub(crate) layout: crate::interleaved::Layout,
    pub(crate) a: &'a kquant::Act8K,
    pub(crate) cols: usize,
}

#[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
impl<'a> QuadKernel<'a> for KQuads<'a> {
    type Act = kquant::Row<'a>;

    fn act(&self, i: usize) -> kquant::Row<'a> {
        self.a.row(i, self.cols)
    }

    fn quad_dot<const R: usize, const P: usize>(
        &self,
        w: [&[u8]; P],
        acts: &[kquant::Row<'a>; R],
    ) -> [[[f32; QUAD]; R]; P] {
        crate::interleaved::dot_tile(self.layout, w, acts)
    }

    fn prompt_tile(&self) -> PromptTile {
        self.layout.prompt_tile()
    }
}

/// Rows `js` (whole quads) of an interleaved product into `out`
/// (`m × js.len()`), chunk by chunk as `band` goes, in the kernel's
/// `PromptTile` (the rows left over one at a time); a lone row as
/// `lone_row` reads it.
/// `quad_bytes` is one quad of rows' bytes.
#[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
pub(crate) fn quad_band<'a, K: QuadKernel<'a>>(
    k: &K,
    w: &[u8],
    quad_bytes: usize,
    m: usize,
    js: Range<usize>,
    out: &mut [f32],
) {
    let quads = &w[js.start / QUAD * quad_bytes..js.end / QUAD * quad_bytes];
    if m == 1 {
        // A lone row (a decoded token) reuses nothing from cache.
        return lone_row(k, quads, quad_bytes, out);
    }
    for (c, chunk) in quads.chunks(CHUNK / QUAD * quad_bytes).enumerate() {
        let at = Columns { j0: c * CHUNK, n: js.len() };
        let i = match k.prompt_tile() {
            PromptTile::ThreeRows => quads_by::<K, 3, 1>(k, chunk, quad_bytes, (0, m), at, out),
            PromptTile::TwoRowsTwoQuads => quads_by::<K, 2, 2>(k, chunk, quad_bytes, (0, m), at, out),
        };
        quads_by::<K, 1, 1>(k, chunk, quad_bytes, (i, m), at, out);
    }
}

/// As `rows_by`, `R` activation rows against `P` quads of weight rows at a
/// time (the quads left over one at a time).
#[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
#[inline(always)]
fn quads_by<'a, K: QuadKernel<'a>, const R: usize, const P: usize>(
    k: &K,
    chunk: &[u8],
    quad_bytes: usize,
    (from, to): (usize, usize),
    at: Columns,
    out: &mut [f32],
) -> usize {
    let n = chunk.len() / quad_bytes;
    let quad = |q: usize| &chunk[q * quad_bytes..(q + 1) * quad_bytes];
    let mut i = from;
    while i + R <= to {
        let acts: [K::Act; R] = std::array::from_fn(|r| k.act(i + r));
        let mut put = |q: usize, products: [[f32; QUAD]; R]| {
            for (r, v) in products.into_iter().enumerate() {
                let o = (i + r) * at.n + at.j0 + QUAD * q;
                out[o..o + QUAD].copy_from_slice(&v);
            }
        };
        for first in (0..n / P).map(|g| g * P) {
            let qs: [usize; P] = std::array::from_fn(|p| first + p);
            for (q, products) in qs.into_iter().zip(k.quad_dot(qs.map(quad), &acts)) {
                put(q, products);
            }
        }
        for q in n / P * P..n {
            let [products] = k.quad_dot([quad(q)], &acts);
            put(q, products);
        }
        i += R;
    }
    i
}

/// One activation row against a band's `quads` into `out`: `LONE_QUADS`
/// quads at a time, one from each of as many stretches of the band, so
/// that the kernel's loop reads that many sequential streams of memory.
/// One stream at a time leaves the hardware too few misses in flight, each
/// load among dozens of the kernel's instructions (the README's speed
/// notes have the measurement; `throughput` with `FROM_MEMORY=1` reruns
/// it). The quads the stretches leave over go one at a time.
#[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
fn lone_row<'a, K: QuadKernel<'a>>(k: &K, quads: &[u8], quad_bytes: usize, out: &mut [f32]) {
    let act = [k.act(0)];
    let n = quads.len() / quad_bytes;
    let per = n / LONE_QUADS;
    let quad = |q: usize| &quads[q * quad_bytes..(q + 1) * quad_bytes];
    for first in 0..per {
        let qs: [usize; LONE_QUADS] = std::array::from_fn(|s| first + s * per);
        for (q, [v]) in qs.into_iter().zip(k.quad_dot(qs.map(quad), &act)) {
            out[QUAD * q..QUAD * (q + 1)].copy_from_slice(&v);
        }
    }
    for q in LONE_QUADS * per..n {
        let [[v]] = k.quad_dot([quad(q)], &act);
        out[QUAD * q..QUAD * (q + 1)].copy_from_slice(&v);
    }
}

/// Quads a lone row's kernel reads at once (`lone_row`): four. Two kept
/// too few lines in flight, and more than four spilled the kernels'
/// accumulators without reading faster (the README's speed notes).
#[cfg(all(target_feature = "simd128", feature = "relaxed-simd"))]
const LONE_QUADS: usize = 4;

/// Rows `js` of an F16 product into `out` (`m × js.len()`): each weight row
/// widened once, then met by every activation row.
pub(crate) fn f16_band(w: &[u8], cols: usize, x: &[f32], m: usize, js: Range<usize>, out: &mut [f32]) {
    let n = js.len();
    let mut wide = vec![0.0; cols];
    for (j, wr) in w[js.start * 2 * cols..js.end * 2 * cols].chunks_exact(2 * cols).enumerate() {
        float16::widen_row(wr, &mut wide);
        for (i, xr) in x.chunks_exact(cols).enumerate().take(m) {
            out[i * n + j] = vector::dot::<4>(&wide, xr);
        }
    }
}

/// Activation rows per weight-block unpack in a prompt. Eight, not four:
/// Q5_0's unpacking, the dearest, is then shared by twice the rows (the
/// README's speed notes have the measurement).
pub(crate) const TILE: usize = 8;
