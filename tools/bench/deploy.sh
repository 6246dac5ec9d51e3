#!/usr/bin/env bash
# Benchmarks of the deployer (`vmctx deploy`) on the lab's controllers, side by side with OpenSSH where there is a
# system tool doing the same job, rounds in a shuffled order (as iso.sh), median and spread (min-max) of each:
#   1. upload of a 512 MiB base image: uploadFile (temporary name, sha256 on the controller, rename) against scp
#      (OpenSSH's default cipher, and aes128-gcm, the cipher ssh2 negotiates), scp + `ssh sha256sum` (the same
#      job as ours), and `ssh HOST 'cat > f' < f`; ours also split at its last byte sent;
#   2. deploy wall time (define + start, no --wait) with 1, 2 and 4 controllers of 2 VMs each (goal: 4 within
#      1.3x of 1), the base image already on the controllers;
#   3. the deployer's peak RSS while uploading a 2 GiB image (goal: under 150 MiB), scp's beside it;
#   4. building the artifacts of 100 VMs in one process, cold and warm cache (goal: under 1 s);
#   5. `deploy --wait` of 4 VMs on 2 controllers minus the slowest guest's boot (bootMs) (goal: under 5 s);
#   6. a no-change redeploy of 8 VMs on 4 controllers (goal: under 2 s) and `vmctx plan` on the same, against
#      `ssh HOST virsh list` once per controller in sequence;
#   7. a sparse base image, 2 GiB holding 305 MiB (issue 22): uploadFile against scp of the dense data alone (the
#      same 305 MiB in a plain file: goal at most 1.2x), rsync --sparse of the image where rsync is on both sides;
#      bytes on the wire, and allocated on the controller against here (goal: within 5 %);
#   8. that sparse image as the base of one VM on each of 1 and 4 controllers, `vmctx deploy` (define + start, no
#      --wait) with the base on none of them: wall time, and the bytes the process read (rchar: the image's data
#      once for all controllers, not once each; issue 22's "read once for many");
#   9. that sparse image's upload killed (SIGKILL, the deployer killed) once 60 % of its data went on the wire, then
#      uploaded again: the bytes the second upload sends (goal: under 45 % of the data) and its time, against a whole
#      upload (issue 22: resumable);
#  10. compression on the wire (issue 22): 160 MiB of this machine's /usr/lib (binaries and text, as a guest's data)
#      uploaded with the controller's compression off, auto and on, on the lab's link and on one throttled to
#      100 Mbit/s (`tc qdisc ... tbf` on the controller namespace's loopback, which its sshd's traffic crosses;
#      removed at the end). Goals: auto at most 5 % slower than off on the fast link, faster than off on the slow.
# Usage: tools/bench/deploy.sh [RUNS]   (default 3; DEPLOY_BENCH_ONLY="1 4" runs only those parts)
# Controllers: DEPLOY_BENCH_CONTROLLERS (default "lc3 lc4 lc1 lc2": 1 = lc3, 2 = lc3 lc4, 4 = all), which must be
# up (`tools/lab/lab add lc3`); the bench never brings a controller up or down. Everything it puts on a controller
# is a domain named bench-* and files in /var/lib/vmctx/images/bench-deploy, all removed at the end.
# Scratch data (the 512 MiB and 2 GiB files, deployment files, caches) in ${VMCTX_BENCH_DIR:-/var/tmp/vmctx-bench}.
set -euo pipefail

RUNS="${1:-3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tools/bench"
BENCH_DIR="${VMCTX_BENCH_DIR:-/var/tmp/vmctx-bench}"
WORK="$BENCH_DIR/deploy"
LAB="$ROOT/tools/lab/lab"
VMCTX=(node "$ROOT/apps/deployer/bin/vmctx.js")
ONLY="${DEPLOY_BENCH_ONLY:-1 2 3 4 5 6 7 9 10}"
read -r -a LCS <<<"${DEPLOY_BENCH_CONTROLLERS:-lc3 lc4 lc1 lc2}"
REMOTE_DIR=/var/lib/vmctx/images/bench-deploy
TEMPLATE="$ROOT/examples/demo/lab-guest.xml"
mkdir -p "$WORK"
for tool in ssh scp node /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "deploy.sh: $tool is missing" >&2; exit 2; }
done
wants() { [[ " $ONLY " == *" $1 "* ]]; }

if [ ! -f "$ROOT/apps/deployer/dist/index.js" ]; then
  (cd "$ROOT" && npx nx run deployer:build --outputStyle=static >&2)
fi

# --- the lab: the controllers must be up already. The bench never brings a controller up or down itself: on a
# shared lab, another suite may be using it (`tools/lab/lab add lc3` adds one and leaves the others alone).
lab_status=$("$LAB" status) # captured first: `lab status | grep -q` under pipefail fails when grep exits early
missing=()
for lc in "${LCS[@]}"; do grep -q "^$lc up " <<<"$lab_status" || missing+=("$lc"); done
if [ ${#missing[@]} -gt 0 ]; then
  # Skipped, not failed: `npm run bench` runs the other benchmarks on a machine without the lab.
  echo "deploy.sh: skipped: controller(s) not up: ${missing[*]}; add each with tools/lab/lab add LC (or set DEPLOY_BENCH_CONTROLLERS)" >&2
  exit 0
fi
ENV_JSON=$("$LAB" env)
KEY=$(jq -r .key <<<"$ENV_JSON")
KNOWN=$(jq -r .knownHosts <<<"$ENV_JSON")
port_of() { jq -r --arg n "$1" '.controllers[] | select(.name == $n) | .port' <<<"$ENV_JSON"; }
SSH_OPTS=(-i "$KEY" -o UserKnownHostsFile="$KNOWN" -o StrictHostKeyChecking=yes -o BatchMode=yes)
on() { local lc=$1; shift; ssh "${SSH_OPTS[@]}" -p "$(port_of "$lc")" root@127.0.0.1 "$@"; }

# Removes the bench's domains (bench-*) and files from a controller; KEEP_BASE=1 keeps the uploaded base image
# (a deploy round starts with the base already there, as it is after a controller's first deploy).
clean() {
  local lc=$1 keep=${2:-0}
  # shellcheck disable=SC2016 # expanded by the controller's shell
  on "$lc" sh -c "'
    for d in \$(virsh list --all --name | grep ^bench-); do virsh destroy \"\$d\" >/dev/null 2>&1; virsh undefine \"\$d\" >/dev/null; done
    mkdir -p $REMOTE_DIR
    if [ $keep = 1 ]; then find $REMOTE_DIR -mindepth 1 ! -name \"bench-base-*\" -delete; else rm -rf $REMOTE_DIR; fi
  '"
}
finish() {
  local lc
  for lc in "${LCS[@]}"; do clean "$lc" 0 2>/dev/null || echo "deploy.sh: could not clean $lc" >&2; done
}
trap finish EXIT
for lc in "${LCS[@]}"; do clean "$lc" 0; on "$lc" mkdir -p "$REMOTE_DIR"; done

# --- statistics ---------------------------------------------------------------------------------------------------
# stats V...: "median min max" of the values (as given, any unit).
stats() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f %.3f %.3f", m, a[1], a[NR] }'; }
# shuffle ROUND ITEM...: the items in a fixed pseudo-random order for that round (a tool that always ran after the
# same other one would always pay for its after-effects).
shuffle() {
  local round=$1; shift
  local order=("$@") i j swap
  RANDOM=$round
  for ((i = ${#order[@]} - 1; i > 0; i--)); do
    j=$((RANDOM % (i + 1))); swap=${order[i]}; order[i]=${order[j]}; order[j]=$swap
  done
  printf '%s\n' "${order[@]}"
}
declare -A S # samples: S[key]="v1 v2 ..."
add() { S[$1]="${S[$1]:-} $2"; }
# row LABEL KEY [REF_KEY] [GOAL]: median, spread and all samples of KEY in seconds; ratio of medians to REF_KEY.
row() {
  local label=$1 key=$2 ref=${3:-} goal=${4:-} m lo hi rm ratio="-"
  # shellcheck disable=SC2086
  read -r m lo hi <<<"$(stats ${S[$key]})"
  if [ -n "$ref" ]; then
    # shellcheck disable=SC2086
    read -r rm _ _ <<<"$(stats ${S[$ref]})"
    ratio=$(awk -v a="$m" -v b="$rm" 'BEGIN { printf "%.2fx", a / b }')
  fi
  printf '%-52s %8.2f %8.2f-%-8.2f %7s  %-14s %s\n' "$label" "$m" "$lo" "$hi" "$ratio" "$goal" "${S[$key]# }"
}
header() { printf '\n%s\n%-52s %8s %17s %7s  %-14s %s\n' "$1" task 'median' 'spread (min-max)' ratio goal 'all runs'; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }

controller_json() { # the ControllerConfig of a lab controller, as a deployment file gives it
  jq -c --arg n "$1" --arg dir "$REMOTE_DIR" '. as $e | .controllers[] | select(.name == $n)
    | { name, host, port, user, identityFile: $e.key, knownHosts: $e.knownHosts, imageDir: $dir, where: "bench \(.name)" }' <<<"$ENV_JSON"
}
random_file() { # PATH MIB: random bytes (nothing compresses), made once
  [ -f "$1" ] && [ "$(stat -c %s "$1")" -eq $(($2 * 1048576)) ] && return 0
  echo "deploy.sh: writing $2 MiB of random data to $1" >&2
  head -c "$(($2 * 1048576))" /dev/urandom >"$1.tmp" && mv "$1.tmp" "$1"
}

echo "deployer benchmark: $RUNS rounds, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), controllers ${LCS[*]}"
echo "($(ssh -V 2>&1); ssh2 $(node -p "require('$ROOT/node_modules/ssh2/package.json').version"))"

# --- 1. upload of 512 MiB, and 3. peak RSS of a 2 GiB upload ------------------------------------------------------
upload_round() { # TOOL FILE SHA LC: one upload by TOOL; adds its samples under TOOL
  local tool=$1 file=$2 sha=$3 lc=$4 start out rss
  local remote="$REMOTE_DIR/bench-upload-$tool.raw" port
  port=$(port_of "$lc")
  start=$EPOCHREALTIME
  case $tool in
    vmctx)
      out=$(/usr/bin/time -f '%M' -o "$WORK/rss.txt" node "$HERE/deploy-upload.mjs" "$(controller_json "$lc")" "$file" "$remote" "$sha")
      add "vmctx-total" "$(jq -r '.totalMs / 1000' <<<"$out")"
      add "vmctx-transfer" "$(jq -r '.transferMs / 1000' <<<"$out")"
      add "vmctx-verify" "$(jq -r '.verifyMs / 1000' <<<"$out")"
      add "vmctx-process" "$(elapsed "$start")"
      rss=$(cat "$WORK/rss.txt"); add "vmctx-rss" "$((rss / 1024))"
      add "vmctx-maxrss" "$(jq -r '.maxRssKiB / 1024 | floor' <<<"$out")" ;;
    scp|scp-gcm)
      local cipher=(); [ "$tool" = scp-gcm ] && cipher=(-c aes128-gcm@openssh.com)
      /usr/bin/time -f '%M' -o "$WORK/rss.txt" scp -q "${SSH_OPTS[@]}" "${cipher[@]}" -P "$port" "$file" "root@127.0.0.1:$remote"
      add "$tool" "$(elapsed "$start")"
      rss=$(cat "$WORK/rss.txt"); add "$tool-rss" "$((rss / 1024))" ;;
    scp-sha)
      scp -q "${SSH_OPTS[@]}" -P "$port" "$file" "root@127.0.0.1:$remote"
      [ "$(on "$lc" sha256sum "$remote" | cut -d' ' -f1)" = "$sha" ] || { echo "deploy.sh: scp'd file differs" >&2; exit 1; }
      add "$tool" "$(elapsed "$start")" ;;
    ssh-cat)
      on "$lc" "cat > $remote" <"$file"
      add "$tool" "$(elapsed "$start")" ;;
  esac
  on "$lc" rm -f "$remote"
}
if wants 1; then
  big="$BENCH_DIR/bench-base-512m.raw"; random_file "$big" 512; sha=$(sha256sum "$big" | cut -d' ' -f1)
  tools=(vmctx scp scp-gcm scp-sha ssh-cat)
  for tool in "${tools[@]}"; do upload_round "$tool" "$big" "$sha" "${LCS[0]}"; done # warm-up: page cache, sshd
  for key in "${!S[@]}"; do unset "S[$key]"; done
  for round in $(seq "$RUNS"); do
    for tool in $(shuffle "$round" "${tools[@]}"); do upload_round "$tool" "$big" "$sha" "${LCS[0]}"; done
  done
  header "1. upload of 512 MiB to ${LCS[0]} (seconds; ratio against scp, OpenSSH's default cipher chacha20-poly1305)"
  row "vmctx uploadFile, total (transfer + verify + rename)" vmctx-total scp "<= 1.00x scp"
  row "  to the last byte sent (summed as written)" vmctx-transfer scp "<= 1.00x scp"
  row "  after it (sum compared, mv)" vmctx-verify scp
  row "  whole process (node start, connect, upload)" vmctx-process scp
  row "scp (chacha20-poly1305)" scp scp
  row "scp -c aes128-gcm@openssh.com (ssh2's choice)" scp-gcm scp
  row "scp + ssh sha256sum (the same job as vmctx's)" scp-sha scp
  row "ssh HOST 'cat > f' < f" ssh-cat scp
  # shellcheck disable=SC2086
  echo "peak RSS MiB (median): vmctx $(stats ${S[vmctx-rss]} | cut -d' ' -f1), scp $(stats ${S[scp-rss]} | cut -d' ' -f1)"
fi

if wants 3; then
  huge="$BENCH_DIR/bench-base-2g.raw"; random_file "$huge" 2048; sha=$(sha256sum "$huge" | cut -d' ' -f1)
  for key in vmctx-rss vmctx-maxrss vmctx-total scp-rss scp; do unset "S[$key]"; done
  rss_runs=$(( RUNS < 3 ? RUNS : 3 ))
  for round in $(seq "$rss_runs"); do
    for tool in $(shuffle "$round" vmctx scp); do upload_round "$tool" "$huge" "$sha" "${LCS[0]}"; done
  done
  header "3. peak memory while uploading 2 GiB to ${LCS[0]} (MiB; /usr/bin/time %M of the process, $rss_runs rounds)"
  row "vmctx uploadFile, peak RSS of its node process" vmctx-rss scp-rss "< 150 MiB"
  row "  the same from process.resourceUsage().maxRSS" vmctx-maxrss scp-rss "< 150 MiB"
  row "scp, peak RSS" scp-rss scp-rss
  row "vmctx upload of 2 GiB, total seconds" vmctx-total scp
  row "scp of 2 GiB, seconds" scp scp
fi

# --- 7. a sparse base image: 2 GiB holding 305 MiB ---------------------------------------------------------------
SPARSE_RUNS=(0 300 700 1200 1900) # MiB offsets of its 5 runs of 61 MiB
sparse_file() { # PATH: 2 GiB, holes but for 5 runs of 61 MiB of random bytes (a guest in a larger file), made once
  [ -f "$1" ] && [ "$(stat -c %s "$1")" -eq $((2048 * 1048576)) ] && return 0
  echo "deploy.sh: writing a sparse 2 GiB image holding 305 MiB to $1" >&2
  rm -f "$1.tmp"; truncate -s 2G "$1.tmp"
  local at
  for at in "${SPARSE_RUNS[@]}"; do
    head -c 61M /dev/urandom | dd of="$1.tmp" bs=1M seek="$at" conv=notrunc iflag=fullblock status=none
  done
  mv "$1.tmp" "$1"
}
sparse_round() { # TOOL IMAGE DATA SHA LC: one upload of the sparse image (or of its data alone, for scp)
  local tool=$1 image=$2 data=$3 sha=$4 lc=$5 start out port
  local remote="$REMOTE_DIR/bench-sparse-$tool.raw"
  port=$(port_of "$lc")
  start=$EPOCHREALTIME
  case $tool in
    vmctx)
      out=$(node "$HERE/deploy-upload.mjs" "$(controller_json "$lc")" "$image" "$remote" "$sha")
      add sparse-vmctx "$(jq -r '.totalMs / 1000' <<<"$out")"
      add sparse-vmctx-transfer "$(jq -r '.transferMs / 1000' <<<"$out")"
      add sparse-vmctx-verify "$(jq -r '.verifyMs / 1000' <<<"$out")"
      add sparse-vmctx-process "$(elapsed "$start")"
      add sparse-vmctx-wire "$(jq -r '.wireBytes / 1048576' <<<"$out")"
      add sparse-vmctx-rss "$(jq -r '.maxRssKiB / 1024 | floor' <<<"$out")"
      add sparse-vmctx-alloc "$(on "$lc" du -B1 "$remote" | awk '{ printf "%.1f", $1 / 1048576 }')" ;;
    scp-data)
      scp -q "${SSH_OPTS[@]}" -P "$port" "$data" "root@127.0.0.1:$remote"
      add sparse-scp-data "$(elapsed "$start")" ;;
    rsync-sparse)
      rsync -q --sparse -e "ssh ${SSH_OPTS[*]} -p $port" "$image" "root@127.0.0.1:$remote"
      add sparse-rsync "$(elapsed "$start")"
      add sparse-rsync-alloc "$(on "$lc" du -B1 "$remote" | awk '{ printf "%.1f", $1 / 1048576 }')" ;;
  esac
  on "$lc" rm -f "$remote"
}
if wants 7; then
  image="$BENCH_DIR/bench-base-sparse-2g.raw"; sparse_file "$image"
  data="$BENCH_DIR/bench-base-sparse-data.raw" # the same 305 MiB, dense
  if [ ! -f "$data" ] || [ "$data" -ot "$image" ]; then
    for at in "${SPARSE_RUNS[@]}"; do dd if="$image" bs=1M skip="$at" count=61 status=none; done >"$data"
  fi
  sha=$(openssl dgst -sha256 -r "$image" | cut -d' ' -f1)
  tools=(vmctx scp-data)
  if command -v rsync >/dev/null && on "${LCS[0]}" command -v rsync >/dev/null; then tools+=(rsync-sparse); fi
  for tool in "${tools[@]}"; do sparse_round "$tool" "$image" "$data" "$sha" "${LCS[0]}"; done # warm-up
  for key in "${!S[@]}"; do [[ $key == sparse-* ]] && unset "S[$key]"; done
  for round in $(seq "$RUNS"); do
    for tool in $(shuffle "$round" "${tools[@]}"); do sparse_round "$tool" "$image" "$data" "$sha" "${LCS[0]}"; done
  done
  here=$(du -B1 "$image" | awk '{ printf "%.1f", $1 / 1048576 }')
  header "7. a sparse image, 2 GiB holding 305 MiB, to ${LCS[0]} (seconds; ratio against scp of the 305 MiB of data alone)"
  row "vmctx uploadFile, total" sparse-vmctx sparse-scp-data "<= 1.20x"
  row "  to the last frame sent" sparse-vmctx-transfer sparse-scp-data
  row "  after it (its data read back into the sparse digest there, ln)" sparse-vmctx-verify sparse-scp-data
  row "  whole process (node start, the digests of the 2 GiB, connect, upload)" sparse-vmctx-process sparse-scp-data
  row "scp of the data alone (a dense 305 MiB file)" sparse-scp-data sparse-scp-data
  if [[ " ${tools[*]} " == *" rsync-sparse "* ]]; then
    row "rsync --sparse of the image" sparse-rsync sparse-scp-data
  else
    echo "rsync --sparse: not measured (rsync is not on this machine or on ${LCS[0]})"
  fi
  # shellcheck disable=SC2086
  {
    echo "vmctx: MiB on the wire $(stats ${S[sparse-vmctx-wire]}) (median min max), peak RSS MiB $(stats ${S[sparse-vmctx-rss]} | cut -d' ' -f1)"
    echo "allocated MiB: here $here, on ${LCS[0]} after vmctx $(stats ${S[sparse-vmctx-alloc]} | cut -d' ' -f1) (goal within 5 %)${S[sparse-rsync-alloc]:+, after rsync --sparse $(stats ${S[sparse-rsync-alloc]} | cut -d' ' -f1)}"
  }
fi

# --- 9. an upload cut at 60 %, then again ------------------------------------------------------------------------
if wants 9; then
  image="$BENCH_DIR/bench-base-sparse-2g.raw"; sparse_file "$image"
  sha=$(openssl dgst -sha256 -r "$image" | cut -d' ' -f1)
  data=$(( $(stat -c %b "$image") * 512 ))
  remote="$REMOTE_DIR/bench-resume.raw"
  resume_clean() { on "${LCS[0]}" "rm -f $remote $REMOTE_DIR/.bench-resume.raw.vmctx-part.*"; }
  resume_round() { # whole | cut: one whole upload, or one killed at 60 % of the data and the one after it
    local out
    resume_clean
    if [ "$1" = cut ]; then
      out=$(CUT_AT_WIRE=$((data * 60 / 100)) node "$HERE/deploy-upload.mjs" "$(controller_json "${LCS[0]}")" "$image" "$remote" "$sha" || true)
      add resume-cut "$(jq -r '.cutAtWire / 1048576' <<<"$out")"
      out=$(node "$HERE/deploy-upload.mjs" "$(controller_json "${LCS[0]}")" "$image" "$remote" "$sha")
      add resume-again "$(jq -r '.totalMs / 1000' <<<"$out")"
      add resume-again-wire "$(jq -r '.wireBytes / 1048576' <<<"$out")"
      add resume-again-share "$(jq -r --argjson data "$data" '.wireBytes * 100 / $data' <<<"$out")"
    else
      out=$(node "$HERE/deploy-upload.mjs" "$(controller_json "${LCS[0]}")" "$image" "$remote" "$sha")
      add resume-whole "$(jq -r '.totalMs / 1000' <<<"$out")"
    fi
    [ "$(on "${LCS[0]}" sha256sum "$remote" | cut -d' ' -f1)" = "$sha" ] || { echo "deploy.sh: the resumed upload differs" >&2; exit 1; }
  }
  for round in $(seq "$RUNS"); do
    for item in $(shuffle "$round" whole cut); do resume_round "$item"; done
  done
  resume_clean
  header "9. the 2 GiB image holding 305 MiB, its upload killed at 60 % of its data, then again (to ${LCS[0]})"
  row "the upload after the cut (uploadFile, seconds)" resume-again resume-whole
  row "a whole upload (seconds)" resume-whole resume-whole
  # shellcheck disable=SC2086
  echo "MiB on the wire when killed $(stats ${S[resume-cut]}); sent by the upload after it $(stats ${S[resume-again-wire]}), that is $(stats ${S[resume-again-share]} | cut -d' ' -f1) % of the $((data / 1048576)) MiB of data (goal: under 45 %)"
fi

# --- 10. compression on a fast and on a throttled link ---------------------------------------------------------------
if wants 10; then
  image="$BENCH_DIR/bench-usr-lib-160m.raw"
  if [ ! -f "$image" ]; then
    echo "deploy.sh: writing 160 MiB of /usr/lib to $image" >&2
    # tar ends on head's closed pipe (SIGPIPE): that is how it stops here.
    (tar -cf - /usr/lib 2>/dev/null || true) | head -c $((160 * 1048576)) >"$image.tmp"
    mv "$image.tmp" "$image"
  fi
  sha=$(openssl dgst -sha256 -r "$image" | cut -d' ' -f1)
  remote="$REMOTE_DIR/bench-compress.raw"
  lc=${LCS[0]}
  # A burst of 1 MB: the loopback's packets are up to 64 KiB, and tbf drops a packet larger than its burst (with 64kb
  # the session broke off after 16 MiB).
  throttle() { ip netns exec "$lc" tc qdisc "$1" dev lo root tbf rate 100mbit burst 1mb latency 100ms; }
  unthrottle() { ip netns exec "$lc" tc qdisc del dev lo root 2>/dev/null || true; }
  trap "unthrottle; finish" EXIT
  compress_round() { # LINK MODE
    local out
    echo "deploy.sh: part 10, $1 link, compression $2" >&2
    on "$lc" "rm -f $remote"
    out=$(node "$HERE/deploy-upload.mjs" "$(controller_json "$lc" | jq -c --arg m "$2" '. + { compression: $m }')" "$image" "$remote" "$sha")
    add "compress-$1-$2" "$(jq -r '.totalMs / 1000' <<<"$out")"
    add "compress-$1-$2-wire" "$(jq -r '.wireBytes / 1048576' <<<"$out")"
  }
  for link in fast slow; do
    if [ $link = slow ]; then throttle add; fi
    compress_round "$link" off # warm-up
    for key in "${!S[@]}"; do [[ $key == compress-$link-* ]] && unset "S[$key]"; done
    for round in $(seq "$RUNS"); do
      for mode in $(shuffle "$round" off auto on); do compress_round "$link" "$mode"; done
    done
    if [ $link = slow ]; then unthrottle; fi
  done
  on "$lc" "rm -f $remote"
  header "10. upload of 160 MiB of /usr/lib to $lc, compression off, auto and on (seconds)"
  row "fast link (the lab's): off" compress-fast-off compress-fast-off
  row "  auto" compress-fast-auto compress-fast-off "<= 1.05x"
  row "  on" compress-fast-on compress-fast-off
  row "100 Mbit/s (tc tbf): off" compress-slow-off compress-slow-off
  row "  auto" compress-slow-auto compress-slow-off "< 1.00x"
  row "  on" compress-slow-on compress-slow-off
  # shellcheck disable=SC2086
  echo "MiB on the wire (median): fast off $(stats ${S[compress-fast-off-wire]} | cut -d' ' -f1), auto $(stats ${S[compress-fast-auto-wire]} | cut -d' ' -f1), on $(stats ${S[compress-fast-on-wire]} | cut -d' ' -f1); slow off $(stats ${S[compress-slow-off-wire]} | cut -d' ' -f1), auto $(stats ${S[compress-slow-auto-wire]} | cut -d' ' -f1), on $(stats ${S[compress-slow-on-wire]} | cut -d' ' -f1)"
fi

# --- 4. artifacts of 100 VMs ----------------------------------------------------------------------------------------
if wants 4; then
  base100=$(bash "$ROOT/tools/demo/vmctx-base.sh" 2>>"$WORK/vmctx-base.log" | tail -1)
  node "$HERE/deploy-file.mjs" "$WORK/bench-100.yaml" "$ENV_JSON" "$base100" "$TEMPLATE" "$REMOTE_DIR" 25 lc1 lc2 lc3 lc4
  for round in $(seq "$RUNS"); do
    rm -rf "$WORK/cache-100"
    out=$(node "$HERE/deploy-artifacts.mjs" "$WORK/bench-100.yaml" "$WORK/cache-100" 3)
    add build-cold "$(jq -r '.ms[0] / 1000' <<<"$out")"
    add build-warm "$(jq -r '.ms[2] / 1000' <<<"$out")"
    start=$EPOCHREALTIME
    node "$HERE/deploy-artifacts.mjs" "$WORK/bench-100.yaml" "$WORK/cache-100" 1 >/dev/null
    add build-warm-process "$(elapsed "$start")"
  done
  header "4. artifacts of 100 VMs in one process: $(jq -r '"\(.vms) VMs: \(.isos) context ISOs, \(.overlays) overlay (one base), \(.xmls) domain XMLs"' <<<"$out") (seconds)"
  row "loadDeployment + buildArtifacts, cold cache" build-cold "" "< 1 s"
  row "the same, warm cache (third build in the process)" build-warm build-cold "< 1 s"
  row "whole process, warm cache (node start included)" build-warm-process build-cold
  rm -rf "$WORK/cache-100"
fi

# --- deploys ----------------------------------------------------------------------------------------------------------
BASE=$(bash "$ROOT/tools/demo/vmctx-base.sh" 2>>"$WORK/vmctx-base.log" | tail -1)
CACHE="$WORK/cache"
deployment() { # NAME PER LC...: writes $WORK/NAME.yaml
  local name=$1 per=$2; shift 2
  node "$HERE/deploy-file.mjs" "$WORK/$name.yaml" "$ENV_JSON" "$BASE" "$TEMPLATE" "$REMOTE_DIR" "$per" "$@"
}
# deploy KEY FILE [--wait]: one `vmctx deploy --json`; adds the wall time under KEY, keeps the report in $WORK/KEY.json
deploy() {
  local key=$1 file=$2 start; shift 2
  start=$EPOCHREALTIME
  if ! "${VMCTX[@]}" deploy --file "$file" --cache "$CACHE" --json -q "$@" >"$WORK/$key.json" 2>"$WORK/$key.err"; then
    echo "deploy.sh: vmctx deploy $file $* failed:" >&2; cat "$WORK/$key.err" >&2
    jq -c '.controllers[].vms[] | select(.status == "failed") | {vm, error: .error.message}' "$WORK/$key.json" >&2 || true
    exit 1
  fi
  add "$key" "$(elapsed "$start")"
  add "$key-report" "$(jq -r '.elapsedMs / 1000' "$WORK/$key.json")"
}
clean_all() { local lc; for lc in "${LCS[@]}"; do clean "$lc" 1; done; }

if wants 2; then
  deployment c1 2 "${LCS[0]}"; deployment c2 2 "${LCS[@]:0:2}"; deployment c4 2 "${LCS[@]:0:4}"
  # Warm-up: the artifacts into the cache, the base image onto every controller; then each round from there.
  deploy warm "$WORK/c4.yaml"; clean_all
  for round in $(seq "$RUNS"); do
    for n in $(shuffle "$round" 1 2 4); do deploy "c$n" "$WORK/c$n.yaml"; clean_all; done
  done
  header "2. deploy (define + start, no --wait) of 2 VMs per controller, base image already there (seconds)"
  row "1 controller, 2 VMs: vmctx deploy, whole process" c1 c1
  row "2 controllers, 4 VMs" c2 c1
  row "4 controllers, 8 VMs" c4 c1 "<= 1.30x"
  row "1 controller: the report's elapsedMs (no build)" c1-report c1-report
  row "2 controllers: elapsedMs" c2-report c1-report
  row "4 controllers: elapsedMs" c4-report c1-report "<= 1.30x"
  if [ -n "${DEPLOY_BENCH_WAIT:-}" ]; then
    for round in $(seq "$RUNS"); do
      for n in $(shuffle "$round" 1 4); do deploy "w$n" "$WORK/c$n.yaml" --wait; clean_all; done
    done
    row "with --wait: 1 controller, 2 VMs" w1 w1
    row "with --wait: 4 controllers, 8 VMs" w4 w1 "<= 1.30x"
  fi
fi

if wants 8; then
  image="$BENCH_DIR/bench-base-sparse-2g.raw"; sparse_file "$image"
  node "$HERE/deploy-file.mjs" "$WORK/r1.yaml" "$ENV_JSON" "$image" "$TEMPLATE" "$REMOTE_DIR" 1 "${LCS[0]}"
  node "$HERE/deploy-file.mjs" "$WORK/r4.yaml" "$ENV_JSON" "$image" "$TEMPLATE" "$REMOTE_DIR" 1 "${LCS[@]:0:4}"
  read_round() { # N: one deploy to N controllers (1 or 4) from nothing there; its wall time and MiB read
    local n=$1 start code=0
    start=$EPOCHREALTIME
    node -r "$HERE/io-at-exit.cjs" "$ROOT/apps/deployer/bin/vmctx.js" deploy --file "$WORK/r$n.yaml" --cache "$CACHE" --json -q \
      >"$WORK/r$n.json" 2>"$WORK/r$n.err" || code=$?
    [ $code = 0 ] || { echo "deploy.sh: vmctx deploy r$n.yaml failed:" >&2; cat "$WORK/r$n.err" >&2; exit 1; }
    add "read$n" "$(elapsed "$start")"
    add "read$n-mib" "$(awk '/^vmctx-bench-rchar / { printf "%.1f", $2 / 1048576 }' "$WORK/r$n.err")"
    add "read$n-sent" "$(jq '[.controllers[].uploaded[] | select(.path | test("/bench-base-")) | .bytes] | add / 1048576' "$WORK/r$n.json")"
    clean_all_bases
  }
  clean_all_bases() { local lc; for lc in "${LCS[@]:0:4}"; do clean "$lc" 0; on "$lc" mkdir -p "$REMOTE_DIR"; done; }
  clean_all_bases
  read_round 4 # warm-up: the artifacts into the cache, the image's digest computed once
  for key in "${!S[@]}"; do [[ $key == read* ]] && unset "S[$key]"; done
  for round in $(seq "$RUNS"); do
    for n in $(shuffle "$round" 1 4); do read_round "$n"; done
  done
  header "8. the 2 GiB image holding 305 MiB as the base of 1 VM on each of 1 and 4 controllers, none there before (seconds)"
  row "1 controller: vmctx deploy, whole process" read1 read1
  row "4 controllers" read4 read1
  # shellcheck disable=SC2086
  {
    echo "MiB the process read (rchar: the image's data, sockets, its own modules): 1 controller $(stats ${S[read1-mib]}), 4 controllers $(stats ${S[read4-mib]}) (median min max; goal: about the same for 4 as for 1, not 4 times as much)"
    echo "base image uploaded per deploy (the report's bytes: the file's size, holes included; summed over controllers), MiB: 1 controller $(stats ${S[read1-sent]} | cut -d' ' -f1), 4 controllers $(stats ${S[read4-sent]} | cut -d' ' -f1)"
  }
fi

if wants 5; then
  deployment wait4 2 "${LCS[@]:0:2}"
  deploy warm "$WORK/wait4.yaml"; clean_all
  for round in $(seq "$RUNS"); do
    deploy wait "$WORK/wait4.yaml" --wait
    boot=$(jq '[.controllers[].vms[].bootMs] | max / 1000' "$WORK/wait.json")
    add boot "$boot"
    add overhead "$(awk -v w="${S[wait]##* }" -v b="$boot" 'BEGIN { printf "%.3f", w - b }')"
    add overhead-report "$(jq '(.elapsedMs - ([.controllers[].vms[].bootMs] | max)) / 1000' "$WORK/wait.json")"
    clean_all
  done
  header "5. deploy --wait of 4 VMs on 2 controllers: wall time minus the slowest guest's boot (seconds)"
  row "vmctx deploy --wait, whole process" wait wait
  row "slowest guest, virsh start to contextualized" boot wait
  row "overhead: wall - slowest boot" overhead wait "< 5 s"
  row "overhead: the report's elapsedMs - slowest boot" overhead-report wait "< 5 s"
fi

if wants 6; then
  deployment same8 2 "${LCS[@]:0:4}"
  deploy first "$WORK/same8.yaml" --wait # booted and quiet before the no-change rounds
  has_plan=0; "${VMCTX[@]}" plan --help >/dev/null 2>&1 && has_plan=1
  virsh_list() { local lc; for lc in "${LCS[@]:0:4}"; do on "$lc" virsh list >/dev/null; done; }
  items=(redeploy virsh); [ $has_plan = 1 ] && items+=(plan)
  rounds6=$(( RUNS < 5 ? 5 : RUNS ))
  for round in $(seq "$rounds6"); do
    for item in $(shuffle "$round" "${items[@]}"); do
      case $item in
        redeploy)
          deploy redeploy "$WORK/same8.yaml"
          changed=$(jq '[.controllers[].vms[] | select(.status != "unchanged")] | length' "$WORK/redeploy.json")
          sent=$(jq '[.controllers[].uploaded[]] | length' "$WORK/redeploy.json")
          [ "$changed$sent" = 00 ] || { echo "deploy.sh: the redeploy changed $changed VM(s), uploaded $sent file(s)" >&2; exit 1; } ;;
        virsh) start=$EPOCHREALTIME; virsh_list; add virsh "$(elapsed "$start")" ;;
        plan)
          start=$EPOCHREALTIME
          code=0; "${VMCTX[@]}" plan --file "$WORK/same8.yaml" --cache "$CACHE" --json >"$WORK/plan.json" 2>"$WORK/plan.err" || code=$?
          add plan "$(elapsed "$start")"
          [ $code = 0 ] || { echo "deploy.sh: vmctx plan exited $code on an unchanged deployment:" >&2; cat "$WORK/plan.err" >&2; exit 1; } ;;
      esac
    done
  done
  header "6. no-change redeploy of 8 VMs on 4 controllers ($rounds6 rounds; ratio against ssh HOST virsh list x4 in sequence)"
  row "vmctx deploy, nothing to change, whole process" redeploy virsh "< 2 s"
  row "  the report's elapsedMs (no build)" redeploy-report virsh
  [ $has_plan = 1 ] && row "vmctx plan, whole process" plan virsh "< 2 s"
  row "ssh HOST virsh list, once per controller in sequence" virsh virsh
  clean_all
fi
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (on $(nproc) cores; a busy machine inflates every figure)"
