#!/usr/bin/env bash
# Builds the worker's threaded variant for cross-origin-isolated pages: wasm
# atomics and shared memory, with wasm-bindgen-rayon's pool of Web Workers.
# std must be rebuilt with atomics, which needs the nightly toolchain pinned in
# worker/nightly-toolchain.txt (scripts/setup.sh installs it with rust-src).
# Writes worker-mt.js, worker-mt_bg.wasm and their snippets into OUT_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: build-worker-threads.sh OUT_DIR}
toolchain=$(tr -d '[:space:]' < "$root/worker/nightly-toolchain.txt")
if ! rustup run "$toolchain" rustc --print sysroot >/dev/null 2>&1 \
  || [ ! -d "$(rustup run "$toolchain" rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
  echo "build-worker-threads: the $toolchain toolchain with rust-src is missing; run scripts/setup.sh" >&2
  exit 1
fi
cd "$root"
# RUSTFLAGS replaces .cargo/config.toml's, so the getrandom backend is repeated.
# The linker is told of the threads itself (this rustc does not): memory shared
# and imported (every thread instantiates the module on the same memory), with
# a declared maximum of 4 GiB, wasm32's whole address space; and the TLS hooks
# wasm-bindgen's thread start-up calls.
flags=(-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128 --cfg 'getrandom_backend="wasm_js"')
for arg in --shared-memory --import-memory --max-memory=4294967296 \
  --export=__wasm_init_tls --export=__tls_size --export=__tls_align --export=__tls_base; do
  flags+=(-C "link-arg=$arg")
done
export CARGO_ENCODED_RUSTFLAGS
CARGO_ENCODED_RUSTFLAGS=$(IFS=$'\x1f'; echo "${flags[*]}")
# wasm-bindgen learns that the module is threaded from its target_features
# section, which `strip = true` would remove.
export CARGO_PROFILE_RELEASE_STRIP=debuginfo
cargo "+$toolchain" build --release --target wasm32-unknown-unknown -Z build-std=panic_abort,std \
  -p fineprint-worker --features threads --target-dir target/threads
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name worker-mt \
  target/threads/wasm32-unknown-unknown/release/worker.wasm
