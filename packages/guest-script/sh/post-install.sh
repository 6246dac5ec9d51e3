#!/bin/sh
# vmctx post-install: written by @vmctx/guest-script from packages/guest-script/sh/post-install.sh and the files it
# sources; applies the context on this CD to the guest.
#   common/network       KEY='value' lines (Snooze's GATEWAY NETMASK ... and vmctx's METHOD IP PREFIX ...), read as
#                        data (common/values.sh), never sourced
#   common/routes        ifupdown "up" lines: "up ip route add NET/LEN via GW" or Snooze's "up route add -net ..."
#   ssh/authorized_keys  keys for SSH_USER (root by default)
#   files/N, files/N.meta  a file and its FILE_PATH, FILE_MODE, FILE_OWNER, FILE_GROUP
#   scripts/*            run in name order once the network is up, with common/network's keys in the environment;
#                        each again only when its content changed (a copy kept in /var/lib/vmctx/scripts)
# Idempotent: run again (an edited context in a running guest, a new CD at boot), it sets what changed, and takes out
# the SSH keys and routes it added before that the context no longer has (records in /var/lib/vmctx).
# Run as root from the CD folder by /usr/local/bin/contextualization; exits 1 if the network could not be set.
# VMCTX_ROOT (tests only) prefixes every path of the guest's file system.

vmctx_sh=$(dirname "$0") # from the source tree, the parts beside this file (the generated script holds them)

root=${VMCTX_ROOT:-}
ctx=${VMCTX_CONTEXT_DIR:-}
if [ -z "$ctx" ]; then ctx=$(cd "$(dirname "$0")" && pwd) || exit 1; fi
# rc.local may run with a short PATH. In a test sandbox (VMCTX_ROOT set) the PATH given is used as it is,
# so that nothing but the test's stub commands can touch the machine.
if [ -z "$root" ]; then
  PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  export PATH
fi
umask 022
state_dir=$root/var/lib/vmctx
mkdir -p "$state_dir" 2>/dev/null
dhcp_limit=60
iface=
status=0

log() { printf '%s\n' "$*"; }
problem() { printf 'error: %s\n' "$*"; status=1; }
warn() { printf 'warning: %s\n' "$*"; }

# replace FILE: moves FILE.vmctx-new over FILE (a symbolic link there is replaced, not followed).
replace() {
  chmod 644 "$1.vmctx-new" && mv -f "$1.vmctx-new" "$1"
}

# shellcheck source=common/commands.sh
. "$vmctx_sh/common/commands.sh"
# shellcheck source=common/networkmanager.sh
. "$vmctx_sh/common/networkmanager.sh"
# shellcheck source=common/dhcp.sh
. "$vmctx_sh/common/dhcp.sh"
# shellcheck source=common/values.sh
. "$vmctx_sh/common/values.sh"
# shellcheck source=post-install/checks.sh
. "$vmctx_sh/post-install/checks.sh"
# shellcheck source=post-install/ipv4.sh
. "$vmctx_sh/post-install/ipv4.sh"
# shellcheck source=post-install/interface.sh
. "$vmctx_sh/post-install/interface.sh"
# shellcheck source=post-install/routes.sh
. "$vmctx_sh/post-install/routes.sh"
# shellcheck source=post-install/ifupdown.sh
. "$vmctx_sh/post-install/ifupdown.sh"
# shellcheck source=post-install/networkd.sh
. "$vmctx_sh/post-install/networkd.sh"
# shellcheck source=post-install/networkmanager.sh
. "$vmctx_sh/post-install/networkmanager.sh"
# shellcheck source=post-install/network.sh
. "$vmctx_sh/post-install/network.sh"
# shellcheck source=post-install/hostname.sh
. "$vmctx_sh/post-install/hostname.sh"
# shellcheck source=post-install/dns.sh
. "$vmctx_sh/post-install/dns.sh"
# shellcheck source=post-install/ssh-keys.sh
. "$vmctx_sh/post-install/ssh-keys.sh"
# shellcheck source=post-install/files.sh
. "$vmctx_sh/post-install/files.sh"
# shellcheck source=post-install/scripts-changed.sh
. "$vmctx_sh/post-install/scripts-changed.sh"

# ---- main --------------------------------------------------------------------------------------------------
log "post-install starts (context in $ctx)"
# shellcheck source=common/context-keys.sh
. "$vmctx_sh/common/context-keys.sh"
method=
prefix=
read_resolver
configure_network
set_hostname
write_resolv
install_keys
write_files
VMCTX_CONTEXT_DIR=$ctx
VMCTX_INTERFACE=$iface
VMCTX_IP=$IP
export VMCTX_CONTEXT_DIR VMCTX_INTERFACE VMCTX_IP
run_changed_scripts
if [ "$status" -eq 0 ]; then log "post-install done"; else log "post-install done with errors"; fi
exit "$status"
