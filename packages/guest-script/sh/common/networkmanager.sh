# shellcheck shell=sh disable=SC2154
# NetworkManager, for dhcp.sh (the DHCP fallback) and post-install.sh (the persistent profile): a keyfile profile
# for the interface, root's and 0600 whatever the umask (NetworkManager ignores a keyfile that others can read),
# and, when NetworkManager runs, the profile brought up through nmcli. Needs commands.sh, and `root`, `iface`, `log`
# (and for a static profile `IP`, `prefix`, `GATEWAY`, `MTU`, `nameservers`, `search`, `nm_routes`).

# has_networkmanager: whether NetworkManager is installed in the guest.
has_networkmanager() { has NetworkManager && [ -d "$root/etc/NetworkManager" ]; }

# nm_running: whether NetworkManager runs now (nmcli answers).
nm_running() { has nmcli && limited 10 nmcli -t -f RUNNING general >/dev/null 2>&1; }

# nm_profile FILE ID METHOD: writes the keyfile FILE (through FILE.vmctx-new, 0600) for the interface.
nm_profile() {
  np_file=$1
  np_dir=${np_file%/*}
  # Folders on the way 0755 as NetworkManager makes them (/run/NetworkManager), the profiles' folder 0700.
  if [ ! -d "$np_dir" ]; then
    (umask 022 && mkdir -p "${np_dir%/*}") && (umask 077 && mkdir "$np_dir") || return 1
  fi
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

# nm_activate ID: NetworkManager, when it runs, reads the profiles again and brings ID up on the interface.
nm_activate() {
  nm_running || return 0
  run_logged nmcli 15 nmcli connection reload
  run_logged nmcli 60 nmcli connection up id "$1" ifname "$iface"
}
