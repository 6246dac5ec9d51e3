#!/bin/sh
# vmctx install.sh: puts the contextualization script into an image. Written by installScript() of
# @vmctx/guest-script from packages/guest-script/sh/install.sh, followed by the steps of installPlan(): the same
# steps installInto() takes from Node, here as data (one line a step, its file in a here-document).
# Usage: sh install.sh [--uninstall] [ROOT]   (ROOT: the image's root folder, / by default). Running it twice changes
# nothing. Prints what it did, a line a step, as installInto() reports it: "written PATH", "linked PATH", "edited
# PATH", "unchanged PATH" or "created PATH"; with --uninstall, as uninstallFrom() does: every file and link of the
# steps removed ("removed PATH"), the rc.local call taken out ("edited PATH"; the fresh rc.local it made, removed).
set -eu

vmctx_sh=$(dirname "$0") # from the source tree, the parts beside this file (the generated script holds them)

uninstall=no
if [ "${1:-}" = --uninstall ]; then uninstall=yes; shift; fi
root=${1:-/}
root=${root%/}
[ -d "$root/" ] || { echo "install.sh: $root is not a folder" >&2; exit 2; }

# in_root PATH FOLLOW: where PATH of the image is in ROOT, every symbolic link on the way followed as the image
# would see it: an absolute target starts again at ROOT, and ".." never climbs above ROOT. A link at the last name
# is followed too when FOLLOW is yes. What it prints has no link on its way, so nothing written there lands outside
# ROOT (installInto's resolveInRoot). Gives up after 40 links (a loop).
in_root() {
  ir_rest=$1
  ir_out=
  ir_links=0
  while :; do
    ir_rest=${ir_rest#"${ir_rest%%[!/]*}"}
    [ -n "$ir_rest" ] || break
    case $ir_rest in
      */*) ir_part=${ir_rest%%/*}; ir_rest=${ir_rest#*/} ;;
      *) ir_part=$ir_rest; ir_rest= ;;
    esac
    ir_rest=${ir_rest#"${ir_rest%%[!/]*}"}
    case $ir_part in
      .) continue ;;
      ..) ir_out=${ir_out%/*}; continue ;;
    esac
    if [ -L "$root$ir_out/$ir_part" ] && { [ -n "$ir_rest" ] || [ "$2" = yes ]; }; then
      ir_links=$((ir_links + 1))
      if [ "$ir_links" -gt 40 ]; then
        echo "install.sh: $1: too many symbolic links in the image" >&2
        return 1
      fi
      ir_link=$(readlink "$root$ir_out/$ir_part")
      case $ir_link in /*) ir_out= ;; esac
      ir_rest=$ir_link/$ir_rest
      continue
    fi
    ir_out=$ir_out/$ir_part
  done
  printf '%s%s' "$root" "$ir_out"
}

# The image has systemd when its binary is there (a link counts, even one that only resolves inside the image).
has_systemd=no
for s in /lib/systemd/systemd /usr/lib/systemd/systemd; do
  s=$(in_root "$s" no)
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

# same FILE MODE DATA: whether FILE is a regular file (not a link) with MODE (octal) that holds DATA already.
# Without cmp or stat to tell, it is not.
same() {
  [ -f "$1" ] && [ ! -L "$1" ] || return 1
  [ "$(stat -c %a "$1" 2>/dev/null)" = "$2" ] || return 1
  command -v cmp >/dev/null 2>&1 || return 1
  printf '%s' "$3" | cmp -s - "$1"
}

# put FILE MODE: FILE replaced by standard input, through FILE.vmctx-new (never half written), unless it holds that
# already with MODE: then it is left as it is (same inode, same times; its folder untouched) and put returns 1.
# A left-over temporary (or a link planted there) is removed first; a link at FILE is replaced, not followed.
put() {
  # The data with every trailing newline kept (the x keeps $(...) from taking them off).
  p_data=$(cat; echo x)
  p_data=${p_data%x}
  if same "$1" "$2" "$p_data"; then return 1; fi
  mkdir -p "${1%/*}"
  rm -f "$1.vmctx-new"
  printf '%s' "$p_data" >"$1.vmctx-new"
  chmod "$2" "$1.vmctx-new"
  if [ -L "$1" ]; then rm -f "$1"; fi
  mv -f "$1.vmctx-new" "$1"
}

# unstep PATH KIND: with --uninstall, PATH removed when it is there as a file (or a link) for KIND file, a link
# for KIND link; nothing else is touched. Whatever the image's kind: a step skipped has left nothing there.
unstep() {
  us_at=$(in_root "$1" no)
  case $2 in
    file) [ -f "$us_at" ] || [ -L "$us_at" ] || return 0 ;;
    *) [ -L "$us_at" ] || return 0 ;;
  esac
  rm -f "$us_at"
  echo "removed $1"
}

# step_file WHEN PATH MODE <DATA: PATH written with DATA and MODE (octal), unless it holds them already.
step_file() {
  if [ "$uninstall" = yes ]; then unstep "$2" file; return 0; fi
  holds "$1" || return 0
  sf_at=$(in_root "$2" no)
  if put "$sf_at" "$3"; then echo "written $2"; else echo "unchanged $2"; fi
}

# step_link WHEN PATH TARGET: a symbolic link PATH to TARGET, unless something is at PATH already.
step_link() {
  if [ "$uninstall" = yes ]; then unstep "$2" link; return 0; fi
  holds "$1" || return 0
  sl_at=$(in_root "$2" no)
  if [ -e "$sl_at" ] || [ -L "$sl_at" ]; then return 0; fi
  mkdir -p "${sl_at%/*}"
  ln -s "$3" "$sl_at"
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
  rc=$(in_root "$2" yes)
  call=$3
  rc_path=$2
  if [ "$uninstall" = yes ]; then unstep_rc_local "$call"; return 0; fi
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
    rm -f "$rc.vmctx-new"
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
    put "$rc" 755 || true
    echo "created $2"
  fi
}

# unstep_rc_local CALL <FRESH: with --uninstall, rc.local ($rc) without the lines that run CALL; removed when it is
# FRESH itself (mode 755), as the installer made it (uninstallFrom's rule).
unstep_rc_local() {
  [ -f "$rc" ] && [ ! -L "$rc" ] || return 0
  ur_fresh=$(cat; echo x)
  ur_fresh=${ur_fresh%x}
  if same "$rc" 755 "$ur_fresh"; then
    rm -f "$rc"
    echo "removed $rc_path"
    return 0
  fi
  found=no
  rm -f "$rc.vmctx-new"
  while IFS= read -r line || [ -n "$line" ]; do
    t=$(trim "$line")
    case $t in "$1"|"$1 "*|"$1	"*) found=yes; continue ;; esac
    printf '%s\n' "$line"
  done <"$rc" >"$rc.vmctx-new"
  if [ "$found" = no ]; then rm -f "$rc.vmctx-new"; return 0; fi
  chmod "$(stat -c %a "$rc")" "$rc.vmctx-new" 2>/dev/null || chmod 755 "$rc.vmctx-new"
  mv -f "$rc.vmctx-new" "$rc"
  echo "edited $rc_path"
}

# The steps (installScript() writes those of installPlan(); steps.sh, for the source tree, has none).
# shellcheck source=install/steps.sh
. "$vmctx_sh/install/steps.sh" # vmctx:options
