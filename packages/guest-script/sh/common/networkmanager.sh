# shellcheck shell=sh disable=SC2154
# NetworkManager, for dhcp.sh (the DHCP fallback) and post-install.sh (the persistent profile): a keyfile profile
# for the interface, root's and 0600 whatever the umask (NetworkManager ignores a keyfile that others can read),
# and, when NetworkManager runs, the profile brought up through nmcli. Needs commands.sh, and `root`, `iface`, `log`
# (and for a static profile `IP`, `prefix`, `GATEWAY`, `MTU`, `nameservers`, `search`, `nm_routes`).

# has_networkmanager: whether NetworkManager is installed in the guest.
has_networkmanager() { has NetworkManager && [ -d "$root/etc/NetworkManager" ]; }

# nm_running: whether NetworkManager runs now: its pid file in /run names a live process. Not asked through nmcli:
# before D-Bus is up (vmctx's unit runs early), nmcli waits for the bus to start only to learn that it does not.
nm_running() {
  nr_pid=$(cat "$root/run/NetworkManager/NetworkManager.pid" 2>/dev/null) || return 1
  case $nr_pid in ''|*[!0-9]*) return 1 ;; esac
  kill -0 "$nr_pid" 2>/dev/null && has nmcli
}

# nm_profile FILE ID METHOD: writes the keyfile FILE (through FILE.vmctx-new, 0600) for the interface.
nm_profile() {
  np_file=$1
  np_dir=${np_file%/*}
  # The folders 0755 as NetworkManager makes them (/run/NetworkManager/system-connections), not 0700 under the
  # script's umask; the profile itself is 0600.
  if [ ! -d "$np_dir" ]; then (umask 022 && mkdir -p "$np_dir") || return 1; fi
  rm -f "$np_file.vmctx-new"
  (umask 077 && : >"$np_file.vmctx-new") || return 1
  {
    printf '# Written by vmctx.\n[connection]\nid=%s\ntype=ethernet\ninterface-name=%s\nautoconnect=true\nautoconnect-priority=100\n' "$2" "$iface"
    if [ -n "$MTU" ]; then printf '\n[ethernet]\nmtu=%s\n' "$MTU"; fi
    printf '\n[ipv4]\n'
    if [ "$3" = auto ]; then
      printf 'method=auto\n'
    else
      # shellcheck disable=SC2154 # prefix: set by post-install, which alone writes static profiles
      printf 'method=manual\naddress1=%s/%s%s\n' "$IP" "$prefix" "${GATEWAY:+,$GATEWAY}"
      if [ -n "$nameservers" ]; then printf 'dns=%s;\n' "$(printf '%s' "$nameservers" | tr ' ' ';')"; fi
      if [ -n "$search" ]; then printf 'dns-search=%s;\n' "$(printf '%s' "$search" | tr ' ' ';')"; fi
      if [ -n "$nm_routes" ]; then printf '%s' "$nm_routes"; fi
    fi
    printf '\n[ipv6]\nmethod=auto\n'
  } >>"$np_file.vmctx-new" && chmod 600 "$np_file.vmctx-new" && mv -f "$np_file.vmctx-new" "$np_file"
}

# nm_activate ID: brings the profile ID up on the interface through NetworkManager: now, when it runs (it reads the
# profiles again first); else once it has started (vmctx's unit runs before it), from a bounded waiter left behind,
# since NetworkManager keeps a link it finds configured as an external connection instead of taking it with the
# profile. Where NetworkManager brought ID up by itself, the waiter does nothing.
nm_activate() {
  if nm_running; then
    run_logged nmcli 15 nmcli connection reload
    run_logged nmcli 60 nmcli connection up id "$1" ifname "$iface"
    return
  fi
  has nmcli && has nm-online || return 0
  (
    limited 300 nm-online -s -q -t 240 || exit 0
    [ "$(nmcli -g GENERAL.CONNECTION device show "$iface" 2>/dev/null)" = "$1" ] && exit 0
    limited 60 nmcli connection up id "$1" ifname "$iface"
  ) </dev/null >/dev/null 2>&1 &
  log "NetworkManager is not running yet: $1 is brought up on $iface once it is"
}
