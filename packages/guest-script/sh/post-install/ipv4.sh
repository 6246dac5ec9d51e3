# shellcheck shell=sh disable=SC2154
# IPv4 arithmetic (addresses as integers, prefix lengths and netmasks) and IP-in-MAC. Part of post-install.sh,
# after checks.sh.

ip_to_int() {
  set -f
  it_ifs=$IFS
  IFS=.
  # shellcheck disable=SC2086
  set -- $1
  IFS=$it_ifs
  set +f
  printf '%s' "$(( ($1 << 24) + ($2 << 16) + ($3 << 8) + $4 ))"
}
int_to_ip() { printf '%s.%s.%s.%s' "$(( ($1 >> 24) & 255 ))" "$(( ($1 >> 16) & 255 ))" "$(( ($1 >> 8) & 255 ))" "$(( $1 & 255 ))"; }
prefix_to_mask() { int_to_ip "$(( (0xffffffff << (32 - $1)) & 0xffffffff ))"; }
mask_to_prefix() {
  is_ipv4 "$1" || return 1
  mp_mask=$(ip_to_int "$1")
  mp_len=0
  while [ "$mp_len" -le 32 ]; do
    if [ "$(( (0xffffffff << (32 - mp_len)) & 0xffffffff ))" -eq "$mp_mask" ]; then printf '%s' "$mp_len"; return 0; fi
    mp_len=$((mp_len + 1))
  done
  return 1
}

# IP-in-MAC (template-renderer's ipv4FromMac, Snooze, OpenNebula): the address is in the MAC's last four octets.
ipv4_from_mac() {
  set -f
  im_ifs=$IFS
  IFS=:
  # shellcheck disable=SC2086
  set -- $1
  IFS=$im_ifs
  set +f
  [ $# -eq 6 ] || return 1
  for im_octet in "$@"; do
    case $im_octet in [0-9a-fA-F]|[0-9a-fA-F][0-9a-fA-F]) ;; *) return 1 ;; esac
  done
  printf '%s.%s.%s.%s' "$((0x$3))" "$((0x$4))" "$((0x$5))" "$((0x$6))"
}
