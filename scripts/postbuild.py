#!/usr/bin/env python3
"""trunk post-build step: build the worker's other variants, pin the inline
loader script in the CSP by hash, and write the service worker's precache list (every built file, with a version
that changes whenever any of them does)."""
import base64, hashlib, json, os, pathlib, re, subprocess, sys

dist = pathlib.Path(os.environ.get("TRUNK_STAGING_DIR") or (sys.argv[1] if len(sys.argv) > 1 else "dist"))

# The worker's other builds (relaxed SIMD; threaded, with its own toolchain and
# flags), beside trunk's plain one, before the precache list is made.
subprocess.run([str(pathlib.Path(__file__).with_name("build-workers.sh")), str(dist)], check=True)
index = dist / "index.html"
html = index.read_text()

hashes = []
for body in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S):
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    hashes.append(f"'sha256-{digest}'")
if hashes:
    html = html.replace("script-src 'self' 'wasm-unsafe-eval'", "script-src 'self' 'wasm-unsafe-eval' " + " ".join(hashes), 1)
index.write_text(html)

files = sorted(p.relative_to(dist).as_posix() for p in dist.rglob("*") if p.is_file() and p.name != "sw.js")
version = hashlib.sha256()
for f in files:
    version.update(f.encode())
    version.update((dist / f).read_bytes())
sw = dist / "sw.js"
text = sw.read_text()
text = text.replace("__PRECACHE__", json.dumps(["./"] + files)).replace("__VERSION__", version.hexdigest()[:16])
sw.write_text(text)
print(f"postbuild: CSP pins {len(hashes)} inline script(s); service worker precaches {len(files)} files")
