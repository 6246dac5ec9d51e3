# shellcheck shell=sh disable=SC2154
# Checks: every value from the CD is tested against what its consumer accepts before it is used. Part of
# post-install.sh.

is_ipv4() {
  case $1 in ''|*[!0-9.]*|.*|*.|*..*) return 1 ;; esac
  set -f
  iv_ifs=$IFS
  IFS=.
  # shellcheck disable=SC2086
  set -- $1
  IFS=$iv_ifs
  set +f
  [ $# -eq 4 ] || return 1
  for iv_octet in "$@"; do
    case $iv_octet in [0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5]) ;; *) return 1 ;; esac
  done
}
is_prefix() { case $1 in [0-9]|[12][0-9]|3[0-2]) return 0 ;; *) return 1 ;; esac; }
is_number() { case $1 in ''|*[!0-9]*) return 1 ;; *) [ ${#1} -le 9 ] ;; esac; }
is_hostname() {
  case $1 in ''|*[!A-Za-z0-9.-]*|-*|*-|.*|*.|*..*|*-.*|*.-*) return 1 ;; esac
  [ ${#1} -le 253 ]
}
is_iface() { case $1 in ''|.|..|*[!A-Za-z0-9_.-]*) return 1 ;; *) [ ${#1} -le 15 ] ;; esac; }
is_user() { case $1 in ''|-*|*[!a-z0-9_-]*) return 1 ;; *) [ ${#1} -le 32 ] ;; esac; }
is_owner() { is_user "$1" || is_number "$1"; }
is_mac() {
  case $1 in
    [0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]) return 0 ;;
    *) return 1 ;;
  esac
}
lower() { printf '%s' "$1" | tr 'A-F' 'a-f'; }
