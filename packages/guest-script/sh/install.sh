#!/bin/sh
# vmctx install.sh: puts the contextualization script into an image. Written by installScript() of
# @vmctx/guest-script from packages/guest-script/sh/install.sh, followed by the steps of installPlan(): the same
# steps installInto() takes from Node, here as data (one line a step, its file in a here-document).
# Usage: sh install.sh [ROOT]   (ROOT: the image's root folder, / by default). Running it twice changes nothing.
# Prints what it did, a line a step, as installInto() reports it: "written PATH", "linked PATH", "edited PATH",
# "unchanged PATH" or "created PATH".
set -eu

vmctx_sh=$(dirname "$0") # from the source tree, the parts beside this file (the generated script holds them)

root=${1:-/}
root=${root%/}
[ -d "$root/" ] || { echo "install.sh: $root is not a folder" >&2; exit 2; }

# The image has systemd when its binary is there (a link counts, even one that only resolves inside the image).
has_systemd=no
for s in "$root/lib/systemd/systemd" "$root/usr/lib/systemd/systemd"; do
  if [ -e "$s" ] || [ -L "$s" ]; then has_systemd=yes; fi
done

# holds WHEN: whether a step taken WHEN (always, systemd, no-systemd or never) applies to this image.
holds() {
  case $1 in
    always) return 0 ;;
    systemd) [ "$has_systemd" = yes ] ;;
    no-systemd) [ "$has_systemd" = no ] ;;
    *) return 1 ;;
  esac
}

# in_root PATH: where PATH of the image is in ROOT, following a symbolic link there once as the image would see
# it: an absolute target is inside ROOT too, and ".." never climbs above ROOT.
in_root() {
  ir_path=$1
  if [ -L "$root$1" ]; then
    ir_link=$(readlink "$root$1")
    case $ir_link in /*) ir_path=$ir_link ;; *) ir_path=${1%/*}/$ir_link ;; esac
  fi
  ir_out=
  ir_ifs=$IFS
  IFS=/
  set -f
  for ir_part in $ir_path; do
    case $ir_part in
      ''|.) ;;
      ..) ir_out=${ir_out%/*} ;;
      *) ir_out=$ir_out/$ir_part ;;
    esac
  done
  set +f
  IFS=$ir_ifs
  printf '%s%s' "$root" "$ir_out"
}

# put FILE MODE: FILE replaced by standard input, through FILE.vmctx-new (never half written).
put() {
  mkdir -p "${1%/*}"
  cat >"$1.vmctx-new"
  chmod "$2" "$1.vmctx-new"
  mv -f "$1.vmctx-new" "$1"
}

# step_file WHEN PATH MODE <DATA: PATH written with DATA and MODE (octal).
step_file() {
  holds "$1" || return 0
  put "$root$2" "$3"
  echo "written $2"
}

# step_link WHEN PATH TARGET: a symbolic link PATH to TARGET, unless something is at PATH already.
step_link() {
  holds "$1" || return 0
  if [ -e "$root$2" ] || [ -L "$root$2" ]; then return 0; fi
  mkdir -p "$root${2%/*}"
  ln -s "$3" "$root$2"
  echo "linked $2"
}

trim() {
  t=${1#"${1%%[![:space:]]*}"}
  printf '%s' "${t%"${t##*[![:space:]]}"}"
}

# step_rc_local CREATE PATH CALL <FRESH: PATH (the target of its link, when it is one) gets the line CALL before its
# last "exit 0" line, or at its end, unless a line already runs CALL; its mode is kept. Where there is no such
# file, FRESH is written there (mode 755) when CREATE holds.
step_rc_local() {
  rc=$(in_root "$2")
  call=$3
  if [ -f "$rc" ]; then
    found=no
    last=0
    n=0
    while IFS= read -r line || [ -n "$line" ]; do
      n=$((n + 1))
      t=$(trim "$line")
      case $t in "$call"|"$call "*|"$call	"*) found=yes ;; 'exit 0') last=$n ;; esac
    done <"$rc"
    if [ "$found" = yes ]; then
      echo "unchanged $2"
      return 0
    fi
    n=0
    while IFS= read -r line || [ -n "$line" ]; do
      n=$((n + 1))
      if [ "$n" -eq "$last" ]; then printf '%s\n' "$call"; fi
      printf '%s\n' "$line"
    done <"$rc" >"$rc.vmctx-new"
    if [ "$last" -eq 0 ]; then printf '%s\n' "$call" >>"$rc.vmctx-new"; fi
    chmod "$(stat -c %a "$rc")" "$rc.vmctx-new" 2>/dev/null || chmod 755 "$rc.vmctx-new"
    mv -f "$rc.vmctx-new" "$rc"
    echo "edited $2"
  elif holds "$1"; then
    put "$rc" 755
    echo "created $2"
  fi
}

# The steps (installScript() writes those of installPlan(); steps.sh, for the source tree, has none).
# shellcheck source=install/steps.sh
. "$vmctx_sh/install/steps.sh" # vmctx:options
