#!/usr/bin/env python3
"""trunk post-build step: build the worker's other variants, pin the inline
loader script in the CSP by hash, and write the service worker's precache list
(every built file, with a version that changes whenever any of them does).

With FINEPRINT_WORKERS=later (the serve command's first build) the other
variants are left out, so the page is served as soon as the plain worker is
built; `postbuild.py --workers DIST` builds them into DIST afterwards and
writes the precache list again."""
import base64, hashlib, json, os, pathlib, re, subprocess, sys

here = pathlib.Path(__file__).resolve().parent
late = len(sys.argv) > 2 and sys.argv[1] == "--workers"
dist = pathlib.Path(sys.argv[2] if late else os.environ.get("TRUNK_STAGING_DIR") or (sys.argv[1] if len(sys.argv) > 1 else "dist"))


def precache():
    """sw.js from its template, listing every file now in dist."""
    files = sorted(p.relative_to(dist).as_posix() for p in dist.rglob("*") if p.is_file() and p.name != "sw.js")
    version = hashlib.sha256()
    for f in files:
        version.update(f.encode())
        version.update((dist / f).read_bytes())
    text = (here.parent / "public" / "sw.js").read_text()
    text = text.replace("__PRECACHE__", json.dumps(["./"] + files)).replace("__VERSION__", version.hexdigest()[:16])
    (dist / "sw.js").write_text(text)
    return len(files)


# The worker's other builds (relaxed SIMD; threaded, with its own toolchain and
# flags), beside trunk's plain one, before the precache list is made.
if late or os.environ.get("FINEPRINT_WORKERS") != "later":
    subprocess.run([str(here / "build-workers.sh"), str(dist)], check=True)
if late:
    print(f"postbuild: the other workers are built; service worker precaches {precache()} files")
    sys.exit(0)
index = dist / "index.html"
html = index.read_text()

hashes = []
for body in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S):
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    hashes.append(f"'sha256-{digest}'")
if hashes:
    html = html.replace("script-src 'self' 'wasm-unsafe-eval'", "script-src 'self' 'wasm-unsafe-eval' " + " ".join(hashes), 1)
index.write_text(html)

count = precache()
print(f"postbuild: CSP pins {len(hashes)} inline script(s); service worker precaches {count} files")
