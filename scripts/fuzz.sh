#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 120) on its kept corpus.
# Needs the nightly toolchain and cargo-fuzz (`cargo +nightly install cargo-fuzz`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
secs=${1:-120}
run() {
  local t=$1; shift
  echo "== $t for ${secs}s"
  cargo +nightly fuzz run --fuzz-dir crates/fuzz "$@" "$t" "crates/fuzz/corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=4096 2>&1 | tail -n 3
}
for t in front_matter gguf_metadata license_text modelfile revisions; do run "$t"; done
run gguf_header --features inference
run decoder --features inference
run sentencepiece --features inference
run gpt2_bpe --features inference
