//! Quantized weight matrices kept as the GGUF stores them, and the
//! matrix–vector kernels that multiply them (for fineprint-inference's decoder).
//!
//! candle's CPU kernels are generic and, for several of the types small models
//! ship in, scalar even in wasm; they also widen F16 matrices to f32 on load.
//! The kernels here work on the raw GGUF blocks of the types GGUF downloads
//! use — Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (blocks of 32, `blocks`), Q4_K, Q5_K,
//! Q6_K (super-blocks of 256, `kquant`) and F16 (`float16`) — each with a wasm
//! `simd128` path and a portable one (`arch`), the quantized types also with
//! an AVX2 one for the command line on x86-64; the rare rest (Q2_K, Q3_K,
//! BF16, …) goes through candle's `QMatMul`.
//!
//! Activations are quantized once per product to 8 bits, in blocks of 32 (what
//! ggml calls Q8_0 / Q8_1) or 256 (Q8_K), so the inner loops are integer dot
//! products, exact whatever their order; only the per-block scaling is floating point.
//!
//! The rooms: `weight` (the store and the products), `tiling` (how weight
//! rows meet activation rows), `activations`, `blocks` (the block types of
//! 32), `kquant`, `interleaved` (Q4_K and Q6_K rows, and in
//! `interleaved::blocks32` the blocks of 32, repacked four at a time
//! for the relaxed-SIMD build), `float16`, `vector` (f32 dot and axpy), `arch/{portable,avx2,simd128,relaxed}` (the kernels
//! by target, chosen in one place), `parallel` (the team of threads),
//! `relaxed_dot` (which of relaxed SIMD's two dot products this CPU runs faster),
//! `stream` (the rate memory streams at, which bounds a decoded token),
//! `q8_0` (rows kept as Q8_0 blocks: the 8-bit KV cache).

mod activations;
mod arch;
mod blocks;
pub mod cache_blocks;
pub mod float16;
mod interleaved;
mod kquant;
pub mod parallel;
pub mod relaxed_dot;
pub mod stream;
mod tiling;
pub mod vector;
mod weight;

/// Test data for this crate's tests and the inference engine's (feature `testing`).
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod testing;

pub use activations::Activations;
pub use blocks::BLOCK;
pub use weight::{matmul_shared, Holding, Weight, WeightError};

#[cfg(test)]
mod tests;
