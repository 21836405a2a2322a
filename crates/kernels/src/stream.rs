//! The rate this thread (or the team) streams memory at: what a decoded
//! token's time is set against. A token reads every weight matrix once, so
//! at best it takes their bytes divided by this rate; `read` sums the same
//! bytes with the loads the kernels use and nothing else, so the ratio of
//! the two says how far the kernels are from that bound.

use crate::parallel;

/// Bytes each task of a threaded read takes: large enough that the hand-over
/// costs nothing beside it, small enough that two threads finish together.
const PIECE: usize = 1 << 20;

/// A wrapping sum of `bytes` read as 32-bit words (the rest as bytes): a
/// value the compiler cannot skip computing, from loads as wide as the
/// target's vectors.
pub fn sum(bytes: &[u8]) -> u32 {
    #[cfg(target_feature = "simd128")]
    // SAFETY: simd128 is enabled at compile time; the loads stay inside `bytes`.
    unsafe {
        simd::sum(bytes)
    }
    #[cfg(not(target_feature = "simd128"))]
    portable_sum(bytes)
}

#[cfg_attr(target_feature = "simd128", allow(dead_code))]
fn portable_sum(bytes: &[u8]) -> u32 {
    let (words, rest) = bytes.as_chunks::<4>();
    // Eight independent sums: the shape compilers vectorise without a chain
    // of dependent adds.
    let mut acc = [0u32; 8];
    let (groups, tail) = words.as_chunks::<8>();
    for g in groups {
        for (a, w) in acc.iter_mut().zip(g) {
            *a = a.wrapping_add(u32::from_le_bytes(*w));
        }
    }
    let words = tail.iter().map(|w| u32::from_le_bytes(*w));
    acc.into_iter().chain(words).chain(rest.iter().map(|&b| u32::from(b))).fold(0, u32::wrapping_add)
}

#[cfg(target_feature = "simd128")]
mod simd {
    use std::arch::wasm32::*;

    /// Four vectors (64 bytes) a step into four accumulators.
    pub unsafe fn sum(bytes: &[u8]) -> u32 {
        let (lines, rest) = bytes.as_chunks::<64>();
        let mut acc = [i32x4_splat(0); 4];
        for line in lines {
            let p = line.as_ptr() as *const v128;
            for (k, a) in acc.iter_mut().enumerate() {
                *a = i32x4_add(*a, v128_load(p.add(k)));
            }
        }
        let v = i32x4_add(i32x4_add(acc[0], acc[1]), i32x4_add(acc[2], acc[3]));
        let lanes = [
            u32x4_extract_lane::<0>(v),
            u32x4_extract_lane::<1>(v),
            u32x4_extract_lane::<2>(v),
            u32x4_extract_lane::<3>(v),
        ];
        lanes.into_iter().fold(super::portable_sum(rest), u32::wrapping_add)
    }
}

/// Reads every byte of `parts` once, split across the threads the products
/// use (each takes pieces of `PIECE` bytes from a shared counter, as a
/// product's bands are taken), and returns a sum of them all.
pub fn read(parts: &[&[u8]]) -> u32 {
    let pieces: Vec<&[u8]> = parts.iter().flat_map(|p| p.chunks(PIECE)).collect();
    let total = parts.iter().map(|p| p.len()).sum();
    let mut sums = vec![0f32; pieces.len()];
    // f32 outputs are what `chunks` hands out; the low 24 bits of each sum
    // are enough to keep the reads.
    parallel::chunks(&mut sums, 1, total, || (), |_, k, out| out[0] = (sum(pieces[k]) & 0xFF_FFFF) as f32);
    sums.iter().fold(0u32, |a, &s| a.wrapping_add(s as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_is_summed_once() {
        let bytes: Vec<u8> = (0..3 * PIECE + 1234).map(|i| (i * 31 % 251) as u8).collect();
        // The wrapping sum of the little-endian words plus the trailing bytes.
        let words = bytes.chunks_exact(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        let tail = bytes.chunks_exact(4).remainder().iter().map(|&b| u32::from(b));
        let want = words.chain(tail).fold(0u32, u32::wrapping_add);
        assert_eq!(sum(&bytes), want);
        assert_eq!(portable_sum(&bytes), want);
        // Split in pieces (across threads where there are any), each
        // piece's sum cut to 24 bits: whatever the thread count, the same.
        let parts = [&bytes[..PIECE + 7], &bytes[PIECE + 7..]];
        let want = parts.iter().flat_map(|p| p.chunks(PIECE)).map(|p| sum(p) & 0xFF_FFFF).fold(0, u32::wrapping_add);
        assert_eq!(read(&parts), want);
        assert_ne!(want, 0);
    }
}
