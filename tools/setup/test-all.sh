#!/usr/bin/env bash
# `npm test`: set up, run every unit test, then the end-to-end suites with the lab up, and the lab down
# afterwards whatever happened. Ends with one line "tests: N passed, N failed" summed over all suites.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export NX_DAEMON=false NX_NO_CLOUD=true NX_TUI=false NO_COLOR=1

start=$(date +%s)
bash tools/setup/setup.sh || { echo "[test] set-up failed" >&2; exit 1; }
echo "[test] set-up took $(( $(date +%s) - start )) s" >&2

log=$(mktemp /tmp/vmctx-test.XXXXXX.log)
lab=tools/lab/lab
cleanup() {
  "$lab" down || { echo "[test] lab down left something behind" >&2; status=1; }
  rm -f "$log"
}
status=0
trap 'cleanup; exit $status' EXIT
trap 'status=130; exit' INT TERM

npx nx run-many -t typecheck test --outputStyle=stream 2>&1 | tee -a "$log" || status=1
unit_done=$(date +%s)

if "$lab" up 2; then
  lab_up=$(date +%s)
  echo "[test] lab up took $(( lab_up - unit_done )) s" >&2
  npx nx run e2e:e2e --outputStyle=stream 2>&1 | tee -a "$log" || status=1
else
  echo "[test] the lab did not come up; end-to-end suites not run" >&2
  status=1
fi
echo "[test] all tests took $(( $(date +%s) - start )) s" >&2

# Vitest prints "Tests  M failed | N passed (T)" and "Test Files  M failed | N passed (T)" per run; sum them for
# CI's closing line. A file can fail outside its tests (a hook such as afterAll): counted apart, never as 0 failed.
# -a: a guest's console that the suites print may hold bytes that make grep call the log binary (and count nothing).
count() { grep -a -E "^\S*:? *$1 +[0-9]" "$log" | grep -a -oE "[0-9]+ $2" | awk '{s += $1} END {print s + 0}'; }
passed=$(count Tests passed)
failed=$(count Tests failed)
failed_files=$(count 'Test Files' failed)
if ((failed > 0 || failed_files > 0)); then
  # CI keeps only the end of the output: repeat each failure (its name and the first lines of its error) here.
  echo "[test] failures, as vitest reported them:"
  grep -a -E -A 12 '^\S*:? +FAIL ' "$log" | head -300
fi
echo "tests: $passed passed, $failed failed$( ((failed_files > 0)) && echo "; $failed_files test file(s) failed")"
((failed == 0 && failed_files == 0)) || status=1
