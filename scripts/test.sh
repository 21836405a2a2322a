#!/usr/bin/env bash
# Installs what is missing and runs every test: formatting and lints, the
# native cargo tests of the cores (license engine, inference engine with the
# sample model, protocol, CLI), the license corpus score, the wasm build of the
# page and the worker (plain and threaded), the page's components, and the
# browser tests in headless Chromium and Firefox.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# Tests write and read non-ASCII file names: run them under a UTF-8 locale.
export LANG=${LANG:-C.UTF-8}
start=$(date +%s)
stamp() { printf '\n== %s (%ds)\n' "$*" "$(( $(date +%s) - start ))"; }

stamp "set-up"
bash scripts/setup.sh

stamp "rustfmt and clippy (the cores; scripts/lint-wasm.sh lints the web shells)"
cargo fmt --all --check
cargo clippy --all-targets -q -- -D warnings

stamp "cargo test (native)"
cargo test --all-targets

stamp "kernels with wasm simd128 (wasm32-wasip1 under Node's WASI), and with relaxed SIMD (in headless Chromium)"
CARGO_TARGET_WASM32_WASIP1_RUNNER="node --no-warnings $root/scripts/wasi-runner.mjs" \
  CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C target-feature=+simd128" \
  cargo test -p fineprint-kernels --target wasm32-wasip1
CARGO_TARGET_WASM32_WASIP1_RUNNER="node --no-warnings $root/scripts/wasi-chromium.mjs" \
  CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C target-feature=+simd128" \
  cargo test -p fineprint-kernels --target wasm32-wasip1 --features relaxed-simd

stamp "page components in headless Chromium (wasm-bindgen-test)"
CHROMEDRIVER=/usr/bin/chromedriver cargo test -p fineprint-app --target wasm32-unknown-unknown --test components

stamp "wasm build (trunk, and the threaded worker with the pinned nightly)"
trunk build

stamp "browser tests (headless Chromium)"
(cd tests/browser && node --test --test-concurrency=1 --test-timeout=900000 .)

stamp "all tests passed"
