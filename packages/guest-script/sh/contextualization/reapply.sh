# shellcheck shell=sh disable=SC2154
# An edited context in a running guest (virsh change-media swapped the CD): `--media-changed` is udev's hand-off
# (the rule on the drive's change event with a medium), `--reapply` the work. udev must not run long jobs
# (systemd-udevd kills what a RUN program leaves and times the event out), so the hand-off starts
# vmctx-reapply.service where systemd runs, else a detached job of its own (sysvinit), and returns. The re-apply
# finds the CD as the boot does, and applies it when its instance id is not the one applied: post-install is
# idempotent (keys vmctx added and the context dropped are removed, routes likewise, a script runs again only when
# its content changed). Part of contextualization.sh, after the other parts; uses `root`, `state_dir`, `mnt`,
# `dev`, `reason`, `ci_reason`, `label`, `booted` and `log`.

hand_off() {
  if [ -d "$root/run/systemd/system" ] && has systemctl; then
    if limited 15 systemctl --no-block start vmctx-reapply.service; then
      log "a new medium in the CD drive: vmctx-reapply.service applies it"
      return 0
    fi
    log "systemctl could not start vmctx-reapply.service; a job of our own applies it"
  fi
  # A job of its own session (setsid where the guest has it), without udev's standard streams: udev's worker
  # returns at once, and the job is not in its process group.
  if has setsid; then
    setsid "$0" --reapply </dev/null >/dev/null 2>&1 &
  else
    "$0" --reapply </dev/null >/dev/null 2>&1 &
  fi
  log "a new medium in the CD drive: a detached job (pid $!) applies it"
}

reapply() {
  mkdir -p "$state_dir" "${log_file%/*}" 2>/dev/null
  chmod 700 "$state_dir" 2>/dev/null
  log "a new medium: looking for an edited context (label $label)"
  take_lock || :
  # A medium seen while the guest boots (udev's first poll of the drive) is the boot's run's to apply: a re-apply
  # before it has run would apply the CD in its place.
  if [ -d "$root/run" ] && [ ! -f "$booted" ]; then
    log "the boot's own run has not finished yet: it applies the CD; nothing applied"
    return
  fi
  if ! pick_mount_point; then
    log "no folder to mount the CD on; nothing applied"
    return
  fi
  # No DHCP fallback here, whatever is missing: the guest's network is up, and the context applied stays.
  if ! find_context; then
    log "no context CD on the new medium ($reason); nothing applied"
    release
    return
  fi
  if cloud_init_applies; then
    log "$ci_reason: cloud-init applies an edited context at its next boot only; vmctx stands down"
    release
    return
  fi
  if [ ! -f "$mnt/post-install" ]; then
    log "context CD $dev has no post-install; nothing applied"
    release
    return
  fi
  id=$(instance_id)
  ra_applied=$(cat "$state_dir/instance-id" 2>/dev/null)
  if [ "$ra_applied" = "$id" ]; then
    # The words deploy --wait knows from a boot that found its CD applied already.
    log "instance $id is already contextualized; the new medium changes nothing"
    release
    return
  fi
  log "instance $id replaces ${ra_applied:-none}: applying it without a reboot"
  apply_instance
  release
}
