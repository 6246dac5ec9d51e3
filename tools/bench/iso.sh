#!/usr/bin/env bash
# Benchmark of @vmctx/iso-builder against genisoimage -RJ, xorriso -as mkisofs -RJ and plain cat (the floor:
# reading the same files and writing them out once). Two trees, generated once outside the repository:
#   big:   ~800 MB in ~2,000 files;   small: 10,000 files of 0-4 KiB in 100 directories.
# Each tool runs ISO_BENCH_RUNS (5) times per tree, round-robin after one warm-up round that fills the page
# cache, so that load changes on a shared machine hit every tool alike; the table shows the median
# wall time, the largest peak RSS (/usr/bin/time %M), and ratios against genisoimage and cat.
# Usage: tools/bench/iso.sh [work dir, default $VMCTX_BENCH_DIR or /var/tmp/vmctx-bench]
# ISO_BENCH_BASELINE=/path/to/an/older/dist (e.g. a copy of packages/iso-builder/dist made before a change)
# adds that build as "vmctx-base", run in the same rounds: a before/after comparison that load cannot skew.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-${VMCTX_BENCH_DIR:-/var/tmp/vmctx-bench}}
runs=${ISO_BENCH_RUNS:-5}
mkdir -p "$work"
for tool in genisoimage xorriso /usr/bin/time node; do
  command -v "$tool" >/dev/null || { echo "iso.sh: $tool is missing" >&2; exit 2; }
done

# The package as users get it: compiled to dist.
(cd "$root" && npx tsc -p packages/iso-builder/tsconfig.lib.json)

generate() { # $1 = tree, $2 = number of files, $3 = mean size in bytes, $4 = directories
  [ -f "$work/$1.done" ] && return 0
  rm -rf "${work:?}/$1"
  node --input-type=module - "$work/$1" "$2" "$3" "$4" <<'JS'
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
const [dir, count, mean, dirs] = process.argv.slice(2).map((v, i) => (i === 0 ? v : Number(v)));
// Deterministic sizes (a small LCG), random contents (so nothing compresses or dedups).
let seed = 12345;
const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
for (let i = 0; i < count; i++) {
  const sub = `${dir}/d${String(i % dirs).padStart(3, '0')}`;
  mkdirSync(sub, { recursive: true });
  const size = Math.floor(next() * 2 * mean);
  writeFileSync(`${sub}/file-${i}.bin`, randomBytes(size));
}
JS
  touch "$work/$1.done"
}
generate big 2000 400000 40
generate small 10000 2048 100

write_builder() { # $1 = script, $2 = dist folder
  cat >"$1" <<JS
import { writeIsoFromDirectory } from '$2/index.js';
await writeIsoFromDirectory(process.argv[2], process.argv[3], { epoch: 0 });
JS
}
builder="$work/vmctx-iso.mjs"
write_builder "$builder" "$root/packages/iso-builder/dist"
baseline=${ISO_BENCH_BASELINE:-}
if [ -n "$baseline" ]; then
  [ -f "$baseline/index.js" ] || { echo "iso.sh: no index.js in ISO_BENCH_BASELINE=$baseline" >&2; exit 2; }
  write_builder "$work/vmctx-base.mjs" "$(cd "$baseline" && pwd)"
fi

run() { # $1 = label, rest = command; prints "seconds rss_kib" of one run
  # The previous image is removed and dirty pages flushed first, untimed: freeing 800 MB of blocks or waiting
  # for the previous run's writeback is not part of building an image.
  rm -f "$out"
  sync
  /usr/bin/time -f '%e %M' -o "$work/time.txt" "${@:2}" >/dev/null 2>"$work/stderr.txt" || {
    echo "iso.sh: $1 failed:" >&2; cat "$work/stderr.txt" >&2; exit 1; }
  cat "$work/time.txt"
}

tools=(vmctx ${baseline:+vmctx-base} genisoimage xorriso cat)
run_tool() { # $1 = tool, $2 = tree, $3 = output; prints "seconds rss_kib"
  # shellcheck disable=SC2016 # in the cat branch, $1 and $2 belong to the inner sh
  case $1 in
    vmctx) run vmctx node "$builder" "$2" "$3" ;;
    vmctx-base) run vmctx-base node "$work/vmctx-base.mjs" "$2" "$3" ;;
    genisoimage) run genisoimage genisoimage -quiet -R -J -o "$3" "$2" ;;
    xorriso) run xorriso xorriso -as mkisofs -quiet -R -J -o "$3" "$2" ;;
    cat) run cat sh -c 'find "$1" -type f -print0 | sort -z | xargs -0 cat > "$2"' cat "$2" "$3" ;;
  esac
}

declare -A secs mem all
for tree in big small; do
  src="$work/$tree"
  out="$work/out-$tree.iso"
  for tool in "${tools[@]}"; do run_tool "$tool" "$src" "$out" >/dev/null; done # warm-up: page cache, disk blocks
  # Rounds go through every tool in turn, so that a change in machine load hits all of them alike, each round
  # in another order (a fixed shuffle per round): a tool that always ran right after the same other one would
  # always pay for its after-effects (after xorriso or cat, the next 800 MB write was measured up to 2.5 times
  # slower on this VM).
  for round in $(seq "$runs"); do
    order=("${tools[@]}")
    RANDOM=$round
    for ((i = ${#order[@]} - 1; i > 0; i--)); do
      j=$((RANDOM % (i + 1)))
      swap=${order[i]}
      order[i]=${order[j]}
      order[j]=$swap
    done
    for tool in "${order[@]}"; do
      read -r s m < <(run_tool "$tool" "$src" "$out")
      all[$tree,$tool]="${all[$tree,$tool]:-} $s"
      (( m > ${mem[$tree,$tool]:-0} )) && mem[$tree,$tool]=$m
    done
  done
  for tool in "${tools[@]}"; do
    # shellcheck disable=SC2086 # word splitting of the list of times is wanted
    secs[$tree,$tool]=$(printf '%s\n' ${all[$tree,$tool]} | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  done
  rm -f "$out"
done

size() { du -sm "$work/$1" | cut -f1; }
echo
echo "tree: big = $(find "$work/big" -type f | wc -l) files, $(size big) MB; small = $(find "$work/small" -type f | wc -l) files, $(size small) MB"
printf '%-7s %-12s %9s %9s %11s %8s  %s\n' tree tool 'wall s' 'peak MiB' 'vs geniso' 'vs cat' 'all runs (s)'
for tree in big small; do
  for tool in "${tools[@]}"; do
    s=${secs[$tree,$tool]}
    awk -v t="$tree" -v n="$tool" -v s="$s" -v m="${mem[$tree,$tool]}" -v g="${secs[$tree,genisoimage]}" -v c="${secs[$tree,cat]}" \
      -v a="${all[$tree,$tool]}" \
      'BEGIN { printf "%-7s %-12s %9.2f %9.1f %10.2fx %7.2fx %s\n", t, n, s, m / 1024, (g > 0 ? s / g : 0), (c > 0 ? s / c : 0), a }'
  done
done
