#!/usr/bin/env bash
# Start-up of the built `vmctx` (issue 23: a command loads what it uses when it runs): `vmctx --version`,
# `vmctx iso --help` and `vmctx deploy --help` beside `node -e 0` (the floor: Node itself) and `genisoimage
# -version`. Each runs STARTUP_BENCH_RUNS (15) times, round-robin after one warm-up round, so that load on a shared
# machine hits every command alike; the table shows the median and the spread (min-max) of the wall times, and
# each command's median less Node's: what vmctx adds. Goal: --version and iso --help under 80 ms.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${STARTUP_BENCH_RUNS:-15}
(cd "$root" && NX_DAEMON=false npx nx run deployer:build --outputStyle=static >&2)
vmctx="node $root/apps/deployer/bin/vmctx.js"

labels=("node -e 0" "vmctx --version" "vmctx iso --help" "vmctx deploy --help" "genisoimage -version")
commands=("node -e 0" "$vmctx --version" "$vmctx iso --help" "$vmctx deploy --help" "genisoimage -version")
declare -A times
for ((round = 0; round <= runs; round++)); do
  for i in "${!commands[@]}"; do
    start=$(date +%s%N)
    ${commands[$i]} >/dev/null 2>&1 || true
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    ((round == 0)) || times[$i]+="$ms "
  done
done

stats() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR] = $1} END {printf "%d %d %d", a[int((NR + 1) / 2)], a[1], a[NR]}'; }
read -r floor _ _ <<<"$(stats <<<"${times[0]}")"
printf '%-22s %10s %14s %12s\n' command 'median ms' 'spread ms' 'less node'
for i in "${!commands[@]}"; do
  read -r median min max <<<"$(stats <<<"${times[$i]}")"
  printf '%-22s %10d %14s %12d\n' "${labels[$i]}" "$median" "$min-$max" $((median - floor))
done
