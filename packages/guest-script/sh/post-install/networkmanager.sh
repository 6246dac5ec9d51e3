# shellcheck shell=sh disable=SC2154
# NetworkManager: the profile vmctx-IFACE in /etc/NetworkManager/system-connections, where the guest has
# NetworkManager and the interface is not ifupdown's, so that NetworkManager holds the address instead of undoing
# it: it takes the link with this profile when it starts (vmctx's unit runs before it), or at once through nmcli
# when it already runs. Part of post-install.sh, after common/networkmanager.sh; uses `method` and `iface`.

persist_networkmanager() {
  has_networkmanager || return 0
  if has ifup && has_stanza; then log "NetworkManager: $iface is ifupdown's (its stanza); no profile"; return 0; fi
  pm_method=manual
  if [ "$method" = dhcp ]; then pm_method=auto; fi
  pm_file=$root/etc/NetworkManager/system-connections/vmctx-$iface.nmconnection
  if nm_profile "$pm_file" "vmctx-$iface" "$pm_method"; then
    log "NetworkManager: $pm_file written"
  else
    problem "cannot write $pm_file"
    return 1
  fi
  nm_activate "vmctx-$iface" || problem "NetworkManager could not bring vmctx-$iface up"
}
