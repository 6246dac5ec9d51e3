#!/bin/sh
# vmctx contextualization, /usr/local/bin/contextualization: written by @vmctx/guest-script from
# packages/guest-script/sh/contextualization.sh and the files it sources (generate it rather than editing it).
#
# At boot: find the context CD (by its volume label, else the usual CD and disk devices), mount it read-only,
# run its post-install as root under a time limit and unmount it; with no CD drive, no medium, no mountable file
# system or no post-install, bring the network up with DHCP instead. A CD is applied once (per instance id)
# unless VMCTX_EVERY_BOOT=1; a CD with another id is applied again. Never waits without a limit; exits 0.
# Messages go to the serial console and /var/log/contextualization.log (not to stderr: at boot that is the
# console already).
#
# Arguments: none at boot; --media-changed (udev's rule on the CD drive: hand the work off and return at once) or
# --reapply (a running guest: apply the CD when its instance id is not the one applied; reapply.sh).
#
# Environment (all optional): VMCTX_LABEL, VMCTX_EVERY_BOOT (1 = at every boot), VMCTX_TIMEOUT and
# VMCTX_DHCP_TIMEOUT (seconds), VMCTX_IFACE (DHCP interface), VMCTX_ROOT (tests only: a folder that prefixes
# every path; regular files there stand in for block devices, which only root can make).

vmctx_sh=$(dirname "$0") # from the source tree, the parts beside this file (the generated script holds them)

# The environment overrides the options below; a value that is not valid is dropped first, so the option stands.
case ${VMCTX_LABEL:-} in *[!A-Za-z0-9_.-]*) VMCTX_LABEL= ;; esac
case ${VMCTX_TIMEOUT:-} in *[!0-9]*) VMCTX_TIMEOUT= ;; esac
case ${VMCTX_DHCP_TIMEOUT:-} in *[!0-9]*) VMCTX_DHCP_TIMEOUT= ;; esac

# The options (contextualizationScript() writes them from its arguments; options.sh holds the defaults).
# shellcheck source=contextualization/options.sh
. "$vmctx_sh/contextualization/options.sh" # vmctx:options
# An interface name that is not one means the first interface.
case $iface in *[!A-Za-z0-9_.-]*) iface= ;; esac
root=${VMCTX_ROOT:-}

state_dir=$root/var/lib/vmctx
log_file=$root/var/log/contextualization.log
# rc.local may run with a short PATH. In a test sandbox (VMCTX_ROOT set) the PATH given is used as it is,
# so that nothing but the test's stub commands can touch the machine.
if [ -z "$root" ]; then
  PATH=$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
  export PATH
fi
# The log and the state may hold secrets that post-install printed: root only.
umask 077

console=
for c in "$root/dev/console" "$root/dev/ttyS0"; do
  if [ -w "$c" ] && { [ -c "$c" ] || [ -n "$root" ]; }; then console=$c; break; fi
done

log() {
  if [ -n "$console" ]; then printf 'vmctx: %s\n' "$*" 2>/dev/null >>"$console"; fi
  printf '%s vmctx: %s\n' "$(date '+%Y-%m-%dT%H:%M:%S' 2>/dev/null)" "$*" 2>/dev/null >>"$log_file"
}

# shellcheck source=common/commands.sh
. "$vmctx_sh/common/commands.sh"
# shellcheck source=common/networkmanager.sh
. "$vmctx_sh/common/networkmanager.sh"
# shellcheck source=common/dhcp.sh
. "$vmctx_sh/common/dhcp.sh"
# shellcheck source=contextualization/mount.sh
. "$vmctx_sh/contextualization/mount.sh"
# shellcheck source=contextualization/find-cd.sh
. "$vmctx_sh/contextualization/find-cd.sh"
# shellcheck source=contextualization/cloud-init.sh
. "$vmctx_sh/contextualization/cloud-init.sh"
# shellcheck source=contextualization/run-post-install.sh
. "$vmctx_sh/contextualization/run-post-install.sh"
# shellcheck source=contextualization/lock.sh
. "$vmctx_sh/contextualization/lock.sh"
# shellcheck source=contextualization/reapply.sh
. "$vmctx_sh/contextualization/reapply.sh"
trap 'release; drop_lock' EXIT

# apply_instance: the CD's post-install for instance $id, the id recorded when it succeeds. The boot's run and a
# re-apply end in the same line, which deploy --wait waits for.
apply_instance() {
  log "running post-install of instance $id (time limit ${limit}s)"
  if run_post_install; then
    printf '%s\n' "$id" >"$state_dir/instance-id"
    log "post-install done (instance $id)"
  else
    rc=$?
    case $rc in
      124|137|143) log "post-install stopped after ${limit}s; it runs again at next boot" ;;
      *) log "post-install failed with status $rc; it runs again at next boot" ;;
    esac
  fi
}

main() {
  mkdir -p "$state_dir" "${log_file%/*}" 2>/dev/null
  chmod 700 "$state_dir" 2>/dev/null
  log "contextualization starts (label $label)"
  take_lock || :
  if ! pick_mount_point; then
    log "no folder to mount the CD on; falling back to DHCP"
    bring_up_network
    return
  fi
  if ! find_context; then
    log "no context CD ($reason); falling back to DHCP"
    release
    bring_up_network
    return
  fi
  if cloud_init_applies; then
    log "$ci_reason: cloud-init applies it, vmctx stands down"
    release
    return
  fi
  if [ ! -f "$mnt/post-install" ]; then
    log "context CD $dev has no post-install; falling back to DHCP"
    release
    bring_up_network
    return
  fi
  id=$(instance_id)
  if [ "$every_boot" != 1 ] && [ "$(cat "$state_dir/instance-id" 2>/dev/null)" = "$id" ]; then
    log "instance $id is already contextualized; bringing up its network"
    release
    bring_up_network
    return
  fi
  apply_instance
  release
}

# The boot's run has been (in /run: gone at the next boot); a re-apply waits for it (reapply.sh).
booted=$root/run/vmctx-booted

case ${1:-} in
  --media-changed) hand_off ;;
  --reapply) reapply; log "re-apply finished" ;;
  *)
    main
    if [ -d "$root/run" ]; then : >"$booted"; fi
    log "contextualization finished"
    ;;
esac
exit 0
