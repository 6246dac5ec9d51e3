# shellcheck shell=sh disable=SC2154,SC2034
# Finding the context CD: by volume label (blkid, findfs, /dev/disk/by-label), else the first of `devices` that
# holds an ISO 9660 file system with a post-install, an instance-id or a NoCloud meta-data (so a data disk is never
# touched). Part of contextualization.sh, after mount.sh; uses `root`, `label` and `devices`; sets `dev`, `mounted`,
# `found_label` (the label it was found by, if so) and `reason` (why there is no CD) for the log.

dev=
reason=
found_label=

is_block() { [ -b "$1" ] || { [ -n "$root" ] && [ -f "$1" ]; }; }

# The device that carries the label: util-linux blkid -L, any blkid's listing, busybox findfs, udev's link.
by_label() {
  bl_dev=
  if has blkid; then
    bl_dev=$(limited 15 blkid -L "$label" 2>/dev/null) || bl_dev=
    if [ -z "$bl_dev" ]; then
      bl_dev=$(limited 15 blkid 2>/dev/null | while IFS= read -r bl_line; do
        case $bl_line in *" LABEL=\"$label\""*) printf '%s\n' "${bl_line%%:*}"; break ;; esac
      done)
    fi
  fi
  if [ -z "$bl_dev" ] && has findfs; then bl_dev=$(limited 15 findfs "LABEL=$label" 2>/dev/null) || bl_dev=; fi
  if [ -z "$bl_dev" ] && [ -e "$root/dev/disk/by-label/$label" ]; then bl_dev=$root/dev/disk/by-label/$label; fi
  printf '%s' "$bl_dev" | head -n 1
}

find_context() {
  reason='no CD drive'
  dev=$(by_label)
  if [ -n "$dev" ]; then
    if mount_ro "$dev" any; then mounted=1; found_label=$label; log "context CD $dev (label $label) mounted on $mnt"; return 0; fi
    reason="$dev (label $label) does not mount"
    log "$reason; trying the usual devices"
  fi
  for fc_name in $devices; do
    fc_dev=$root/dev/$fc_name
    is_block "$fc_dev" || continue
    [ "$fc_dev" = "$dev" ] && continue
    if ! mount_ro "$fc_dev"; then
      reason="no medium or no ISO 9660 file system in $fc_dev"
      continue
    fi
    if [ -f "$mnt/post-install" ] || [ -f "$mnt/instance-id" ] || [ -f "$mnt/meta-data" ]; then
      dev=$fc_dev
      mounted=1
      log "context CD $dev mounted on $mnt"
      return 0
    fi
    reason="$fc_dev has no post-install"
    umount "$mnt" 2>/dev/null
  done
  return 1
}
