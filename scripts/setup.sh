#!/usr/bin/env bash
# Installs what building, serving and testing Fine Print need, and nothing that
# is already there: the wasm32 target, wasm-bindgen-cli at exactly the version
# in Cargo.lock, trunk 0.21.14, Debian's Chromium, the test driver from npm and
# the sample model. Every step checks before it installs (idempotent); nothing
# is downloaded outside the package registries.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
say() { printf 'setup: %s\n' "$*"; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
# The kernels' simd128 path is unit-tested as wasm32-wasip1 under Node's WASI.
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1; then
  say "adding the wasm32-wasip1 target"
  rustup target add wasm32-wasip1
fi

# wasm-bindgen-cli must equal the wasm-bindgen crate in Cargo.lock. No --locked:
# its lockfile pins a webpki-roots version the registry does not serve.
wbg=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbg\$"; then
  say "installing wasm-bindgen-cli $wbg (about 10-25 minutes on 2 cores)"
  cargo install wasm-bindgen-cli --version "$wbg"
fi

# The threaded worker rebuilds std with wasm atomics: the nightly pinned in
# worker/nightly-toolchain.txt, with its sources, for that one build.
nightly=$(tr -d '[:space:]' < "$root/worker/nightly-toolchain.txt")
if ! rustup run "$nightly" rustc --version >/dev/null 2>&1 \
  || ! rustup component list --toolchain "$nightly" --installed 2>/dev/null | grep -q '^rust-src' \
  || ! rustup target list --toolchain "$nightly" --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "installing $nightly with rust-src (for the threaded worker)"
  rustup toolchain install "$nightly" --profile minimal --component rust-src --target wasm32-unknown-unknown
fi
# trunk 0.22 needs a newer rustc than this machine's 1.95.
if ! trunk --version 2>/dev/null | grep -q "0.21.14"; then
  say "installing trunk 0.21.14 (about 10 minutes on 2 cores)"
  cargo install trunk --version 0.21.14 --locked || cargo install trunk --version 0.21.14
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

bash scripts/licensedb.sh
bash scripts/sample.sh
bash scripts/gemma.sh
bash scripts/requantized.sh
