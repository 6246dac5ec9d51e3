# shellcheck shell=sh disable=SC2154
# systemd-networkd: /etc/systemd/network/10-vmctx.network, where the guest has that folder, and a reload when
# networkd runs. Part of post-install.sh; uses `method`, `iface`, `prefix`, `nameservers`, `search`,
# `networkd_routes` and the keys.

persist_networkd() {
  pn_dir=$root/etc/systemd/network
  [ -d "$pn_dir" ] || return 0
  pn_file=$pn_dir/10-vmctx.network
  {
    printf '# Written by vmctx post-install.\n[Match]\nName=%s\n' "$iface"
    if [ -n "$MTU" ]; then printf '\n[Link]\nMTUBytes=%s\n' "$MTU"; fi
    printf '\n[Network]\n'
    if [ "$method" = dhcp ]; then
      printf 'DHCP=yes\n'
    else
      printf 'Address=%s/%s\n' "$IP" "$prefix"
      if [ -n "$GATEWAY" ]; then printf 'Gateway=%s\n' "$GATEWAY"; fi
      for pn_ns in $nameservers; do printf 'DNS=%s\n' "$pn_ns"; done
      if [ -n "$search" ]; then printf 'Domains=%s\n' "$search"; fi
      # Each [Route] block starts with two newlines; the first needs one less.
      if [ -n "$networkd_routes" ]; then printf '%s\n' "${networkd_routes#?}"; fi
    fi
  } >"$pn_file.vmctx-new" && replace "$pn_file" && log "systemd-networkd: $pn_file written"
  # Reloaded only where networkd runs (its state file): else it reads the file when it starts.
  if [ -f "$root/run/systemd/netif/state" ] && has networkctl; then run_logged networkctl 15 networkctl reload; fi
}
