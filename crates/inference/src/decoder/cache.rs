//! One layer's cached keys or values, `row_len` values per position: as f16,
//! as llama.cpp keeps them by default, or as 8-bit Q8_0 blocks (llama.cpp's
//! `q8_0` cache, 34 bytes per 32 values against 64) once the f16 cache would
//! take the memory past its budget (`Decoder::set_cache_budget`).

use fineprint_kernels::{float16, q8_0};

pub(super) enum Rows {
    F16(Vec<u16>),
    Q8(Vec<u8>),
}

impl Default for Rows {
    fn default() -> Self {
        Rows::F16(Vec::new())
    }
}

impl Rows {
    pub(super) fn is_8bit(&self) -> bool {
        matches!(self, Rows::Q8(_))
    }

    /// Positions the cache holds (a ring's slots, once it has wrapped).
    #[cfg(test)]
    fn positions(&self, row_len: usize) -> usize {
        match self {
            Rows::F16(c) => c.len() / row_len,
            Rows::Q8(c) => c.len() / q8_0::row_bytes(row_len),
        }
    }

    /// Bytes per position of `row_len` values in the f16 form and the 8-bit one.
    pub(super) fn position_bytes(row_len: usize, eight_bit: bool) -> usize {
        if eight_bit {
            q8_0::row_bytes(row_len)
        } else {
            2 * row_len
        }
    }

    /// Stores `rows` (`row_len` values each) at positions `pos..`, after
    /// dropping what lies at `pos` and beyond. A linear cache grows by whole
    /// chunks so a long chat does not double it at the wrong moment; a ring
    /// of `ring` positions is allocated whole at its first use (growing it in
    /// steps left the smaller blocks behind in the worker's memory, which
    /// never shrinks) and then overwrites its oldest slots.
    pub(super) fn append(&mut self, pos: usize, rows: &[f32], row_len: usize, ring: Option<usize>) {
        let row = |r: usize| &rows[r * row_len..(r + 1) * row_len];
        let m = rows.len() / row_len;
        match self {
            Rows::F16(c) => place(c, pos, m, row_len, ring, |r, slot| float16::narrow_into(row(r), slot)),
            Rows::Q8(c) => {
                place(c, pos, m, q8_0::row_bytes(row_len), ring, |r, slot| q8_0::quantize_into(row(r), slot))
            }
        }
    }

    /// Values `at..at + out.len()` of the row in `slot` (for the 8-bit form,
    /// `at` and the length are whole blocks of 32: a head's part of a row).
    #[inline]
    pub(super) fn widen(&self, slot: usize, row_len: usize, at: usize, out: &mut [f32]) {
        match self {
            Rows::F16(c) => float16::widen_into(&c[slot * row_len + at..][..out.len()], out),
            Rows::Q8(c) => {
                let start = slot * q8_0::row_bytes(row_len) + q8_0::row_bytes(at);
                q8_0::widen_into(&c[start..][..q8_0::row_bytes(out.len())], out)
            }
        }
    }

    /// The f16 rows requantized to 8 bits, in place of the f16 ones; the room
    /// reserved (a ring's whole size, a linear cache's chunks) shrinks with them.
    pub(super) fn requantize_8bit(&mut self, row_len: usize) {
        let Rows::F16(c) = self else { return };
        let (rb, positions) = (q8_0::row_bytes(row_len), c.len() / row_len);
        let mut q = Vec::with_capacity(c.capacity() / row_len * rb);
        q.resize(positions * rb, 0);
        let mut wide = vec![0f32; row_len];
        for (src, dst) in c.chunks_exact(row_len).zip(q.chunks_exact_mut(rb)) {
            float16::widen_into(src, &mut wide);
            q8_0::quantize_into(&wide, dst);
        }
        *self = Rows::Q8(q);
    }
}

/// `m` positions from `pos` on, `per_row` elements each, each slot filled by
/// `encode(r, slot)` for row `r` (see `Rows::append`).
fn place<T: Copy + Default>(
    cache: &mut Vec<T>,
    pos: usize,
    m: usize,
    per_row: usize,
    ring: Option<usize>,
    mut encode: impl FnMut(usize, &mut [T]),
) {
    match ring {
        Some(ring) if pos + m > ring => {
            for r in 0..m {
                let at = (pos + r) % ring * per_row;
                if at + per_row > cache.len() {
                    cache.resize(at + per_row, T::default());
                }
                encode(r, &mut cache[at..at + per_row]);
            }
        }
        _ => {
            cache.truncate(pos * per_row);
            let need = cache.len() + m * per_row;
            if need > cache.capacity() {
                let chunk = 256 * per_row;
                let cap = ring.map_or(need.div_ceil(chunk) * chunk, |r| r * per_row);
                cache.reserve_exact(cap.max(need) - cache.len());
            }
            let start = cache.len();
            cache.resize(need, T::default());
            for (r, slot) in cache[start..].chunks_exact_mut(per_row).enumerate() {
                encode(r, slot);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize, row_len: usize, seed: f32) -> Vec<f32> {
        (0..n * row_len).map(|i| (i as f32 * 0.37 + seed).sin() * 3.0).collect()
    }

    fn widened(c: &Rows, slot: usize, row_len: usize) -> Vec<f32> {
        let mut out = vec![0f32; row_len];
        c.widen(slot, row_len, 0, &mut out);
        out
    }

    /// Both forms keep positions where a linear cache and a ring put them,
    /// a linear one rewound drops what follows, and the 8-bit form holds
    /// what the f16 one does to within its step.
    #[test]
    fn both_forms_place_rows_alike() {
        let row_len = 64;
        for ring in [None, Some(5)] {
            let (mut f, mut q) = (Rows::default(), Rows::default());
            q.requantize_8bit(row_len);
            assert!(q.is_8bit() && !f.is_8bit());
            // Three positions, then four more (past a ring of five); a linear cache then back to 2.
            let steps: &[(usize, usize, f32)] =
                if ring.is_some() { &[(0, 3, 0.0), (3, 4, 1.0)] } else { &[(0, 3, 0.0), (3, 4, 1.0), (2, 1, 2.0)] };
            for &(pos, n, seed) in steps {
                let x = rows(n, row_len, seed);
                f.append(pos, &x, row_len, ring);
                q.append(pos, &x, row_len, ring);
            }
            let positions = f.positions(row_len);
            assert_eq!(positions, if ring.is_some() { 5 } else { 3 });
            assert_eq!(q.positions(row_len), positions);
            for slot in 0..positions {
                let (a, b) = (widened(&f, slot, row_len), widened(&q, slot, row_len));
                for (a, b) in a.iter().zip(&b) {
                    assert!((a - b).abs() <= 3.0 / 127.0, "slot {slot} (ring {ring:?}): {a} vs {b}");
                }
            }
            // The last row written: position 6 (slot 1 of the ring), or 2 after the rewind.
            let (want, slot) = if ring.is_some() {
                (rows(4, row_len, 1.0)[3 * row_len..].to_vec(), 1)
            } else {
                (rows(1, row_len, 2.0), 2)
            };
            let got = widened(&f, slot, row_len);
            assert!(want.iter().zip(&got).all(|(a, b)| (a - b).abs() <= 3e-3), "ring {ring:?}");
        }
    }

    /// Requantizing the f16 rows gives what appending the 8-bit form from
    /// the start would have, up to the f16 rounding on the way; a head's part
    /// of a row widens alone.
    #[test]
    fn f16_rows_turn_into_8_bits_in_place() {
        let row_len = 128;
        let x = rows(300, row_len, 0.5);
        let mut c = Rows::default();
        c.append(0, &x, row_len, None);
        let Rows::F16(ref f) = c else { unreachable!() };
        let reserved = f.capacity() / row_len;
        c.requantize_8bit(row_len);
        let Rows::Q8(ref q) = c else { panic!("not 8-bit") };
        assert_eq!(q.len(), 300 * q8_0::row_bytes(row_len));
        assert_eq!(q.capacity() / q8_0::row_bytes(row_len), reserved);
        for slot in [0, 150, 299] {
            let mut head = vec![0f32; 64];
            c.widen(slot, row_len, 64, &mut head);
            for (a, b) in x[slot * row_len + 64..][..64].iter().zip(&head) {
                assert!((a - b).abs() <= 3.0 / 127.0 + 3e-3, "slot {slot}: {a} vs {b}");
            }
        }
    }
}
