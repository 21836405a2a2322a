#!/usr/bin/env bash
# Installs what building, serving and testing Fine Print need, and nothing that
# is already there. Every step checks before it installs (idempotent); nothing
# is downloaded outside the package registries. In stages:
#   setup.sh page      what serving the page needs: the wasm32 target,
#                      wasm-bindgen-cli at exactly the version in Cargo.lock,
#                      trunk 0.21.14, ScanCode's LicenseDB and the sample model;
#   setup.sh workers   the pinned nightly with rust-src, for the threaded workers;
#   setup.sh           all of it, and what the tests need beside: wasm32-wasip1,
#                      Chromium, chromedriver and Firefox from Debian, the test
#                      drivers from npm, spdx-tools, the Gemma folder, the
#                      requantized conformance files and the scale set's three
#                      test files (synthetic, made here; the 3B is the
#                      benchmark's alone).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
stage=${1:-all}
case "$stage" in page | workers | all) ;; *) echo "usage: setup.sh [page|workers|all]" >&2; exit 2 ;; esac
say() { printf 'setup: %s\n' "$*"; }

# The tools are built for this machine, not for speed: trunk's own release
# profile (fat LTO, one codegen unit) triples its build time for a program
# that spends its life waiting on cargo. Its update check is left out: it
# would ask crates.io on every build. wasm-bindgen-cli's TLS is for fetching
# WebDriver binaries, which the tests never do (they use Debian's).
tool_profile() {
  CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=2 "$@"
}

nightly=$(tr -d '[:space:]' < "$root/worker/nightly-toolchain.txt")
workers() {
  # The threaded worker rebuilds std with wasm atomics: the nightly pinned in
  # worker/nightly-toolchain.txt, with its sources, for that one build.
  if ! rustup run "$nightly" rustc --version >/dev/null 2>&1 \
    || ! rustup component list --toolchain "$nightly" --installed 2>/dev/null | grep -q '^rust-src' \
    || ! rustup target list --toolchain "$nightly" --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "installing $nightly with rust-src (for the threaded worker)"
    rustup toolchain install "$nightly" --profile minimal --component rust-src --target wasm32-unknown-unknown
  fi
}
if [ "$stage" = workers ]; then
  workers
  exit 0
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock. No --locked:
# its lockfile pins a webpki-roots version the registry does not serve.
# The two tools build side by side: each has long single-threaded stretches
# (build scripts, the last crates, linking) that the other fills.
wbg=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
pids=()
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbg\$"; then
  say "installing wasm-bindgen-cli $wbg (a few minutes on 2 cores)"
  tool_profile cargo install -q wasm-bindgen-cli --version "$wbg" --no-default-features &
  pids+=($!)
fi

# trunk 0.22 needs a newer rustc than this machine's 1.95.
if ! trunk --version 2>/dev/null | grep -q "0.21.14"; then
  say "installing trunk 0.21.14 (a few minutes on 2 cores)"
  tool_profile cargo install -q trunk --version 0.21.14 --locked --no-default-features --features rustls &
  pids+=($!)
fi
for p in "${pids[@]}"; do wait "$p"; done

bash scripts/licensedb.sh
bash scripts/sample.sh
if [ "$stage" = page ]; then
  exit 0
fi

workers
# The kernels' simd128 path is unit-tested as wasm32-wasip1 under Node's WASI.
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1; then
  say "adding the wasm32-wasip1 target"
  rustup target add wasm32-wasip1
fi

if [ ! -x /usr/bin/chromium ]; then
  say "installing Chromium from Debian"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# The page's component tests run through wasm-bindgen-test-runner, which drives
# Chromium over WebDriver: Debian's chromedriver, built with the same Chromium.
if [ ! -x /usr/bin/chromedriver ]; then
  say "installing chromium-driver from Debian (the component tests' WebDriver)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-driver >/dev/null
fi

if [ ! -x /usr/bin/firefox-esr ]; then
  say "installing Firefox ESR from Debian (the browser tests' second browser)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq firefox-esr >/dev/null
fi

if [ ! -f tests/browser/node_modules/playwright-core/package.json ] ||
   [ ! -f tests/browser/node_modules/puppeteer-core/package.json ] ||
   [ ! -f tests/browser/node_modules/ajv-formats/package.json ] ||
   [ ! -f tests/browser/node_modules/@cyclonedx/cyclonedx-library/package.json ] ||
   ! grep -q "\"version\": \"$(node -p "require('./tests/browser/package.json').dependencies['playwright-core']")\"" tests/browser/node_modules/playwright-core/package.json; then
  say "installing playwright-core and puppeteer-core (drivers only; the browsers are Debian's), ajv and the CycloneDX schemas from npm"
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --silent)
fi

# The SPDX project's validator, for the test of `--format spdx` (a test tool only).
if [ ! -d .tools/python/spdx_tools ]; then
  say "installing spdx-tools from PyPI into .tools/python (the SPDX 2.3 validator for the tests)"
  python3 -m pip install --quiet --target .tools/python spdx-tools==0.8.5
fi

bash scripts/gemma.sh
bash scripts/requantized.sh
bash scripts/scale-set.sh llama-0.5b gemma3-1b llama-1.2b
