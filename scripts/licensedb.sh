#!/usr/bin/env bash
# Puts ScanCode's license database (LicenseDB, CC-BY-4.0, from the PyPI wheel
# scancode-toolkit) in .tools/licensedb/licenses: one `<key>.LICENSE` file per
# license, YAML facts and the full text. The license engine's build script
# reads it from there (FINEPRINT_LICENSEDB overrides the place) and turns the
# licenses Fine Print needs into the engine's data. Idempotent; never committed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=32.5.0
dest="$root/.tools/licensedb"
stamp="$dest/licenses/.scancode-toolkit-$version"
if [ -f "$stamp" ]; then
  exit 0
fi
cache="$root/.tools/wheels"
mkdir -p "$cache"
if ! ls "$cache"/scancode_toolkit-$version-*.whl >/dev/null 2>&1; then
  echo "licensedb: downloading the scancode-toolkit $version wheel (126 MB) from PyPI for its license database"
  python3 -m pip download --quiet --no-deps --dest "$cache" "scancode-toolkit==$version"
fi
wheel=$(ls "$cache"/scancode_toolkit-$version-*.whl | head -n1)
rm -rf "$dest/licenses.tmp"
mkdir -p "$dest/licenses.tmp"
python3 - "$wheel" "$dest/licenses.tmp" <<'PY'
import sys, zipfile, pathlib
wheel, out = sys.argv[1], pathlib.Path(sys.argv[2])
prefix = "licensedcode/data/licenses/"
n = 0
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and name.endswith(".LICENSE"):
            (out / name[len(prefix):]).write_bytes(z.read(name))
            n += 1
if n < 2000:
    sys.exit(f"licensedb: only {n} licenses in {wheel}; expected ScanCode's ~2,600")
print(f"licensedb: {n} licenses extracted")
PY
touch "$dest/licenses.tmp/.scancode-toolkit-$version"
rm -rf "$dest/licenses"
mv "$dest/licenses.tmp" "$dest/licenses"
