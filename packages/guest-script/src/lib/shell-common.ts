/**
 * Shell functions shared by the contextualization script and post-install: POSIX sh only (dash, bash,
 * busybox ash), no `local`, every variable a function uses prefixed by the function's initials so that no two
 * functions clash. Both scripts define `log` (where messages go), `root` (a path prefix, empty in a real guest)
 * and `state_dir` before these.
 */

/** `has CMD`, `limited SECONDS CMD...` (a time limit with `timeout` or a watchdog) and `run_logged`. */
export const SHELL_HELPERS = String.raw`has() { command -v "$1" >/dev/null 2>&1; }

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
    '#!'*) in_first=${'$'}{in_first#??} ;;
    *) in_first= ;;
  esac
  set -f
  # shellcheck disable=SC2086
  set -- $in_first
  set +f
  if [ "${'$'}{1:-}" = /usr/bin/env ] && [ $# -ge 2 ] && has "$2"; then printf '%s\n' "$2"; return; fi
  if [ $# -ge 1 ] && [ -x "$1" ]; then printf '%s\n' "$@"; return; fi
  printf '/bin/sh\n'
}

# pick_iface: sets iface, unless already set, to the first network interface that is not lo (eth0 if none).
pick_iface() {
  [ -n "$iface" ] && return 0
  for pi_path in "$root"/sys/class/net/*; do
    pi_name=${'$'}{pi_path##*/}
    if [ "$pi_name" = lo ] || [ ! -e "$pi_path" ]; then continue; fi
    iface=$pi_name
    return 0
  done
  iface=eth0
}

# has_stanza: whether ifupdown's /etc/network/interfaces has an "iface $iface" stanza.
has_stanza() {
  [ -f "$root/etc/network/interfaces" ] || return 1
  while read -r hs_word hs_name _; do
    if [ "$hs_word" = iface ] && [ "$hs_name" = "$iface" ]; then return 0; fi
  done <"$root/etc/network/interfaces"
  return 1
}

# bring_up_network: the interface up with what the guest has: its ifupdown stanza (DHCP as the seed's
# "ifup eth0", or the static stanza post-install wrote), systemd-networkd, dhclient or busybox udhcpc.
bring_up_network() {
  pick_iface
  if has ip; then ip link set dev "$iface" up >/dev/null 2>&1; fi
  if has ifup && has_stanza; then
    log "network: ifup $iface"
    run_logged ifup "$dhcp_limit" ifup "$iface"
  elif [ -d "$root/run/systemd/netif" ] && has networkctl; then
    log "network: DHCP on $iface through systemd-networkd"
    mkdir -p "$root/run/systemd/network"
    printf '[Match]\nName=%s\n\n[Network]\nDHCP=yes\n' "$iface" >"$root/run/systemd/network/99-vmctx-dhcp.network"
    chmod 644 "$root/run/systemd/network/99-vmctx-dhcp.network"
    run_logged networkctl 15 networkctl reload
  elif has dhclient; then
    log "network: dhclient $iface"
    run_logged dhclient "$dhcp_limit" dhclient -1 "$iface"
  elif has udhcpc; then
    log "network: udhcpc on $iface"
    run_logged udhcpc "$dhcp_limit" udhcpc -i "$iface" -n -q -t 5 -T 3
  elif has ifup; then
    log "network: ifup $iface"
    run_logged ifup "$dhcp_limit" ifup "$iface"
  else
    log "network: no ifup, networkd, dhclient or udhcpc here; $iface stays unconfigured"
    return 1
  fi
}`;
