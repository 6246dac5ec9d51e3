# shellcheck shell=sh disable=SC2154,SC2153
# The resolver: name servers and search domains from the keys, /etc/resolv.conf. Part of post-install.sh; sets
# `nameservers` and `search` (networkd.sh writes them too).

nameservers=
search=
write_resolv() {
  wr_domain=
  if [ -n "$DOMAIN" ]; then
    if is_hostname "$DOMAIN"; then wr_domain=$DOMAIN; else problem "DOMAIN is not a domain name; ignored"; fi
  fi
  [ -n "$nameservers$search$wr_domain" ] || return 0
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
