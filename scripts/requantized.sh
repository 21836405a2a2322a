#!/usr/bin/env bash
# The conformance set's requantized variants of the sample: Q8_0, Q4_K and Q6_K
# mixes (llama.cpp's fallback types for rows not a multiple of 256) and F16,
# written by the kernels' `requantize` example into sample/requantized/<TYPE>/
# beside the sample's LICENSE and README (a folder a person could drop). The
# bytes are deterministic: tests/golden/requantized.json holds each file's
# sha256 and llama.cpp's greedy ids for it. Skips files already there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
src=sample/SmolLM2-135M-Instruct
kinds=(Q8_0 Q4_K Q6_K F16)
missing=0
for k in "${kinds[@]}"; do [ -f "sample/requantized/$k/SmolLM2-135M-Instruct.$k.gguf" ] || missing=1; done
[ "$missing" = 0 ] && { echo "requantized: ready in sample/requantized"; exit 0; }
cargo build --release -q -p fineprint-kernels --example requantize
for k in "${kinds[@]}"; do
  dir="sample/requantized/$k"
  out="$dir/SmolLM2-135M-Instruct.$k.gguf"
  [ -f "$out" ] && continue
  mkdir -p "$dir"
  cp "$src/LICENSE" "$src/README.md" "$dir/"
  arg=$(echo "$k" | tr 'A-Z' 'a-z' | tr -d '_'); [ "$k" = Q8_0 ] && arg=q8_0
  target/release/examples/requantize "$src/SmolLM2-135M-Instruct.Q4_1.gguf" "$out.tmp" "$arg"
  mv "$out.tmp" "$out"
done
echo "requantized: ready in sample/requantized"
