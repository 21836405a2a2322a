"""Folders per second for `fineprint audit` on a generated Hugging Face hub
cache of N models (default 1,000): each a copy of one of the labelled license
folders in ../shared/fixtures/licenses, laid out as the hub does it (files in
blobs/, symlinked from snapshots/<rev>/, refs/main), with a 64 MB stand-in
weights file the checker must not read. Every tenth model also has an older
snapshot holding another case's documents (a license that changed between
revisions): audit reads every snapshot and reports the change.
Usage: python3 scripts/bench-audit.py [N]"""
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

root = pathlib.Path(__file__).resolve().parent.parent
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
cases = sorted(p for p in (root / "../shared/fixtures/licenses").iterdir() if p.is_dir())
# BASELINE=path/to/another/fineprint times that binary on the same cache too, alternately.
binary = root / "target/release/fineprint"
subprocess.run(["cargo", "build", "--release", "-q", "-p", "fineprint-cli"], cwd=root, check=True)
baseline = os.environ.get("BASELINE")
cache = pathlib.Path(tempfile.mkdtemp(prefix="fineprint-hub-"))
weights = cache / "weights.bin"
with open(weights, "wb") as f:
    f.truncate(64 << 20)  # sparse: size without disk
def snapshot(model, case, rev, mtime):
    snap = model / "snapshots" / rev
    snap.mkdir(parents=True)
    for f in case.rglob("*"):
        if f.is_file() and f.name not in ("expected.json", "labels.json"):
            blob = model / "blobs" / hashlib.sha1(f.read_bytes()).hexdigest()
            if not blob.exists():
                shutil.copyfile(f, blob)
            rel = f.relative_to(case)
            (snap / rel).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(blob, snap / rel)
    os.symlink(weights, snap / "model.safetensors")
    os.utime(snap, (mtime, mtime))


snapshots = 0
for i in range(n):
    case = cases[i % len(cases)]
    rev = hashlib.sha1(f"{i}".encode()).hexdigest()
    model = cache / f"models--org{i % 37}--model-{i}"
    (model / "blobs").mkdir(parents=True)
    (model / "refs").mkdir()
    (model / "refs/main").write_text(rev)
    if i % 10 == 0:
        older = cases[(i + 1) % len(cases)]
        snapshot(model, older, hashlib.sha1(f"old{i}".encode()).hexdigest(), 1_700_000_000)
        snapshots += 1
    snapshot(model, case, rev, 1_800_000_000)
    snapshots += 1
for run in range(3 if baseline else 1):
    for exe in [binary] + ([pathlib.Path(baseline)] if baseline else []):
        t0 = time.perf_counter()
        out = subprocess.run([exe, "audit", "--json", str(cache)], capture_output=True, text=True)
        dt = time.perf_counter() - t0
        rows = out.stdout.count("\n")
        changed = out.stdout.count('"changes"')
        print(f"{exe}: {n} models, {rows} snapshots read in {dt:.2f} s = {n / dt:.0f} models/s, {rows / dt:.0f} snapshots/s; "
              f"{changed} changes of terms reported for {n // 10 + (1 if n % 10 else 0)} models with two snapshots (exit {out.returncode})")
shutil.rmtree(cache)
