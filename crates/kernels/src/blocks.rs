//! GGUF's blocks of 32 values with a kernel here — Q4_0, Q4_1, Q5_0, Q5_1,
//! Q8_0 — as one trait, [`BlockType`], implemented once per type with its
//! layout as constants. The kernels are generic over it (one monomorphised
//! loop per type, no branch on the type inside), and [`with_block_type!`]
//! is the one place a runtime [`Blocks`] becomes a type. Adding a block
//! type of 32 is a `block_type!` line, a `Blocks` variant and its arm below.

use std::sync::OnceLock;

use candle_core::quantized::GgmlDType;

/// Elements per quantization block for every type with a kernel here.
pub const BLOCK: usize = 32;

/// The block layouts with a kernel here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blocks {
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

/// A block type's layout. Every block starts with its f16 scale.
pub(crate) trait BlockType {
    /// Bytes per block.
    const BYTES: usize;
    /// Where the values start: 16 bytes of nibbles, or Q8_0's 32 signed bytes.
    const QUANTS: usize;
    /// What is taken off each stored value (the types without a minimum
    /// store values with an offset; 0 for the others and for Q8_0).
    const CENTRE: i16;
    /// Whether the f16 after the scale is the block's minimum.
    const HAS_MIN: bool;
    /// Whether 4 bytes of fifth bits come just before the nibbles.
    const FIFTH_BIT: bool;
    /// Whether the values are whole signed bytes (Q8_0), not nibbles.
    const BYTE_VALUES: bool;
    /// A block as a fixed-size array: loops over these have no bounds
    /// checks left inside, so the compiler vectorises them.
    type Raw: AsRef<[u8]>;
    fn blocks(row: &[u8]) -> &[Self::Raw];
}

/// The types themselves, named as GGUF names them.
#[allow(non_camel_case_types)]
pub(crate) mod ty {
    macro_rules! block_type {
        ($name:ident: $bytes:literal bytes, values at $quants:literal, centre $centre:literal, min $min:literal, fifth bit $fifth:literal, byte values $byte:literal) => {
            #[derive(Clone, Copy)]
            pub(crate) struct $name;
            // The relaxed-SIMD kernel takes the offset off as multiples of 8.
            const _: () = assert!($centre == 0 || $centre == 8 || $centre == 16);
            impl super::BlockType for $name {
                const BYTES: usize = $bytes;
                const QUANTS: usize = $quants;
                const CENTRE: i16 = $centre;
                const HAS_MIN: bool = $min;
                const FIFTH_BIT: bool = $fifth;
                const BYTE_VALUES: bool = $byte;
                type Raw = [u8; $bytes];
                #[inline(always)]
                fn blocks(row: &[u8]) -> &[[u8; $bytes]] {
                    row.as_chunks::<$bytes>().0
                }
            }
        };
    }
    block_type!(Q4_0: 18 bytes, values at 2, centre 8, min false, fifth bit false, byte values false);
    block_type!(Q4_1: 20 bytes, values at 4, centre 0, min true, fifth bit false, byte values false);
    block_type!(Q5_0: 22 bytes, values at 6, centre 16, min false, fifth bit true, byte values false);
    block_type!(Q5_1: 24 bytes, values at 8, centre 0, min true, fifth bit true, byte values false);
    block_type!(Q8_0: 34 bytes, values at 2, centre 0, min false, fifth bit false, byte values true);
}

/// `$body` with `$T` the block type of `$kind`: the one dispatch from a
/// runtime [`Blocks`] to the monomorphised kernels.
macro_rules! with_block_type {
    ($kind:expr, $T:ident => $body:expr) => {
        match $kind {
            $crate::blocks::Blocks::Q4_0 => {
                type $T = $crate::blocks::ty::Q4_0;
                $body
            }
            $crate::blocks::Blocks::Q4_1 => {
                type $T = $crate::blocks::ty::Q4_1;
                $body
            }
            $crate::blocks::Blocks::Q5_0 => {
                type $T = $crate::blocks::ty::Q5_0;
                $body
            }
            $crate::blocks::Blocks::Q5_1 => {
                type $T = $crate::blocks::ty::Q5_1;
                $body
            }
            $crate::blocks::Blocks::Q8_0 => {
                type $T = $crate::blocks::ty::Q8_0;
                $body
            }
        }
    };
}
pub(crate) use with_block_type;

impl Blocks {
    pub(crate) fn of(dtype: GgmlDType) -> Option<Self> {
        match dtype {
            GgmlDType::Q4_0 => Some(Blocks::Q4_0),
            GgmlDType::Q4_1 => Some(Blocks::Q4_1),
            GgmlDType::Q5_0 => Some(Blocks::Q5_0),
            GgmlDType::Q5_1 => Some(Blocks::Q5_1),
            GgmlDType::Q8_0 => Some(Blocks::Q8_0),
            _ => None,
        }
    }

    pub(crate) const fn bytes(self) -> usize {
        with_block_type!(self, T => T::BYTES)
    }
}

/// f16 → f32 through a table: wasm has no half-precision conversion
/// instruction and every block carries one or two f16 values.
pub(crate) fn f16_table() -> &'static [f32] {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    TABLE.get_or_init(|| (0..=u16::MAX).map(|b| half::f16::from_bits(b).to_f32()).collect())
}

#[inline(always)]
pub(crate) fn f16_at(table: &[f32], bytes: &[u8], at: usize) -> f32 {
    table[usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]))]
}

pub(crate) fn dequantize_row(kind: Blocks, row: &[u8], out: &mut [f32]) {
    with_block_type!(kind, T => dequantize_row_of::<T>(row, out))
}

fn dequantize_row_of<T: BlockType>(row: &[u8], out: &mut [f32]) {
    let t = f16_table();
    for (blk, o) in T::blocks(row).iter().zip(out.chunks_exact_mut(BLOCK)) {
        let blk = blk.as_ref();
        let d = f16_at(t, blk, 0);
        let (vals, min) = block_values::<T>(t, blk);
        for (o, v) in o.iter_mut().zip(vals) {
            *o = f32::from(v) * d + min;
        }
    }
}

/// The 32 values of a block as small integers, centred for the types stored
/// with an offset, and the block's minimum (0 where it has none): element i
/// is `v[i] · scale + min`.
#[inline(always)]
pub(crate) fn block_values<T: BlockType>(t: &[f32], blk: &[u8]) -> ([i16; 32], f32) {
    let mut v = [0i16; 32];
    let at = T::QUANTS;
    if T::BYTE_VALUES {
        for j in 0..32 {
            v[j] = i16::from(blk[at + j] as i8);
        }
    } else if T::FIFTH_BIT {
        let qh = u32::from_le_bytes([blk[at - 4], blk[at - 3], blk[at - 2], blk[at - 1]]);
        let qs = &blk[at..at + 16];
        for j in 0..16 {
            let h0 = ((qh >> j) & 1) as u8;
            let h1 = ((qh >> (j + 16)) & 1) as u8;
            v[j] = i16::from((qs[j] & 0x0F) | (h0 << 4)) - T::CENTRE;
            v[j + 16] = i16::from((qs[j] >> 4) | (h1 << 4)) - T::CENTRE;
        }
    } else {
        for j in 0..16 {
            v[j] = i16::from(blk[at + j] & 0x0F) - T::CENTRE;
            v[j + 16] = i16::from(blk[at + j] >> 4) - T::CENTRE;
        }
    }
    let min = if T::HAS_MIN { f16_at(t, blk, 2) } else { 0.0 };
    (v, min)
}
