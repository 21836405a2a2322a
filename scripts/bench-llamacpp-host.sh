#!/usr/bin/env bash
# Builds llama.cpp's `llama-bench` for this host, once, into .tools/llama-host/:
# the strong native anchor of the inference benchmark (the xllamacpp wheel is
# a generic AVX2 build). Bench only: never part of set-up or CI.
#
# The source is the llama.cpp that the llama-cpp-python sdist vendors (PyPI),
# built with cmake and ninja from PyPI. GGML_NATIVE=ON dies with an illegal
# instruction on these VMs (it turns AMX on), so the x86 features are named:
# AVX-512 with VNNI, VBMI and BF16 where /proc/cpuinfo lists them, AMX off.
# Usage: scripts/bench-llamacpp-host.sh   (prints the binary's path)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=0.3.36
dest=$root/.tools/llama-host
bin=$dest/llama-bench
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
tools=$root/.tools/bench/buildtools
if [ ! -x "$tools/bin/cmake" ] || [ ! -x "$tools/bin/ninja" ]; then
  python3 -m pip install --quiet --target "$tools" cmake ninja >&2
fi
export PATH=$tools/bin:$PATH PYTHONPATH=$tools${PYTHONPATH:+:$PYTHONPATH}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The sdist itself, from PyPI's JSON API (`pip download` would build its
# build dependencies from source first).
python3 - "$version" "$work" <<'PY' >&2
import json, sys, urllib.parse, urllib.request
version, work = sys.argv[1], sys.argv[2]
api = "https://pypi.org/pypi/llama-cpp-python/json"
meta = json.load(urllib.request.urlopen(api))
sdist = next(u for u in meta["releases"][version] if u["packagetype"] == "sdist")
# A mirror may answer with a URL relative to the API's.
urllib.request.urlretrieve(urllib.parse.urljoin(api, sdist["url"]), f"{work}/{sdist['filename']}")
print("downloaded", sdist["filename"])
PY
tar xzf "$work/llama_cpp_python-$version.tar.gz" -C "$work"
src=$work/llama_cpp_python-$version/vendor/llama.cpp

has() { grep -qw "$1" /proc/cpuinfo && echo ON || echo OFF; }
flags=(
  -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF
  -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
  "-DGGML_AVX512=$(has avx512f)" "-DGGML_AVX512_VNNI=$(has avx512_vnni)"
  "-DGGML_AVX512_VBMI=$(has avx512vbmi)" "-DGGML_AVX512_BF16=$(has avx512_bf16)"
  -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF
)
cmake -S "$src" -B "$work/build" -G Ninja "${flags[@]}" >&2
cmake --build "$work/build" --target llama-bench -j "$(nproc)" >&2
mkdir -p "$dest"
cp "$work/build/bin/llama-bench" "$bin"
printf '%s\n' "${flags[@]}" > "$dest/flags.txt"
echo "$bin"
