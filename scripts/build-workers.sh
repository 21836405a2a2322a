#!/usr/bin/env bash
# Builds the worker's variants beyond trunk's plain one, into OUT_DIR:
#   worker-relaxed*      plain, with relaxed SIMD's dot product in the kernels;
#   worker-mt*           threaded, for cross-origin-isolated pages: wasm atomics
#                        and shared memory, wasm-bindgen-rayon's pool of workers;
#   worker-mt-relaxed*   threaded, with relaxed SIMD.
# The loaders (public/worker-loader.js, public/worker-mt-loader.js) pick the
# relaxed build where the engine validates public/simd-probe.js's module.
# Each relaxed build differs from its sibling by a cargo feature, so it shares
# its sibling's target directory and recompiles only the three crates above
# the kernels. The threaded builds rebuild std with atomics, which needs the
# nightly toolchain pinned in worker/nightly-toolchain.txt (scripts/setup.sh
# installs it with rust-src).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: build-workers.sh OUT_DIR}
cd "$root"

# Plain + relaxed SIMD: trunk's target directory and flags (.cargo/config.toml),
# wasm-bindgen's no-modules glue as trunk makes for the plain worker.
cargo build --release --target wasm32-unknown-unknown -p fineprint-worker --bin worker --features relaxed-simd
wasm-bindgen --target no-modules --no-typescript --out-dir "$out" --out-name worker-relaxed \
  target/wasm32-unknown-unknown/release/worker.wasm

toolchain=$(tr -d '[:space:]' < "$root/worker/nightly-toolchain.txt")
if ! rustup run "$toolchain" rustc --print sysroot >/dev/null 2>&1 \
  || [ ! -d "$(rustup run "$toolchain" rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
  echo "build-workers: the $toolchain toolchain with rust-src is missing; run scripts/setup.sh" >&2
  exit 1
fi
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
for variant in threads:worker-mt threads,relaxed-simd:worker-mt-relaxed; do
  cargo "+$toolchain" build --release --target wasm32-unknown-unknown -Z build-std=panic_abort,std \
    -p fineprint-worker --features "${variant%%:*}" --target-dir target/threads
  wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name "${variant##*:}" \
    target/threads/wasm32-unknown-unknown/release/worker.wasm
done
