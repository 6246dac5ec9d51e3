#!/usr/bin/env bash
# `npm run bench`: every benchmark in this folder, one after the other (they compete for the same 2 cores, so
# never in parallel). Each prints its own table of wall times, peak memory and ratios against the system tools.
# Scratch data goes to ${VMCTX_BENCH_DIR:-/var/tmp/vmctx-bench}, outside the repository.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/../setup/setup.sh"
for bench in "$here"/*.sh; do
  [ "$(basename "$bench")" = run.sh ] && continue
  echo "== $(basename "$bench" .sh)"
  bash "$bench" "$@"
done
