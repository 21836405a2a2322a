#!/usr/bin/env bash
# Clippy for wasm32 on the two web shells and the inference engine (its simd128
# and relaxed-SIMD kernels). Kept out of the CI path: it checks candle,
# tokenizers and leptos again for wasm32 only to lint ~1000 lines.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo clippy -q --target wasm32-unknown-unknown -p fineprint-app -p fineprint-worker -p fineprint-inference -p fineprint-kernels -- -D warnings
cargo clippy -q --target wasm32-unknown-unknown -p fineprint-worker -p fineprint-kernels --features fineprint-worker/relaxed-simd -- -D warnings
# The kernels' tests and examples as the wasm test runs build them (simd128, then relaxed SIMD).
RUSTFLAGS="-C target-feature=+simd128" cargo clippy -q --target wasm32-wasip1 -p fineprint-kernels --tests --examples -- -D warnings
RUSTFLAGS="-C target-feature=+simd128" cargo clippy -q --target wasm32-wasip1 -p fineprint-kernels --tests --examples --features relaxed-simd -- -D warnings
