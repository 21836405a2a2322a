#!/usr/bin/env bash
# Installs what is missing, builds the static site and serves it on
# http://127.0.0.1:${PORT:-8080}/ with the sample model ready to try.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh
trunk build
exec python3 scripts/serve.py "${PORT:-8080}"
