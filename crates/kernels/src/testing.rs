//! Test data shared by the kernels' tests and the inference engine's: a
//! deterministic pseudo-random sequence, so no test needs a randomness crate
//! and every run sees the same numbers.

/// `n` values in [−1, 1) from `seed` (xorshift64 from an LCG-mixed seed).
pub fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}
