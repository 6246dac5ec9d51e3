#!/usr/bin/env bash
# Benchmark of @vmctx/iso-builder against genisoimage -RJ, xorriso -as mkisofs -RJ and plain cat (the floor:
# reading the same files and writing them out once). Two trees, generated once outside the repository:
#   big:   ~800 MB in ~2,000 files;   small: 10,000 files of 0-4 KiB in 100 directories.
# Each tool runs 3 times per tree (after one warm-up that fills the page cache); the table shows the median
# wall time, the largest peak RSS (/usr/bin/time %M), and ratios against genisoimage and cat.
# Usage: tools/bench/iso.sh [work dir, default /var/tmp/vmctx-bench]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-/var/tmp/vmctx-bench}
runs=3
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

builder="$work/vmctx-iso.mjs"
cat >"$builder" <<JS
import { writeIsoFromDirectory } from '$root/packages/iso-builder/dist/index.js';
await writeIsoFromDirectory(process.argv[2], process.argv[3], { epoch: 0 });
JS

run() { # $1 = label, rest = command; prints "seconds rss_kib" of one run
  /usr/bin/time -f '%e %M' -o "$work/time.txt" "${@:2}" >/dev/null 2>"$work/stderr.txt" || {
    echo "iso.sh: $1 failed:" >&2; cat "$work/stderr.txt" >&2; exit 1; }
  cat "$work/time.txt"
}

measure() { # $1 = label, rest = command; prints "median_seconds max_rss_kib"
  run "$@" >/dev/null # warm-up
  local times=() rss=0 line
  for _ in $(seq "$runs"); do
    line=$(run "$@")
    times+=("${line% *}")
    (( ${line#* } > rss )) && rss=${line#* }
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p" | tr '\n' ' '
  echo "$rss"
}

declare -A secs mem
for tree in big small; do
  src="$work/$tree"
  out="$work/out-$tree.iso"
  read -r secs[$tree,vmctx] mem[$tree,vmctx] < <(measure vmctx node "$builder" "$src" "$out")
  read -r secs[$tree,genisoimage] mem[$tree,genisoimage] < <(measure genisoimage genisoimage -quiet -R -J -o "$out" "$src")
  read -r secs[$tree,xorriso] mem[$tree,xorriso] < <(measure xorriso xorriso -as mkisofs -quiet -R -J -o "$out" "$src")
  # shellcheck disable=SC2016 # $1 and $2 belong to the inner sh
  read -r secs[$tree,cat] mem[$tree,cat] < <(measure cat sh -c 'find "$1" -type f -print0 | sort -z | xargs -0 cat > "$2"' cat "$src" "$out")
  rm -f "$out"
done

size() { du -sm "$work/$1" | cut -f1; }
echo
echo "tree: big = $(find "$work/big" -type f | wc -l) files, $(size big) MB; small = $(find "$work/small" -type f | wc -l) files, $(size small) MB"
printf '%-7s %-12s %9s %9s %11s %8s\n' tree tool 'wall s' 'peak MiB' 'vs geniso' 'vs cat'
for tree in big small; do
  for tool in vmctx genisoimage xorriso cat; do
    s=${secs[$tree,$tool]}
    awk -v t="$tree" -v n="$tool" -v s="$s" -v m="${mem[$tree,$tool]}" -v g="${secs[$tree,genisoimage]}" -v c="${secs[$tree,cat]}" \
      'BEGIN { printf "%-7s %-12s %9.2f %9.1f %10.2fx %7.2fx\n", t, n, s, m / 1024, (g > 0 ? s / g : 0), (c > 0 ? s / c : 0) }'
  done
done
