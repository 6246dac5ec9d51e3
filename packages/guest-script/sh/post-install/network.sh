# shellcheck shell=sh disable=SC2154,SC2153,SC2034
# The network: METHOD (static, ip-from-mac, dhcp or none; guessed from the keys when not given) applied now with
# `ip` (iproute2 or busybox), then persistently for ifupdown, systemd-networkd and NetworkManager; DHCP through dhcp.sh. Part of
# post-install.sh, after the other network files; sets `method`, `prefix` and `netmask`.

configure_network() {
  method=$METHOD
  if [ -z "$method" ]; then
    if [ -n "$IP" ]; then method=static; elif [ -n "$NETMASK$PREFIX$GATEWAY" ]; then method=ip-from-mac; else method=dhcp; fi
  fi
  case $method in
    none) log "network: METHOD=none, left as it is"; return 0 ;;
    static|ip-from-mac|dhcp) ;;
    *) problem "METHOD $method is not static, ip-from-mac, dhcp or none"; return 1 ;;
  esac
  find_iface || return 1
  if [ -n "$MTU" ] && ! is_number "$MTU"; then problem "MTU is not a number; ignored"; MTU=; fi
  if [ "$method" = dhcp ]; then
    if has ip; then set_mtu; fi
    persist_ifupdown
    persist_networkd
    persist_networkmanager
    bring_up_network || problem "DHCP on $iface failed"
    return 0
  fi
  if [ "$method" = ip-from-mac ]; then
    IP=$(ipv4_from_mac "$(mac_of "$iface")") || { problem "cannot read an address from the MAC of $iface"; return 1; }
    log "address $IP read from the MAC of $iface"
  fi
  is_ipv4 "$IP" || { problem "IP is not an IPv4 address"; return 1; }
  prefix=$PREFIX
  if [ -z "$prefix" ] && [ -n "$NETMASK" ]; then prefix=$(mask_to_prefix "$NETMASK") || { problem "NETMASK is not a netmask"; return 1; }; fi
  if [ -z "$prefix" ]; then prefix=24; warn "neither PREFIX nor NETMASK given; using /24"; fi
  is_prefix "$prefix" || { problem "PREFIX is not a prefix length"; return 1; }
  if [ -n "$GATEWAY" ] && ! is_ipv4 "$GATEWAY"; then problem "GATEWAY is not an IPv4 address; ignored"; GATEWAY=; fi
  netmask=$(prefix_to_mask "$prefix")
  broadcast=$(int_to_ip "$(( $(ip_to_int "$IP") | (0xffffffff >> prefix) ))")
  if ! has ip; then problem "no ip command (iproute2 or busybox) to set $IP/$prefix on $iface now"; return 1; fi
  release_ifupdown
  ip link set dev "$iface" up || problem "cannot bring $iface up"
  set_mtu
  ip -f inet addr flush dev "$iface" 2>/dev/null
  if ip addr add "$IP/$prefix" broadcast "$broadcast" dev "$iface"; then
    log "address $IP/$prefix on $iface"
  else
    problem "cannot set $IP/$prefix on $iface"
  fi
  if [ -n "$GATEWAY" ]; then
    if ip route replace default via "$GATEWAY" dev "$iface"; then log "default route via $GATEWAY"; else problem "cannot set the default route via $GATEWAY"; fi
  fi
  apply_routes
  persist_ifupdown
  persist_networkd
  persist_networkmanager
}

# The MTU: the context's; else, when an earlier context set one, the guest's own back (saved the first time vmctx
# changed it), so that an edited context without an MTU does not keep the old one (a re-apply, issue 21).
set_mtu() {
  sm_saved=$state_dir/mtu.$iface
  if [ -n "$MTU" ]; then
    if [ ! -f "$sm_saved" ] && [ -r "$root/sys/class/net/$iface/mtu" ]; then cat "$root/sys/class/net/$iface/mtu" >"$sm_saved"; fi
    ip link set dev "$iface" mtu "$MTU" || problem "cannot set MTU $MTU on $iface"
  elif [ -f "$sm_saved" ]; then
    sm_own=$(cat "$sm_saved")
    if is_number "$sm_own" && ip link set dev "$iface" mtu "$sm_own"; then
      log "MTU $sm_own on $iface: the guest's own, as the context gives none"
      rm -f "$sm_saved"
    fi
  fi
}
