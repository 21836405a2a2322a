//! The kernels against candle's and against each other: every type, every
//! target this build has, threads and tiles.

use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};

#[cfg(target_arch = "wasm32")]
use crate::activations::RELAXED;
use crate::activations::{Act, Extras};
use crate::arch::portable;
#[cfg(all(feature = "relaxed-simd", target_feature = "simd128"))]
use crate::arch::{relaxed, simd128};
use crate::blocks::f16_table;
use crate::testing::noise;
use crate::tiling::{CHUNK, TILE};
use crate::weight::Store;
use crate::*;
#[cfg(all(feature = "relaxed-simd", target_feature = "simd128"))]
use crate::{blocks::dequantize_row, blocks::Blocks};

pub(crate) fn quantized(dtype: GgmlDType, rows: usize, cols: usize, seed: u64) -> (Vec<u8>, Tensor) {
    let w = Tensor::from_vec(noise(rows * cols, seed), (rows, cols), &Device::Cpu).unwrap();
    let q = QTensor::quantize(&w, dtype).unwrap();
    let bytes = q.data().unwrap().into_owned();
    (bytes, q.dequantize(&Device::Cpu).unwrap())
}

/// Weights of `dtype` that bound the kernels' integer sums: quantized noise,
/// arbitrary bytes (every pattern of scales and high bits) and every value at
/// its largest (Q8_0: −128), each with small finite f16 scales.
#[cfg_attr(not(any(target_arch = "x86_64", feature = "relaxed-simd")), allow(dead_code))]
fn bounding_weights(dtype: GgmlDType, rows: usize, cols: usize) -> [Vec<u8>; 3] {
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
    [quantized(dtype, rows, cols, 3).0, arbitrary, extreme]
}

/// Row `i` of `a` (rows of `cols`) with what every kernel but relaxed SIMD's reads.
fn plain_act(a: &Activations, i: usize, cols: usize) -> Act<'_> {
    let nb = cols / BLOCK;
    Act {
        qs: &a.qs[i * cols..(i + 1) * cols],
        d: &a.d[i * nb..(i + 1) * nb],
        s: &a.s[i * nb..(i + 1) * nb],
        lanes: &[],
        pos: &[],
        neg: &[],
        sums: &[],
    }
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
        let w = Weight::from_gguf_bytes(dtype, rows, cols, bytes, Holding::Compact).unwrap();
        let w2 = Weight::from_gguf_bytes(dtype, rows / 3, cols, bytes2, Holding::Compact).unwrap();
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
        let w = Weight::from_gguf_bytes(dtype, rows, cols, bytes, Holding::Compact).unwrap();
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
                    let rb = cols / BLOCK * kind.bytes();
                    let act = plain_act(&a, i, cols);
                    Some(portable::dot_tile(*kind, f16_table(), &bytes[j * rb..(j + 1) * rb], &[act])[0])
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
        let w = Weight::from_gguf_bytes(dtype, rows, cols, bytes, Holding::Compact).unwrap();
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
    let w = Weight::from_gguf_bytes(GgmlDType::Q8_0, rows, cols, bytes, Holding::Compact).unwrap();
    let mut out = vec![0f32; rows];
    w.matmul(&x, 1, &mut out, &mut Activations::default()).unwrap();
    for o in out {
        assert!((o - want).abs() <= 1e-3 * want.abs(), "{o} vs {want}");
    }
}

/// A prompt's rows, taken eight, four, two and one at a time, are each
/// the product of that row alone (a decoded token's path), bit for bit.
#[test]
fn a_prompts_rows_are_each_rows_own_product() {
    // Whole quads (interleaved in the relaxed-SIMD build), a chunk and part
    // of another: 18 quads, which a lone row takes four at a time and two
    // left over.
    let rows = CHUNK + 8;
    let m = TILE + 4 + 2 + 1;
    for (dtype, holding) in EVERY_TYPE.into_iter().flat_map(|d| [(d, Holding::Compact), (d, Holding::Fast)]) {
        let cols = if dtype.block_size() == 256 { 512 } else { 576 };
        let w = Weight::from_gguf_bytes(dtype, rows, cols, quantized(dtype, rows, cols, 11).0, holding).unwrap();
        let x = noise(m * cols, 12);
        let mut acts = Activations::default();
        let mut all = vec![0f32; m * rows];
        w.matmul(&x, m, &mut all, &mut acts).unwrap();
        for (i, (xr, want)) in x.chunks_exact(cols).zip(all.chunks_exact(rows)).enumerate() {
            let mut one = vec![0f32; rows];
            w.matmul(xr, 1, &mut one, &mut acts).unwrap();
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&one), bits(want), "{dtype:?} {holding:?} row {i} of {m}");
        }
    }
}

/// Blocks of 32, Q4_K and Q6_K are interleaved in quads where relaxed
/// SIMD is built in and the rows are whole quads, and kept as the GGUF has
/// them otherwise; both give the same products to f32 rounding, from what a
/// quantizer writes and with every value at its largest (Q8_0: −128), and
/// held fast (Q6_K a byte a value) the same bits as held compact.
#[test]
fn interleaved_where_they_can_be() {
    // Every type but Q5_K and F16, which keep the GGUF's layout, and Q3_K (candle's).
    let types = EVERY_TYPE.into_iter().filter(|d| !matches!(d, GgmlDType::Q5K | GgmlDType::F16 | GgmlDType::Q3K));
    for (dtype, extreme) in types.flat_map(|d| [(d, false), (d, true)]) {
        // Four activation rows: a prompt's tile of three, then one left over.
        let (rows, m) = (CHUNK + 8, 4);
        // Blocks of 32: four at a time and two left over in the GGUF's layout.
        let cols = if dtype.block_size() == 256 { 512 } else { 576 };
        let mut bytes = quantized(dtype, rows, cols, 21).0;
        if extreme {
            // Small finite f16 scales.
            bytes.fill(if dtype == GgmlDType::Q8_0 { 0x80 } else { 0xFF });
            let scale_at: &[usize] = match dtype {
                GgmlDType::Q6K => &[208],
                GgmlDType::Q4K | GgmlDType::Q4_1 | GgmlDType::Q5_1 => &[0, 2],
                _ => &[0],
            };
            for blk in bytes.chunks_exact_mut(dtype.type_size()) {
                for &at in scale_at {
                    blk[at..at + 2].copy_from_slice(&half::f16::from_f32(0.01).to_le_bytes());
                }
            }
        }
        // One row fewer: not whole quads, so the GGUF's layout.
        let row_bytes = cols / dtype.block_size() * dtype.type_size();
        let ragged_bytes = bytes[..(rows - 1) * row_bytes].to_vec();
        let ragged = Weight::from_gguf_bytes(dtype, rows - 1, cols, ragged_bytes, Holding::Fast).unwrap();
        assert!(matches!(ragged.store, Store::Super(..) | Store::Blocks(..)), "{dtype:?}");
        // Rows 0 and 1 at the activations' extremes, the last noise.
        let mut x = noise(m * cols, 22);
        x[..cols].fill(1.0);
        x[cols..2 * cols].fill(-1.0);
        let mut b = vec![0f32; m * (rows - 1)];
        ragged.matmul(&x, m, &mut b, &mut Activations::default()).unwrap();
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        let mut compact = Vec::new();
        for holding in [Holding::Compact, Holding::Fast] {
            let whole = Weight::from_gguf_bytes(dtype, rows, cols, bytes.clone(), holding).unwrap();
            let interleaved = cfg!(all(target_feature = "simd128", feature = "relaxed-simd"));
            assert_eq!(matches!(whole.store, Store::Quads(..) | Store::BlockQuads(..)), interleaved, "{dtype:?}");
            // What the pre-flight counts is what the store holds.
            assert_eq!(Weight::held_bytes(dtype, rows, cols, bytes.len() as u64, holding), whole.bytes() as u64);
            let mut a = vec![0f32; m * rows];
            whole.matmul(&x, m, &mut a, &mut Activations::default()).unwrap();
            // The quads' two forms of relaxed SIMD's sums: the same bits.
            let mut in_i16 = a.clone();
            relaxed_dot::set(relaxed_dot::DotSums::I16);
            whole.matmul(&x, m, &mut in_i16, &mut Activations::default()).unwrap();
            relaxed_dot::set(relaxed_dot::DotSums::I32);
            assert_eq!(bits(&in_i16), bits(&a), "{dtype:?} {holding:?} summed in i16 (extreme: {extreme})");
            let scale = a.iter().fold(0f32, |s, v| s.max(v.abs()));
            for i in 0..m {
                for j in 0..rows - 1 {
                    let (p, q) = (a[i * rows + j], b[i * (rows - 1) + j]);
                    assert!((p - q).abs() <= 1e-5 * scale, "{dtype:?} {holding:?} ({extreme}) [{i},{j}] {p} vs {q}");
                }
            }
            // Held fast, the same integer sums scaled alike: the same bits.
            if holding == Holding::Compact {
                compact = a;
            } else {
                assert_eq!(bits(&a), bits(&compact), "{dtype:?} held fast (extreme: {extreme})");
            }
            // And the rows as embeddings: what the GGUF's layout gives, bit for bit.
            let (mut p, mut q) = (vec![0f32; cols], vec![0f32; cols]);
            for r in [0, rows / 2 + 1, rows - 2] {
                whole.row(r, &mut p).unwrap();
                ragged.row(r, &mut q).unwrap();
                assert_eq!(bits(&p), bits(&q), "{dtype:?} {holding:?} row {r}");
            }
        }
    }
}

#[test]
fn shared_input_gives_the_same_products() {
    let (a, b) = (quantized(GgmlDType::Q4_1, 8, 64, 1).0, quantized(GgmlDType::Q8_0, 5, 64, 2).0);
    let (a, b) = (
        Weight::from_gguf_bytes(GgmlDType::Q4_1, 8, 64, a, Holding::Compact).unwrap(),
        Weight::from_gguf_bytes(GgmlDType::Q8_0, 5, 64, b, Holding::Compact).unwrap(),
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

/// `m` rows of activations for the bit comparisons: the first all 1, the
/// second all −1 (each quantized to its extreme), the rest noise.
#[cfg(target_arch = "x86_64")]
fn extreme_rows(m: usize, cols: usize) -> Vec<f32> {
    let mut x = noise(m * cols, 4);
    x[..cols].fill(1.0);
    x[cols..2 * cols].fill(-1.0);
    x
}

/// Two kernels' products (`plain`, `other`: a weight row's against the
/// tile's activation rows) to the bit, for each row of each of
/// `bounding_weights`; returns how many weight rows were compared.
#[cfg(target_arch = "x86_64")]
fn same_bits(
    dtype: GgmlDType,
    rows: usize,
    cols: usize,
    plain: impl Fn(&[u8]) -> Vec<f32>,
    other: impl Fn(&[u8]) -> Vec<f32>,
) -> usize {
    let mut compared = 0;
    for bytes in bounding_weights(dtype, rows, cols) {
        for wr in bytes.chunks_exact(bytes.len() / rows) {
            let (plain, other) = (plain(wr), other(wr));
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&plain), bits(&other), "{dtype:?}: {plain:?} against {other:?}");
            assert!(plain.iter().all(|v| v.is_finite()), "{dtype:?}: {plain:?}");
            compared += 1;
        }
    }
    compared
}

/// x86-64's AVX-VNNI kernel for blocks of 32 (`vpdpbusd`) against its plain
/// AVX2 one, to the bit: the same integer sums, in the same lanes, for every
/// block type, weights that bound the sums, activations at their extremes,
/// a lone row and a tile of three. A machine without AVX-VNNI runs neither
/// the VNNI kernel nor this comparison.
#[cfg(target_arch = "x86_64")]
#[test]
fn vnni_kernels_are_the_avx2_kernels_to_the_bit() {
    use crate::arch::avx2;
    use crate::blocks::Blocks;
    let has = std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
    if !(has && std::arch::is_x86_feature_detected!("avxvnni")) {
        eprintln!("this CPU has no AVX-VNNI: nothing to compare");
        return;
    }
    let (rows, m, cols) = (3, 3, 576);
    let mut compared = 0;
    for (dtype, kind) in EVERY_TYPE.into_iter().filter_map(|d| Some((d, Blocks::of(d)?))) {
        let mut a = Activations::default();
        a.quantize(&extreme_rows(m, cols), m, cols, Extras::ALL);
        let (t, act) = (f16_table(), |i: usize| plain_act(&a, i, cols));
        let (tile, lone) = ([act(0), act(1), act(2)], [act(2)]);
        // SAFETY (both): the CPU has AVX2, FMA and AVX-VNNI (checked above);
        // whole rows of weights and activations.
        let plain = |wr: &[u8]| unsafe {
            [avx2::dot_tile(kind, t, wr, &tile).to_vec(), avx2::dot_tile(kind, t, wr, &lone).to_vec()].concat()
        };
        let vnni = |wr: &[u8]| unsafe {
            [avx2::dot_tile_vnni(kind, t, wr, &tile).to_vec(), avx2::dot_tile_vnni(kind, t, wr, &lone).to_vec()]
                .concat()
        };
        compared += same_bits(dtype, rows, cols, plain, vnni);
    }
    assert_eq!(compared, 5 * 3 * rows, "every block type, three sets of weights");
}

/// x86-64's AVX-512 kernel for the K-quants against the AVX2 one, to the
/// bit: each K-quant in wide registers for a tile, the AVX2 kernel for a
/// lone row, on weights that bound the sums and activations at their
/// extremes. A machine without AVX-512 VNNI runs neither the AVX-512
/// kernel nor this comparison.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_kernels_are_the_avx2_kernels_to_the_bit() {
    use crate::kquant::{avx2, Act8K, Kind};
    let has = std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
    if !(has && crate::arch::has_avx512_vnni()) {
        eprintln!("this CPU has no AVX-512 VNNI: nothing to compare");
        return;
    }
    let (rows, m, cols) = (3, 4, 512);
    let mut compared = 0;
    for (dtype, kind) in EVERY_TYPE.into_iter().filter_map(|d| Some((d, Kind::of(d)?))) {
        let mut a = Act8K::default();
        a.quantize(&extreme_rows(m, cols), m, cols);
        let (t, act) = (f16_table(), |i: usize| a.row(i, cols));
        let (tile, lone) = ([act(0), act(1), act(2), act(3)], [act(3)]);
        // SAFETY (both): the CPU has AVX2, FMA and AVX-512 F, BW and VNNI
        // (checked above); whole rows of weights and activations.
        let plain = |wr: &[u8]| unsafe {
            [avx2::dot_tile(kind, t, wr, &tile).to_vec(), avx2::dot_tile(kind, t, wr, &lone).to_vec()].concat()
        };
        let wide = |wr: &[u8]| unsafe {
            [avx2::dot_tile_avx512(kind, t, wr, &tile).to_vec(), avx2::dot_tile_avx512(kind, t, wr, &lone).to_vec()]
                .concat()
        };
        compared += same_bits(dtype, rows, cols, plain, wide);
    }
    assert_eq!(compared, 3 * 3 * rows, "every K-quant, three sets of weights");
}

/// The wasm test run must exercise the simd128 kernels, not the portable ones.
#[cfg(target_arch = "wasm32")]
#[test]
fn wasm_builds_use_simd128() {
    const { assert!(cfg!(target_feature = "simd128"), "build with -C target-feature=+simd128") };
    assert_eq!(RELAXED, cfg!(feature = "relaxed-simd"));
}

/// The relaxed-SIMD kernels against the simd128 ones in the same build, on
/// quantizer output, on arbitrary bytes (every weight value, Q8_0's −128
/// included) and on every value at its largest against activations at
/// theirs: to f32 rounding (the exact integer sums are spread over the
/// lanes in another grouping before the lanes are scaled and summed as
/// f32). Both `DotSums` give the same bits.
#[cfg(all(feature = "relaxed-simd", target_feature = "simd128"))]
#[test]
fn relaxed_kernels_agree_with_simd128() {
    use crate::relaxed_dot::{self, DotSums};
    const { assert!(RELAXED) };
    let (rows, m) = (7, 5);
    for dtype in EVERY_TYPE.into_iter().filter(|d| Blocks::of(*d).is_some() || kquant::Kind::of(*d).is_some()) {
        // 18 blocks of 32: four at a time, then two.
        let cols = if dtype.block_size() == 256 { 512 } else { 576 };
        for bytes in bounding_weights(dtype, rows, cols) {
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
                        relaxed_dot::set(sums);
                        match (Blocks::of(dtype), kquant::Kind::of(dtype)) {
                            (Some(kind), _) => {
                                let act = Act {
                                    qs: &a.qs[i * cols..(i + 1) * cols],
                                    d: &a.d[i * nb..(i + 1) * nb],
                                    s: &a.s[i * nb..(i + 1) * nb],
                                    lanes: &a.lanes[i * nb * 4..(i + 1) * nb * 4],
                                    pos: &a.pos[i * cols..(i + 1) * cols],
                                    neg: &a.neg[i * cols..(i + 1) * cols],
                                    sums: &a.sums[i * nb..(i + 1) * nb],
                                };
                                (
                                    simd128::dot_tile(kind, t, wr, &[act])[0],
                                    relaxed::dot_tile_relaxed(kind, t, wr, &[act])[0],
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
                    relaxed_dot::set(DotSums::I32);
                    assert_eq!(relaxed.to_bits(), in_i16.to_bits(), "{dtype:?} [{i},{j}] {relaxed} vs {in_i16}");
                    // Summed in another grouping of lanes: to f32 rounding
                    // of the terms' magnitudes, which may cancel.
                    let mut w = vec![0.0; cols];
                    match (Blocks::of(dtype), kquant::Kind::of(dtype)) {
                        (Some(kind), _) => dequantize_row(kind, wr, &mut w),
                        (_, Some(kind)) => kquant::dequantize_row(kind, t, wr, &mut w),
                        _ => unreachable!(),
                    }
                    let terms: f32 = w.iter().zip(&x[i * cols..]).map(|(w, x)| (w * x).abs()).sum();
                    assert!((simd - relaxed).abs() <= 1e-5 * terms.max(1.0), "{dtype:?} [{i},{j}] {simd} vs {relaxed}");
                }
            }
        }
    }
}

#[test]
fn rows_are_the_dequantized_rows() {
    for dtype in EVERY_TYPE {
        let (bytes, deq) = quantized(dtype, 5, 256, 3);
        let w = Weight::from_gguf_bytes(dtype, 5, 256, bytes, Holding::Compact).unwrap();
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
        Weight::from_gguf_bytes(GgmlDType::Q4_1, 2, 64, vec![0; 79], Holding::Compact),
        Err(WeightError::Size { expected: 80, .. })
    ));
    assert!(matches!(
        Weight::from_gguf_bytes(GgmlDType::Q8_0, 2, 40, vec![0; 10], Holding::Compact),
        Err(WeightError::Ragged { .. })
    ));
}

#[test]
fn activations_of_zeros_do_not_divide_by_zero() {
    let mut a = Activations::default();
    a.quantize(&[0.0; 64], 1, 64, Extras::ALL);
    assert!(a.qs.iter().all(|&q| q == 0) && a.d.iter().all(|d| *d == 0.0));
}
