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

now_ns() { date +%s%N; }

# median_ms CMD...: runs CMD $RUNS times, prints the median wall time in milliseconds (3 decimals).
median_ms() {
  local i start end
  local -a times=()
  for ((i = 0; i < RUNS; i++)); do
    start=$(now_ns)
    "$@" >/dev/null
    end=$(now_ns)
    times+=("$((end - start))")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f\n", m / 1e6 }'
}

row() { # row TASK OURS_MS REF_MS REF_NAME
  awk -v t="$1" -v o="$2" -v r="$3" -v n="$4" 'BEGIN { printf "%-44s %12.1f %12.1f  %-12s %7.2fx\n", t, o, r, n, o / r }'
}

BASE="$WORK/base.raw"
truncate -s 20G "$BASE"

qemu_create() { qemu-img create -q -f qcow2 -F raw -b "$BASE" -u "$WORK/q.qcow2" 20G; }
ours_create() { "${VMCTX[@]}" disk create -q -f qcow2 -F raw -b "$BASE" -u "$WORK/o.qcow2" 20G; }
node_bare() { node -e ''; }
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
qemu_create
ours_create
cmp -s "$WORK/q.qcow2" "$WORK/o.qcow2" || { echo "disk.sh: vmctx and qemu-img overlays differ" >&2; exit 1; }

# Warm up (binaries, page cache), then measure.
qemu_create; ours_create; node_bare
t_qemu=$(median_ms qemu_create)
t_ours=$(median_ms ours_create)
t_node=$(median_ms node_bare)
t_lib=$(library_ms true)
t_lib_nosync=$(library_ms false)

ours_sha() { "${VMCTX[@]}" disk sha256 "$IMAGE"; }
ref_sha() { sha256sum "$IMAGE"; }
a=$(ours_sha | cut -d' ' -f1)
b=$(ref_sha | cut -d' ' -f1)
[ "$a" = "$b" ] || { echo "disk.sh: digests differ: $a vs $b" >&2; exit 1; }
sha_runs=$RUNS
RUNS=$(( RUNS < 5 ? RUNS : 5 )) # 1 GiB each: fewer runs
t_sha_ours=$(median_ms ours_sha)
t_sha_ref=$(median_ms ref_sha)
RUNS=$sha_runs

echo
echo "disk-builder benchmark: median of $RUNS runs (sha256: of $(( RUNS < 5 ? RUNS : 5 ))), $(nproc) cores, $(qemu-img --version | head -1)"
printf '%-44s %12s %12s  %-12s %8s\n' "task" "vmctx ms" "ref ms" "reference" "ratio"
row "overlay 20G, whole process (vmctx disk create)" "$t_ours" "$t_qemu" "qemu-img" 
row "overlay 20G, createOverlay() in a warm process" "$t_lib" "$t_qemu" "qemu-img"
row "  the same with { sync: false } (no fdatasync)" "$t_lib_nosync" "$t_qemu" "qemu-img"
row "node start-up alone (node -e '')" "$t_node" "$t_qemu" "qemu-img"
row "sha256 of 1 GiB raw (vmctx disk sha256)" "$t_sha_ours" "$t_sha_ref" "sha256sum"
echo "(ratio = vmctx / reference; below 1 is faster. qemu-img create calls fdatasync 5 times, createOverlay once"
echo " by default. sha256 from the page cache, both warmed first.)"
