#!/usr/bin/env bash
# The inference benchmark over the scale set (scripts/scale-set.sh) and the two
# real models: for each, the page's worker in headless Chromium against the
# xllamacpp wheel and llama.cpp built for this host (scripts/bench-llamacpp-host.sh),
# at the thread counts in SYSTEMS. Usage: scripts/bench-scale.sh [ROUNDS]
# SYSTEMS defaults to one thread: fineprint-worker,llama.cpp-native-1t,llama.cpp-host-1t
# (add fineprint-worker-mt,llama.cpp-native-2t,llama.cpp-host-2t for two).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rounds=${1:-1}
systems=${SYSTEMS:-fineprint-worker,llama.cpp-native-1t,llama.cpp-host-1t}
bash scripts/scale-set.sh >&2
bash scripts/bench-llamacpp-host.sh >&2
for m in sample/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf sample/gemma-3-270m/gemma-3-270m-q4_k_m.gguf \
  sample/scale/llama-0.5b-q4_k_m.gguf sample/scale/gemma3-1b-q4_k_m.gguf sample/scale/llama-1.2b-q4_k_m.gguf \
  sample/scale/llama-3b-q4_k_m.gguf; do
  echo "== $(basename "$m") ($(du -m "$m" | cut -f1) MB)"
  MODEL=$m ONLY=$systems node scripts/bench-inference.mjs "$rounds" | grep -E '^\{"round"|^median|first token' | cut -c1-300
done
