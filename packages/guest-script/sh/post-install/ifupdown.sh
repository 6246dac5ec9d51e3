# shellcheck shell=sh disable=SC2154
# ifupdown: /etc/network/interfaces for the interface (the previous file kept as interfaces.vmctx-orig), where the
# guest has ifupdown. Part of post-install.sh; uses `method`, `iface`, `netmask`, `route_up` and the keys.

persist_ifupdown() {
  pi_file=$root/etc/network/interfaces
  if [ ! -f "$pi_file" ] && ! has ifup; then return 0; fi
  mkdir -p "$root/etc/network"
  if [ -f "$pi_file" ] && [ ! -f "$pi_file.vmctx-orig" ]; then cp -p "$pi_file" "$pi_file.vmctx-orig"; fi
  {
    printf '# Written by vmctx post-install; the previous file is interfaces.vmctx-orig.\n'
    printf 'auto lo\niface lo inet loopback\n\nauto %s\n' "$iface"
    if [ "$method" = dhcp ]; then
      printf 'iface %s inet dhcp\n' "$iface"
    else
      printf 'iface %s inet static\n    address %s\n    netmask %s\n' "$iface" "$IP" "$netmask"
      if [ -n "$GATEWAY" ]; then printf '    gateway %s\n' "$GATEWAY"; fi
      if [ -n "$MTU" ]; then printf '    mtu %s\n' "$MTU"; fi
      printf '%s' "$route_up"
    fi
  } >"$pi_file.vmctx-new" && replace "$pi_file" && log "ifupdown: $pi_file written"
}

# release_ifupdown: where ifupdown brought the interface up before the context (a Debian install's
# "allow-hotplug IFACE" with DHCP), takes it down through ifupdown first, so that its DHCP client stops (and
# releases its lease) instead of staying to renew an address the context replaced.
release_ifupdown() {
  has ifdown && has ifquery || return 0
  [ -n "$(ifquery --state "$iface" 2>/dev/null)" ] || return 0
  log "ifupdown: $iface is up (ifquery --state); ifdown first"
  run_logged ifdown 30 ifdown --force "$iface" || warn "ifdown $iface failed"
}
