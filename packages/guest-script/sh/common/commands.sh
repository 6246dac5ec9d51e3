# shellcheck shell=sh disable=SC2154
# Commands with limits, for contextualization.sh and post-install.sh: `has CMD`, `limited SECONDS CMD...` (a time
# limit with `timeout` or a watchdog), `run_logged` and `interpreter`. POSIX sh only (dash, bash, busybox ash),
# no local variables: each name a routine uses starts with the routine's initials (li_ for limited), so none clash.
# The script that sources this defines `log` (where messages go) and `state_dir` first.

has() { command -v "$1" >/dev/null 2>&1; }

# coreutils and busybox (1.30+) take "timeout -k KILL SECS"; older busybox wanted -t, so probe once.
timeout_ok=
if has timeout && timeout -k 1 5 true >/dev/null 2>&1; then timeout_ok=1; fi

# limited SECONDS CMD [ARG...]: runs CMD, ending it with TERM after SECONDS and KILL 5 s later.
limited() {
  li_secs=$1
  shift
  if [ -n "$timeout_ok" ]; then
    timeout -k 5 "$li_secs" "$@"
    return
  fi
  "$@" &
  li_pid=$!
  ( sleep "$li_secs"; kill -TERM "$li_pid"; sleep 5; kill -KILL "$li_pid" ) </dev/null >/dev/null 2>&1 &
  li_dog=$!
  wait "$li_pid"
  li_rc=$?
  kill "$li_dog" 2>/dev/null
  return "$li_rc"
}

# run_logged NAME SECONDS CMD [ARG...]: like limited, with the command's output in the log, each line after
# "NAME: ". The output goes through a file, not a pipe, so that a daemon the command leaves behind (a DHCP
# client) cannot hold the boot up.
run_logged() {
  rl_name=$1
  rl_secs=$2
  shift 2
  rl_out=$state_dir/$rl_name.$$.out
  limited "$rl_secs" "$@" </dev/null >"$rl_out" 2>&1
  rl_rc=$?
  if [ -f "$rl_out" ]; then
    while IFS= read -r rl_line || [ -n "$rl_line" ]; do log "$rl_name: $rl_line"; done <"$rl_out"
    rm -f "$rl_out"
  fi
  return "$rl_rc"
}

# interpreter FILE: sets the positional parameters of the caller through "set -- $(interpreter FILE)": the
# #! line's program and argument when that program exists here, else /bin/sh (#!/bin/bash on a busybox guest).
interpreter() {
  in_first=
  IFS= read -r in_first <"$1" || :
  case $in_first in
    '#!'*) in_first=${in_first#??} ;;
    *) in_first= ;;
  esac
  set -f
  # shellcheck disable=SC2086
  set -- $in_first
  set +f
  if [ "${1:-}" = /usr/bin/env ] && [ $# -ge 2 ] && has "$2"; then printf '%s\n' "$2"; return; fi
  if [ $# -ge 1 ] && [ -x "$1" ]; then printf '%s\n' "$@"; return; fi
  printf '/bin/sh\n'
}
