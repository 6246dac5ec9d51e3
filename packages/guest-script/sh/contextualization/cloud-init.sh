# shellcheck shell=sh disable=SC2154,SC2034
# Standing down for cloud-init. A guest with both readers applies a CD once: when the CD carries the NoCloud seed
# (meta-data and user-data at its root) and cloud-init will read it (installed, not disabled, the CD labelled
# cidata or CIDATA as its NoCloud datasource needs), cloud-init applies it and this script leaves the CD alone: it
# runs before us (cloud-init-local, ahead of the network), owns the network it writes (netplan, networkd,
# sysconfig) and applies the operator's own cloud-config, which we cannot. Part of contextualization.sh, after
# find-cd.sh; uses `root`, `mnt`, `dev`, `label` and `found_label`; sets `ci_reason`.

ci_reason=

# The CD's volume label: the one it was found by, else blkid's (util-linux and busybox print LABEL="..."), else ''.
cd_label() {
  if [ -n "$found_label" ]; then printf '%s' "$found_label"; return 0; fi
  has blkid || return 0
  cl_line=$(limited 15 blkid "$dev" 2>/dev/null) || return 0
  case $cl_line in
    *' LABEL="'*) cl_line=${cl_line#*' LABEL="'}; printf '%s' "${cl_line%%\"*}" ;;
  esac
}

# cloud_init_applies: 0 when cloud-init applies this CD itself (ci_reason says why), 1 when vmctx must.
cloud_init_applies() {
  [ -f "$mnt/meta-data" ] && [ -f "$mnt/user-data" ] || return 1
  if [ ! -x "$root/usr/bin/cloud-init" ] && [ ! -x "$root/usr/local/bin/cloud-init" ]; then return 1; fi
  # cloud-init's own off switches (cloud-init docs, Howto > Disable cloud-init): the file, the kernel argument.
  [ -e "$root/etc/cloud/cloud-init.disabled" ] && return 1
  if [ -r "$root/proc/cmdline" ]; then
    case " $(cat "$root/proc/cmdline") " in *' cloud-init=disabled '*) return 1 ;; esac
  fi
  # A masked unit (systemctl mask cloud-init) is a link to /dev/null.
  [ "$(readlink "$root/etc/systemd/system/cloud-init.service" 2>/dev/null)" = /dev/null ] && return 1
  ca_label=$(cd_label)
  case $ca_label in
    cidata|CIDATA) ;;
    *) return 1 ;;
  esac
  ci_reason="cloud-init is installed and enabled, and the CD (label $ca_label) carries its NoCloud seed"
  return 0
}
