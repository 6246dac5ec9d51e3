# shellcheck shell=sh disable=SC2154
# Mounting the context CD read-only (nosuid, nodev, noexec): where (/mnt, else a private folder), how (ISO 9660, or any file system for
# the CD found by its label), and unmounting it whatever happens (a trap). Part of contextualization.sh, after
# commands.sh; uses `root`, `state_dir` and `log`; sets `mnt`, `private` and `mounted`.

mnt=
private=
mounted=

release() {
  if [ -n "$mounted" ]; then
    cd / || :
    if umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null; then mounted=; else log "could not unmount $mnt"; fi
  fi
  if [ -n "$private" ] && [ -z "$mounted" ]; then rmdir "$mnt" 2>/dev/null; private=; fi
}
trap release EXIT
trap 'exit 0' HUP INT TERM

is_mounted() {
  [ -r "$root/proc/mounts" ] || return 1
  while read -r im_dev im_point _; do
    if [ "$im_point" = "$1" ] && [ -n "$im_dev" ]; then return 0; fi
  done <"$root/proc/mounts"
  return 1
}

# /mnt as the seed does when nothing is mounted there and it is empty, else a private folder.
pick_mount_point() {
  mnt=$root/mnt
  [ -d "$mnt" ] || mkdir "$mnt" 2>/dev/null
  if [ -d "$mnt" ] && ! is_mounted "$mnt" && [ -z "$(ls -A "$mnt" 2>/dev/null)" ]; then return 0; fi
  for pm_base in "$root/run" "$root/tmp" "$state_dir"; do
    [ -d "$pm_base" ] || continue
    if mnt=$(mktemp -d "$pm_base/vmctx-cd.XXXXXX" 2>/dev/null); then private=1; return 0; fi
    mnt=$pm_base/vmctx-cd.$$
    if mkdir "$mnt" 2>/dev/null; then private=1; return 0; fi
  done
  return 1
}

# The CD's mount options: read-only, and nothing on it is a set-id program, a device or executable as such
# (post-install and scripts/* run through their #! interpreter, which noexec does not stop).
cd_options=ro,nosuid,nodev,noexec

# mount_ro DEVICE [any]: ISO 9660 read-only; with "any", whatever file system mount recognizes (still read-only).
mount_ro() {
  if limited 30 mount -t iso9660 -o "$cd_options" "$1" "$mnt" >/dev/null 2>&1; then return 0; fi
  [ "${2:-}" = any ] && limited 30 mount -o "$cd_options" "$1" "$mnt" >/dev/null 2>&1
}
