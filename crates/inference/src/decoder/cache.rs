//! One layer's cached keys or values, `row_len` values per position: as f16,
//! as llama.cpp keeps them by default, or in GGUF blocks once the f16 cache
//! would take the memory past its budget (`Decoder::set_cache_budget`): 8-bit
//! Q8_0 (llama.cpp's `q8_0` cache, 34 bytes per 32 values against 64), then
//! for values alone 4-bit Q4_0 (18 bytes).

use fineprint_kernels::cache_blocks::Kind;
use fineprint_kernels::float16;

/// The form a cache row is kept in, largest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Form {
    F16,
    Q8_0,
    Q4_0,
}

impl Form {
    /// Bytes per position of `row_len` values.
    pub fn position_bytes(self, row_len: usize) -> usize {
        match self.blocks() {
            None => 2 * row_len,
            Some(kind) => kind.row_bytes(row_len),
        }
    }

    /// llama.cpp's name for it (`--cache-type-k`, `--cache-type-v`).
    pub fn name(self) -> &'static str {
        match self {
            Form::F16 => "f16",
            Form::Q8_0 => "q8_0",
            Form::Q4_0 => "q4_0",
        }
    }

    fn blocks(self) -> Option<Kind> {
        match self {
            Form::F16 => None,
            Form::Q8_0 => Some(Kind::Q8_0),
            Form::Q4_0 => Some(Kind::Q4_0),
        }
    }
}

/// The forms keys and values step down through, as (keys, values), as a
/// conversation takes the cache past its budget: llama.cpp's default f16,
/// its `q8_0` cache, then `q8_0` keys with `q4_0` values. Keys keep 8 bits:
/// a key's error moves its score and so, through the softmax's exponential,
/// which positions are attended to, while a value's is averaged over them.
/// 4-bit keys were tried as a further rung: a small difference in a key
/// flips its rounding by a whole step of an eighth of its block's largest
/// value, and against llama.cpp run with `q4_0` keys the sample's logits
/// drifted far past what the conformance test allows (README, "A cache
/// that steps down"). 4-bit values are the last resort, taken only where the memory
/// would otherwise pass its budget; the conformance test holds every rung
/// to llama.cpp run with the same cache types.
pub(crate) const LADDER: [(Form, Form); 3] =
    [(Form::F16, Form::F16), (Form::Q8_0, Form::Q8_0), (Form::Q8_0, Form::Q4_0)];

/// Positions a linear cache grows by at once (see `place`).
pub(crate) const CHUNK: usize = 256;

/// Positions a linear cache of `end` positions holds room for.
pub(crate) fn reserved(end: usize) -> usize {
    end.div_ceil(CHUNK).saturating_mul(CHUNK)
}

pub(super) enum Rows {
    F16(Vec<u16>),
    Blocks(Kind, Vec<u8>),
}

impl Default for Rows {
    fn default() -> Self {
        Rows::F16(Vec::new())
    }
}

impl Rows {
    pub(super) fn form(&self) -> Form {
        match self {
            Rows::F16(_) => Form::F16,
            Rows::Blocks(Kind::Q8_0, _) => Form::Q8_0,
            Rows::Blocks(Kind::Q4_0, _) => Form::Q4_0,
        }
    }

    /// Positions the cache holds (a ring's slots, once it has wrapped).
    #[cfg(test)]
    fn positions(&self, row_len: usize) -> usize {
        match self {
            Rows::F16(c) => c.len() / row_len,
            Rows::Blocks(kind, c) => c.len() / kind.row_bytes(row_len),
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
            Rows::Blocks(kind, c) => {
                let kind = *kind;
                place(c, pos, m, kind.row_bytes(row_len), ring, |r, slot| kind.quantize_into(row(r), slot))
            }
        }
    }

    /// Values `at..at + out.len()` of the row in `slot` (in blocks, `at` and
    /// the length are whole blocks of 32: a head's part of a row).
    #[inline]
    pub(super) fn widen(&self, slot: usize, row_len: usize, at: usize, out: &mut [f32]) {
        self.widen_run(std::iter::once(slot), row_len, at, out.len(), out)
    }

    /// Values `at..at + len` of the rows in `slots`, one after another in
    /// `out` (`len` values each): a run of keys or values for one head,
    /// with the form matched once for the run rather than once a row.
    #[inline]
    pub(super) fn widen_run(
        &self,
        slots: impl Iterator<Item = usize>,
        row_len: usize,
        at: usize,
        len: usize,
        out: &mut [f32],
    ) {
        if len == 0 {
            return;
        }
        let outs = out.chunks_exact_mut(len);
        match self {
            Rows::F16(c) => {
                slots.zip(outs).for_each(|(slot, o)| float16::widen_into(&c[slot * row_len + at..][..len], o))
            }
            Rows::Blocks(kind, c) => {
                let (rb, from, bytes) = (kind.row_bytes(row_len), kind.row_bytes(at), kind.row_bytes(len));
                slots.zip(outs).for_each(|(slot, o)| kind.widen_into(&c[slot * rb + from..][..bytes], o))
            }
        }
    }

    /// The rows requantized to `form`, a smaller one than they are kept in
    /// (otherwise they stay as they are), in place of the old ones; the room
    /// reserved (a ring's whole size, a linear cache's chunks) shrinks with them.
    pub(super) fn requantize(&mut self, form: Form, row_len: usize) {
        let Some(kind) = form.blocks().filter(|_| form > self.form()) else { return };
        let (old, rb) = (self.form().position_bytes(row_len), kind.row_bytes(row_len));
        let (positions, reserved) = match self {
            Rows::F16(c) => (c.len() / row_len, c.capacity() / row_len),
            Rows::Blocks(_, c) => (c.len() / old, c.capacity() / old),
        };
        let mut q = Vec::with_capacity(reserved * rb);
        q.resize(positions * rb, 0);
        let mut wide = vec![0f32; row_len];
        for (slot, dst) in q.chunks_exact_mut(rb).enumerate() {
            self.widen(slot, row_len, 0, &mut wide);
            kind.quantize_into(&wide, dst);
        }
        *self = Rows::Blocks(kind, q);
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
                let chunk = CHUNK * per_row;
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

    const FORMS: [Form; 3] = [Form::F16, Form::Q8_0, Form::Q4_0];

    fn rows(n: usize, row_len: usize, seed: f32) -> Vec<f32> {
        (0..n * row_len).map(|i| (i as f32 * 0.37 + seed).sin() * 3.0).collect()
    }

    fn widened(c: &Rows, slot: usize, row_len: usize) -> Vec<f32> {
        let mut out = vec![0f32; row_len];
        c.widen(slot, row_len, 0, &mut out);
        out
    }

    /// The largest error a form's rounding makes on `rows` (values within ±3).
    fn step(form: Form) -> f32 {
        match form {
            Form::F16 => 3e-3,
            Form::Q8_0 => 3.0 / 127.0,
            // Half a step of 3/8, or a whole one for the +3 that the four bits cap at +7 steps.
            Form::Q4_0 => 3.0 / 8.0 + 1e-3,
        }
    }

    /// Every form keeps positions where a linear cache and a ring put them,
    /// a linear one rewound drops what follows, and the quantized forms
    /// hold what the f16 one does to within their step.
    #[test]
    fn every_form_places_rows_alike() {
        let row_len = 64;
        for ring in [None, Some(5)] {
            let mut caches = FORMS.map(|form| {
                let mut c = Rows::default();
                c.requantize(form, row_len);
                assert_eq!(c.form(), form);
                c
            });
            // Three positions, then four more (past a ring of five); a linear cache then back to 2.
            let steps: &[(usize, usize, f32)] =
                if ring.is_some() { &[(0, 3, 0.0), (3, 4, 1.0)] } else { &[(0, 3, 0.0), (3, 4, 1.0), (2, 1, 2.0)] };
            for &(pos, n, seed) in steps {
                let x = rows(n, row_len, seed);
                caches.iter_mut().for_each(|c| c.append(pos, &x, row_len, ring));
            }
            let positions = caches[0].positions(row_len);
            assert_eq!(positions, if ring.is_some() { 5 } else { 3 });
            // The last row written: position 6 (slot 1 of the ring), or 2 after the rewind.
            let (last, last_slot) = if ring.is_some() {
                (rows(4, row_len, 1.0)[3 * row_len..].to_vec(), 1)
            } else {
                (rows(1, row_len, 2.0), 2)
            };
            for c in &caches[1..] {
                let form = c.form();
                assert_eq!(c.positions(row_len), positions, "{form:?}");
                for slot in 0..positions {
                    let (a, b) = (widened(&caches[0], slot, row_len), widened(c, slot, row_len));
                    for (a, b) in a.iter().zip(&b) {
                        assert!((a - b).abs() <= step(form), "{form:?} slot {slot} (ring {ring:?}): {a} vs {b}");
                    }
                }
            }
            for c in &caches {
                let got = widened(c, last_slot, row_len);
                let form = c.form();
                assert!(last.iter().zip(&got).all(|(a, b)| (a - b).abs() <= step(form)), "{form:?}, ring {ring:?}");
            }
        }
    }

    /// Requantizing gives what appending in the smaller form from the start
    /// would have, up to the rounding of the forms on the way (f16 to 8 bits
    /// to 4, or f16 straight to 4); the reserved room shrinks with the rows,
    /// a form no smaller leaves them be, and a head's part of a row widens alone.
    #[test]
    fn rows_turn_into_smaller_forms_in_place() {
        let row_len = 128;
        let x = rows(300, row_len, 0.5);
        for path in [&[Form::Q8_0, Form::Q4_0][..], &[Form::Q4_0], &[Form::Q8_0, Form::F16, Form::Q8_0]] {
            let mut c = Rows::default();
            c.append(0, &x, row_len, None);
            let reserved = match &c {
                Rows::F16(f) => f.capacity() / row_len,
                Rows::Blocks(..) => unreachable!("appends start in f16"),
            };
            let mut tolerance = step(Form::F16);
            for &form in path {
                let before = c.form();
                c.requantize(form, row_len);
                let Rows::Blocks(kind, q) = &c else { panic!("{path:?}: back to f16") };
                assert_eq!(c.form(), form.max(before), "{path:?}");
                let rb = kind.row_bytes(row_len);
                assert_eq!((q.len(), q.capacity() / rb), (300 * rb, reserved), "{path:?}");
                if form > before {
                    tolerance += step(form);
                }
            }
            for slot in [0, 150, 299] {
                let mut head = vec![0f32; 64];
                c.widen(slot, row_len, 64, &mut head);
                for (a, b) in x[slot * row_len + 64..][..64].iter().zip(&head) {
                    assert!((a - b).abs() <= tolerance, "{path:?} slot {slot}: {a} vs {b}");
                }
            }
        }
    }
}
