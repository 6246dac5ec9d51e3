# shellcheck shell=sh disable=SC2154,SC2153
# The resolver: name servers and search domains from the keys, /etc/resolv.conf. Part of post-install.sh; sets
# `nameservers` and `search` (networkd.sh writes them too).

nameservers=
search=

# The guest's own /etc/resolv.conf is saved (a link as a link, a file as a copy, none as a mark) the first time vmctx
# writes over it, so that an edited context that gives no resolver any more (a re-apply, issue 21) gives the guest
# its own back instead of keeping the servers the operator took out. A context without DNS at the first boot leaves
# the file alone.
resolv_saved=$state_dir/resolv.conf.guest
save_guest_resolv() {
  if [ -e "$resolv_saved" ] || [ -L "$resolv_saved" ] || [ -e "$resolv_saved.none" ]; then return 0; fi
  if [ -L "$root/etc/resolv.conf" ]; then
    ln -s "$(readlink "$root/etc/resolv.conf")" "$resolv_saved"
  elif [ -f "$root/etc/resolv.conf" ]; then
    cp -p "$root/etc/resolv.conf" "$resolv_saved"
  else
    : >"$resolv_saved.none"
  fi
}

restore_guest_resolv() {
  # Only over vmctx's own file: one a DHCP client wrote since (METHOD=dhcp) is the guest's now.
  if [ -L "$root/etc/resolv.conf" ] || [ "$(head -n 1 "$root/etc/resolv.conf" 2>/dev/null)" != '# Written by vmctx post-install.' ]; then
    rm -f "$resolv_saved" "$resolv_saved.none"
    return 0
  fi
  if [ -L "$resolv_saved" ]; then
    rm -f "$root/etc/resolv.conf" && ln -s "$(readlink "$resolv_saved")" "$root/etc/resolv.conf"
  elif [ -f "$resolv_saved" ]; then
    cp -p "$resolv_saved" "$root/etc/resolv.conf.vmctx-new" && mv -f "$root/etc/resolv.conf.vmctx-new" "$root/etc/resolv.conf"
  elif [ -e "$resolv_saved.none" ]; then
    rm -f "$root/etc/resolv.conf"
  else
    return 0
  fi && rm -f "$resolv_saved" "$resolv_saved.none" && log "resolv.conf: the context gives no resolver; the guest's own is back"
}

write_resolv() {
  wr_domain=
  if [ -n "$DOMAIN" ]; then
    if is_hostname "$DOMAIN"; then wr_domain=$DOMAIN; else problem "DOMAIN is not a domain name; ignored"; fi
  fi
  if [ -z "$nameservers$search$wr_domain" ]; then
    restore_guest_resolv
    return 0
  fi
  save_guest_resolv
  {
    printf '# Written by vmctx post-install.\n'
    if [ -n "$wr_domain" ]; then printf 'domain %s\n' "$wr_domain"; fi
    if [ -n "$search" ]; then printf 'search %s\n' "$search"; fi
    for wr_ns in $nameservers; do printf 'nameserver %s\n' "$wr_ns"; done
  } >"$root/etc/resolv.conf.vmctx-new" && replace "$root/etc/resolv.conf" && log "resolv.conf: $nameservers"
}

# nameservers and search from NAMESERVERS (ours, several) or NAMESERVER (Snooze's, one), and SEARCH.
read_resolver() {
  set -f
  for rr_ns in ${NAMESERVERS:-$NAMESERVER}; do
    if is_ipv4 "$rr_ns"; then nameservers="$nameservers $rr_ns"; else problem "name server $rr_ns is not an IPv4 address; ignored"; fi
  done
  for rr_dom in $SEARCH; do
    if is_hostname "$rr_dom"; then search="$search $rr_dom"; else problem "search domain $rr_dom is not a domain name; ignored"; fi
  done
  set +f
  nameservers=${nameservers# }
  search=${search# }
}
