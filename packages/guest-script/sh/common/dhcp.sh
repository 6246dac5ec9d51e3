# shellcheck shell=sh disable=SC2154
# The DHCP fallback, for contextualization.sh (no CD, or nothing to apply) and post-install.sh (METHOD=dhcp): the
# interface up with whatever the guest has. Needs commands.sh, and `root`, `iface` (empty: the first one) and
# `dhcp_limit` (seconds) from the script that sources it, and networkmanager.sh before it.

# pick_iface: sets iface, unless already set, to the first network interface that is not lo (eth0 if none).
pick_iface() {
  [ -n "$iface" ] && return 0
  for pi_path in "$root"/sys/class/net/*; do
    pi_name=${pi_path##*/}
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
  elif has_networkmanager; then
    if [ -f "$root/etc/NetworkManager/system-connections/vmctx-$iface.nmconnection" ]; then
      # A context applied before: its profile, which NetworkManager brings up when it starts.
      log "network: $iface through NetworkManager (profile vmctx-$iface)"
      nm_activate "vmctx-$iface"
    else
      # A profile for this boot only (/run), which NetworkManager reads as it does those in /etc.
      log "network: DHCP on $iface through NetworkManager"
      nm_profile "$root/run/NetworkManager/system-connections/vmctx-dhcp-$iface.nmconnection" "vmctx-dhcp-$iface" auto &&
        nm_activate "vmctx-dhcp-$iface"
    fi
  elif [ -d "$root/run/systemd/netif" ] && has networkctl; then
    log "network: DHCP on $iface through systemd-networkd"
    # networkd runs as systemd-network: the folder must be readable by it, not 0700 under the script's umask.
    (umask 022 && mkdir -p "$root/run/systemd/network")
    printf '[Match]\nName=%s\n\n[Network]\nDHCP=yes\n' "$iface" >"$root/run/systemd/network/99-vmctx-dhcp.network"
    chmod 644 "$root/run/systemd/network/99-vmctx-dhcp.network"
    # Where networkd runs (its state file), it reads the file now; else when it starts (vmctx's unit runs first).
    if [ -f "$root/run/systemd/netif/state" ]; then run_logged networkctl 15 networkctl reload; fi
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
}
