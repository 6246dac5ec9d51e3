# shellcheck shell=sh disable=SC2154,SC2034
# The interface to configure, by MAC, name or MAC prefix. Part of post-install.sh, after checks.sh and dhcp.sh;
# uses `root` and the keys of common/network; sets `iface`.

mac_of() {
  [ -r "$root/sys/class/net/$1/address" ] || return 1
  lower "$(cat "$root/sys/class/net/$1/address")"
}

# The interface to configure: the one with MAC, else IFACE, else the first whose MAC starts with MAC_PREFIX
# (IP-from-MAC), else the first that is not lo.
find_iface() {
  if [ -n "$MAC" ]; then
    fi_want=$(lower "$MAC")
    is_mac "$fi_want" || { problem "MAC is not a MAC address"; return 1; }
    for fi_path in "$root"/sys/class/net/*; do
      fi_name=${fi_path##*/}
      if [ "$(mac_of "$fi_name")" = "$fi_want" ]; then iface=$fi_name; return 0; fi
    done
    problem "no interface has the MAC $fi_want"
    return 1
  fi
  if [ -n "$IFACE" ]; then
    is_iface "$IFACE" || { problem "IFACE is not an interface name"; return 1; }
    iface=$IFACE
    return 0
  fi
  if [ -n "$MAC_PREFIX" ]; then
    fi_prefix=$(lower "$MAC_PREFIX")
    for fi_path in "$root"/sys/class/net/*; do
      fi_name=${fi_path##*/}
      case $(mac_of "$fi_name") in "$fi_prefix":*) iface=$fi_name; return 0 ;; esac
    done
    problem "no interface has a MAC starting with $fi_prefix"
    return 1
  fi
  pick_iface
}
