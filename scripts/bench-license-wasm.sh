#!/usr/bin/env bash
# The license engine natively and as wasm (wasm32-wasip1 under Node's WASI, i.e.
# V8, the engine Chromium runs the page's wasm in), in one run, and the ratio.
# Usage: scripts/bench-license-wasm.sh [CORPUS_DIR] [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
corpus=$(cd "${1:-$root/../shared/fixtures/licenses}" && pwd)
rounds=${2:-20}
cd "$root"
rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1
cargo build -q --release -p fineprint-license --example timing
RUSTFLAGS="" cargo build -q --release -p fineprint-license --example timing --target wasm32-wasip1
native=$(target/release/examples/timing "$corpus" "$rounds")
wasm=$(node --no-warnings -e '
const { WASI } = require("node:wasi"); const fs = require("node:fs");
const wasi = new WASI({ version: "preview1", args: ["timing", "/corpus", process.argv[2]], preopens: { "/corpus": process.argv[1] } });
WebAssembly.instantiate(fs.readFileSync(process.argv[3]), wasi.getImportObject()).then(({ instance }) => wasi.start(instance));
' "$corpus" "$rounds" target/wasm32-wasip1/release/examples/timing.wasm)
echo "native: $native"
echo "wasm:   $wasm"
python3 -c "import sys; n=float(sys.argv[1].split()[0]); w=float(sys.argv[2].split()[0]); print(f'wasm / native = {w/n:.2f}x')" "$native" "$wasm"
