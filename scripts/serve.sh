#!/usr/bin/env bash
# Installs what is missing, builds the page and serves it on
# http://127.0.0.1:${PORT:-8080}/ with the sample model ready to try.
#
# The page comes first: it is served as soon as the page and its plain worker
# are built. The threaded and relaxed-SIMD workers build in the background
# (the page runs on the plain one meanwhile, as it does where an engine lacks
# them); the terminal says when they are in place, and the next reload uses them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh page
FINEPRINT_WORKERS=later trunk build
log="$root/target/workers-build.log"
(
  if bash scripts/setup.sh workers >"$log" 2>&1 && python3 scripts/postbuild.py --workers dist >>"$log" 2>&1; then
    echo "serve: the threaded and relaxed-SIMD workers are built; reload the page to use them"
  else
    echo "serve: the other workers did not build (see $log); the page goes on with the plain one"
  fi
) &
echo "serve: building the threaded and relaxed-SIMD workers in the background (log: $log)"
exec python3 scripts/serve.py "${PORT:-8080}"
