# shellcheck shell=sh disable=SC2154,SC3028
# The host name: HOSTNAME, or for IP-in-MAC HOSTNAME_PREFIX (vm- by default) and the address; /etc/hostname,
# 127.0.1.1 in /etc/hosts, and `hostname` now. Part of post-install.sh.

set_hostname() {
  sh_name=$HOSTNAME
  if [ -z "$sh_name" ] && [ "$method" = ip-from-mac ] && is_ipv4 "$IP"; then
    sh_name=${HOSTNAME_PREFIX:-vm-}$(printf '%s' "$IP" | tr . -)
  fi
  [ -n "$sh_name" ] || return 0
  is_hostname "$sh_name" || { problem "HOSTNAME is not a host name; left unchanged"; return 1; }
  printf '%s\n' "$sh_name" >"$root/etc/hostname.vmctx-new" && replace "$root/etc/hostname"
  sh_short=${sh_name%%.*}
  {
    if [ -f "$root/etc/hosts" ]; then grep -v '^127\.0\.1\.1[[:space:]]' "$root/etc/hosts"; fi
    if [ "$sh_short" = "$sh_name" ]; then printf '127.0.1.1\t%s\n' "$sh_name"; else printf '127.0.1.1\t%s %s\n' "$sh_name" "$sh_short"; fi
  } >"$root/etc/hosts.vmctx-new" && replace "$root/etc/hosts"
  if has hostname; then hostname "$sh_name" || problem "cannot set the host name now"; fi
  log "host name $sh_name"
}
