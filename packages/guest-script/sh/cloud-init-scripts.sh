#!/bin/sh
# vmctx cloud-init scripts: written by @vmctx/guest-script from packages/guest-script/sh/cloud-init-scripts.sh and
# the files it sources. The user-data of a NoCloud CD writes it with the context's keys and scripts, and cloud-init's
# runcmd runs it (its final stage, after the network is up), so that the scripts see what post-install gives them:
#   $ctx/common/network   the context's keys (the CD's common/network), read as data, never sourced, and exported
#   $ctx/scripts/*        the context's scripts, run in name order from $ctx with their #! interpreter (or sh)
# with VMCTX_CONTEXT_DIR, VMCTX_INTERFACE and VMCTX_IP as post-install sets them; and an IP-from-MAC guest without a
# host name named as post-install names it (HOSTNAME_PREFIX and the address its MAC carries).
# ctx is VMCTX_CONTEXT_DIR, by default /var/lib/vmctx/context. VMCTX_ROOT (tests only) prefixes every path.

vmctx_sh=$(dirname "$0") # from the source tree, the parts beside this file (the generated script holds them)

root=${VMCTX_ROOT:-}
ctx=${VMCTX_CONTEXT_DIR:-$root/var/lib/vmctx/context}
if [ -z "$root" ]; then
  PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  export PATH
fi
umask 022
iface=
status=0

log() { printf 'vmctx: %s\n' "$*"; }
problem() { printf 'vmctx: error: %s\n' "$*"; status=1; }
warn() { printf 'vmctx: warning: %s\n' "$*"; }

# replace FILE: moves FILE.vmctx-new over FILE (a symbolic link there is replaced, not followed).
replace() {
  chmod 644 "$1.vmctx-new" && mv -f "$1.vmctx-new" "$1"
}

# shellcheck source=common/commands.sh
. "$vmctx_sh/common/commands.sh"
# shellcheck source=common/values.sh
. "$vmctx_sh/common/values.sh"
# shellcheck source=post-install/checks.sh
. "$vmctx_sh/post-install/checks.sh"
# shellcheck source=post-install/ipv4.sh
. "$vmctx_sh/post-install/ipv4.sh"
# shellcheck source=post-install/interface.sh
. "$vmctx_sh/post-install/interface.sh"
# shellcheck source=post-install/hostname.sh
. "$vmctx_sh/post-install/hostname.sh"
# shellcheck source=post-install/scripts.sh
. "$vmctx_sh/post-install/scripts.sh"

# pick_iface: the first interface that is not lo (post-install's, from common/dhcp.sh, without the DHCP client).
pick_iface() {
  for pi_path in "$root"/sys/class/net/*; do
    pi_name=${pi_path##*/}
    if [ "$pi_name" = lo ] || [ ! -e "$pi_path" ]; then continue; fi
    iface=$pi_name
    return 0
  done
  iface=eth0
}

# ---- main --------------------------------------------------------------------------------------------------
log "cloud-init scripts start (context in $ctx)"
# shellcheck source=common/context-keys.sh
. "$vmctx_sh/common/context-keys.sh"
method=$METHOD
find_iface || iface=
if [ "$method" = ip-from-mac ] && [ -n "$iface" ]; then
  IP=$(ipv4_from_mac "$(mac_of "$iface")") || { problem "cannot read an address from the MAC of $iface"; IP=; }
fi
if [ -z "$HOSTNAME" ] && [ "$method" = ip-from-mac ]; then set_hostname; fi
VMCTX_CONTEXT_DIR=$ctx
VMCTX_INTERFACE=$iface
VMCTX_IP=$IP
export VMCTX_CONTEXT_DIR VMCTX_INTERFACE VMCTX_IP
run_scripts
if [ "$status" -eq 0 ]; then log "cloud-init scripts done"; else log "cloud-init scripts done with errors"; fi
exit "$status"
