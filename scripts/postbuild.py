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
    count = precache()
print(f"postbuild: CSP pins {len(hashes)} inline script(s); service worker precaches {count} files")
