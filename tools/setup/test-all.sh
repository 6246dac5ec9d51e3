#!/usr/bin/env bash
# `npm test`: set up, run every unit test, then the end-to-end suites with the lab up, and the lab down
# afterwards whatever happened.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export NX_DAEMON=false NX_NO_CLOUD=true

start=$(date +%s)
bash tools/setup/setup.sh
echo "[test] setup took $(( $(date +%s) - start )) s" >&2

npx nx run-many -t test --outputStyle=stream

lab=tools/lab/lab
if [ -x "$lab" ]; then
  trap '"$lab" down || true' EXIT
  "$lab" up 2
fi
npx nx run e2e:e2e --outputStyle=stream
echo "[test] all tests took $(( $(date +%s) - start )) s" >&2
