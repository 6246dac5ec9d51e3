#!/usr/bin/env bash
# Benchmark of disk-builder against the QEMU tools, side by side, median of RUNS runs each:
#   1. overlay creation, whole process: `vmctx disk create` (node) vs `qemu-img create`, same arguments;
#      plus the library call alone (createOverlay in a warm process) and bare node start-up, to show where
#      the time goes;
#   2. sha256 of a 1 GiB raw image of random data: `vmctx disk sha256` (node) vs `sha256sum`, page cache warm.
# Usage: tools/bench/disk.sh [RUNS]   (default 7). Needs the built CLI (it builds it when missing).
# The 1 GiB image is made once in /var/tmp/vmctx-bench and kept for later runs.
set -euo pipefail

RUNS="${1:-7}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH_DIR=/var/tmp/vmctx-bench
IMAGE="$BENCH_DIR/raw-1g.img"
VMCTX=("node" "$ROOT/apps/deployer/bin/vmctx.js")
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vmctx-bench-disk.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

command -v qemu-img >/dev/null || { echo "disk.sh: qemu-img is not installed" >&2; exit 2; }
if [ ! -f "$ROOT/apps/deployer/dist/main.js" ] || [ ! -f "$ROOT/packages/disk-builder/dist/index.js" ]; then
  echo "disk.sh: building the CLI (tsc -b)" >&2
  (cd "$ROOT" && npx tsc -b apps/deployer/tsconfig.lib.json)
fi
mkdir -p "$BENCH_DIR"
if [ ! -f "$IMAGE" ] || [ "$(stat -c %s "$IMAGE")" -ne 1073741824 ]; then
  echo "disk.sh: writing 1 GiB of random data to $IMAGE" >&2
  head -c 1G /dev/urandom > "$IMAGE.tmp" && mv "$IMAGE.tmp" "$IMAGE"
fi

# measure CMD...: runs CMD $RUNS times in a subshell; prints the median wall time and the mean CPU time
# (user + system, from the subshell's children as `times` reports them) in milliseconds. CPU time says more
# than wall time on a machine shared with other work. EPOCHREALTIME is a bash builtin: no process per sample.
measure() {
  local out
  out=$(
    for ((i = 0; i < RUNS; i++)); do
      start=$EPOCHREALTIME
      "$@" >/dev/null
      echo "wall $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')"
    done
    times
  )
  local walls cpu
  walls=$(awk '$1 == "wall" { print $2 }' <<<"$out")
  # `times` prints the shell's own times, then its children's: "0m0.123s 0m0.045s".
  cpu=$(tail -1 <<<"$out" | awk -v n="$RUNS" '{
    split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.1f", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 1000 / n }')
  # shellcheck disable=SC2086 # one sample per word
  printf '%s %s\n' "$(median $walls)" "$cpu"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f", m * 1000 }'; }

row() { # row TASK "OURS_WALL OURS_CPU" "REF_WALL REF_CPU" REF_NAME  (a CPU of "-" is not measured)
  local ow oc rw rc
  read -r ow oc <<<"$2"
  read -r rw rc <<<"$3"
  awk -v t="$1" -v ow="$ow" -v oc="${oc:--}" -v rw="$rw" -v rc="${rc:--}" -v n="$4" 'BEGIN {
    cr = (oc == "-" || rc == "-" || rc == 0) ? "-" : sprintf("%.2fx", oc / rc)
    printf "%-46s %9.1f %9.1f %7.2fx   %9s %9s %7s  %s\n", t, ow, rw, ow / rw, oc, rc, cr, n }'
}

BASE="$WORK/base.raw"
truncate -s 20G "$BASE"

QEMU_CREATE=(qemu-img create -q -f qcow2 -F raw -b "$BASE" -u "$WORK/q.qcow2" 20G)
OURS_CREATE=("${VMCTX[@]}" disk create -q -f qcow2 -F raw -b "$BASE" -u "$WORK/o.qcow2" 20G)
NODE_BARE=(node -e '')
# The library call alone: RUNS creations in one warm node process, median per call; $1 = fdatasync or not.
library_ms() {
  node --input-type=module -e "
    import { createOverlay } from '$ROOT/packages/disk-builder/dist/index.js';
    const times = [];
    const sync = $1;
    for (let i = 0; i < 5; i++) await createOverlay({ path: '$WORK/w.qcow2', backingFile: '$BASE', backingFormat: 'raw', virtualSize: 20 * 2 ** 30, sync });
    for (let i = 0; i < $RUNS; i++) {
      const t = process.hrtime.bigint();
      await createOverlay({ path: '$WORK/l.qcow2', backingFile: '$BASE', backingFormat: 'raw', virtualSize: 20 * 2 ** 30, sync });
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    const m = times.length % 2 ? times[(times.length - 1) / 2] : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;
    console.log(m.toFixed(3));"
}

# Sanity: both tools write the same bytes, or the comparison means nothing.
"${QEMU_CREATE[@]}"
"${OURS_CREATE[@]}"
cmp -s "$WORK/q.qcow2" "$WORK/o.qcow2" || { echo "disk.sh: vmctx and qemu-img overlays differ" >&2; exit 1; }

# Warm up (binaries, page cache), then measure.
"${QEMU_CREATE[@]}"; "${OURS_CREATE[@]}"; "${NODE_BARE[@]}"
t_qemu=$(measure "${QEMU_CREATE[@]}")
t_ours=$(measure "${OURS_CREATE[@]}")
t_node=$(measure "${NODE_BARE[@]}")
t_lib="$(library_ms true) -"
t_lib_nosync="$(library_ms false) -"

OURS_SHA=("${VMCTX[@]}" disk sha256 "$IMAGE")
REF_SHA=(sha256sum "$IMAGE")
a=$("${OURS_SHA[@]}" | cut -d' ' -f1)
b=$("${REF_SHA[@]}" | cut -d' ' -f1)
[ "$a" = "$b" ] || { echo "disk.sh: digests differ: $a vs $b" >&2; exit 1; }
sha_runs=$RUNS
RUNS=$(( RUNS < 5 ? RUNS : 5 )) # 1 GiB each: fewer runs
t_sha_ours=$(measure "${OURS_SHA[@]}")
t_sha_ref=$(measure "${REF_SHA[@]}")
RUNS=$sha_runs

echo
echo "disk-builder benchmark: median of $RUNS runs (sha256: of $(( RUNS < 5 ? RUNS : 5 ))), $(nproc) cores, $(qemu-img --version | head -1)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-46s %9s %9s %8s   %9s %9s %7s  %s\n' "task" "wall ms" "ref ms" "ratio" "cpu ms" "ref cpu" "ratio" "reference"
row "overlay 20G, whole process (vmctx disk create)" "$t_ours" "$t_qemu" "qemu-img" 
row "overlay 20G, createOverlay() in a warm process" "$t_lib" "$t_qemu" "qemu-img"
row "  the same with { sync: false } (no fdatasync)" "$t_lib_nosync" "$t_qemu" "qemu-img"
row "node start-up alone (node -e '')" "$t_node" "$t_qemu" "qemu-img"
row "sha256 of 1 GiB raw (vmctx disk sha256)" "$t_sha_ours" "$t_sha_ref" "sha256sum"
echo "(ratio = vmctx / reference, below 1 is faster; cpu = user + system time of the process. qemu-img create"
echo " calls fdatasync 5 times, createOverlay once by default. sha256 from the page cache, both warmed first.)"
