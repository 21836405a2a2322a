#!/usr/bin/env bash
# Times a cold first command, as a person on a fresh machine of this kind
# meets it: a clone of this tree into a scratch folder, a new CARGO_HOME (with
# only rustup's proxies, so wasm-bindgen-cli and trunk are built again), a new
# target directory and no pip cache; then `scripts/serve.sh`, timed until the
# page is served and until the background workers are in place. rustup's
# toolchains are the machine's own. Usage: scripts/bench-setup.sh [SCRATCH]
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=${1:-$(mktemp -d /tmp/fineprint-cold-XXXXXX)}
port=${PORT:-18999}
mkdir -p "$scratch/cargo/bin"
for b in cargo rustc rustup rustdoc cargo-fmt cargo-clippy rustfmt clippy-driver; do
  [ -e "$HOME/.cargo/bin/$b" ] && ln -sf "$HOME/.cargo/bin/$b" "$scratch/cargo/bin/$b"
done
git clone -q "$root" "$scratch/repo"
cd "$scratch/repo" || exit 1
export CARGO_HOME="$scratch/cargo" PATH="$scratch/cargo/bin:/usr/local/bin:/usr/bin:/bin" PIP_NO_CACHE_DIR=1 PORT=$port
start=$(date +%s)
bash scripts/serve.sh >"$scratch/serve.log" 2>&1 &
pid=$!
served=""
while kill -0 "$pid" 2>/dev/null; do
  now=$(($(date +%s) - start))
  if [ -z "$served" ] && grep -q "http://" "$scratch/serve.log"; then
    served=$now
    echo "bench-setup: page served after ${served} s"
  fi
  if grep -q "workers are built\|did not build" "$scratch/serve.log"; then
    echo "bench-setup: other workers ready after ${now} s ($(grep -o 'workers are built\|did not build' "$scratch/serve.log"))"
    break
  fi
  [ "$now" -gt 3600 ] && { echo "bench-setup: gave up after an hour (see $scratch/serve.log)"; break; }
  sleep 5
done
pkill -f "serve.py $port" 2>/dev/null
kill "$pid" 2>/dev/null
echo "bench-setup: log in $scratch/serve.log; remove $scratch when done"
