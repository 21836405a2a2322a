#!/usr/bin/env bash
# Makes the scale set (crates/inference/examples/scale_set.rs) into
# sample/scale/, once: synthetic Q4_K_M GGUFs at about 0.4B, 1B and 2.7B
# (the Qwen2.5 0.5B, Llama 3.2 1B and 3B shapes) and a 1B gemma3, for the
# speed and memory benchmarks. Needs the sample and the Gemma folder
# (scripts/sample.sh, scripts/gemma.sh) for their tokenizers.
# Usage: scripts/scale-set.sh [NAME…]   (llama-0.5b llama-1.2b llama-3b gemma3-1b)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
llama=sample/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf
gemma=sample/gemma-3-270m/gemma-3-270m-q4_k_m.gguf
for f in "$llama" "$gemma"; do
  [ -f "$f" ] || { echo "scale-set: $f is missing: run scripts/setup.sh" >&2; exit 1; }
done
cargo run --release -q -p fineprint-inference --example scale_set -- "$llama" "$gemma" sample/scale "$@"
