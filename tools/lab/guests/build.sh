#!/usr/bin/env bash
# tools/lab/guests/build.sh: the lab's Debian 12 guests, built once per machine into $VMCTX_LAB_CACHE/guests
# (/var/cache/vmctx/lab/guests), beside the lab kernel they boot with; prints that folder. In it:
#   base/         debootstrap minbase + every kind's packages downloaded once (base.sh)
#   KIND/         each kind's root folder (kind.sh), for kinds.sh's GUESTS_KINDS
#   KIND.raw      each kind's base image, vmctx installed by `vmctx guest install` (image.sh)
#   cloud-init.raw  a stock cloud-init guest, nothing of vmctx in it (cloud-init.sh; keyed by its own files)
# Each level is keyed by a hash of what makes it: base by base.sh and kinds.sh; the root folders also by kind.sh
# and the report's unit; the images also by image.sh, the report and what `vmctx guest` installs. A level whose
# key holds is kept, so a second run only hashes (setup.sh calls it). Needs root, debootstrap, and apps/deployer built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
source "$here/kinds.sh"
cache=${VMCTX_LAB_CACHE:-/var/cache/vmctx/lab}/guests
log() { printf '[guests] %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { log "needs root (debootstrap, chroot)"; exit 1; }
if ! command -v debootstrap >/dev/null && [ ! -x /usr/sbin/debootstrap ]; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
mkdir -p "$cache"
# One build at a time (setup runs from several checkouts); the others wait and then find it done.
exec 9>"$cache/.lock"
flock 9

hash_of() { (cd "$here" && sha256sum "$@") | sha256sum | cut -c1-16; }
base_key=$(hash_of base.sh kinds.sh)
rootfs_key=$( (echo "$base_key"; hash_of kind.sh files/lab-report.service) | sha256sum | cut -c1-16)
image_key=$( (echo "$rootfs_key"; hash_of image.sh files/lab-report; node "$root/apps/deployer/bin/vmctx.js" guest script;
              node "$root/apps/deployer/bin/vmctx.js" guest install-script) | sha256sum | cut -c1-16)

# wait_all PID...: waits for each; fails when any failed.
wait_all() { local rc=0 p; for p in "$@"; do wait "$p" || rc=1; done; return $rc; }

if [ "$(cat "$cache/base.key" 2>/dev/null)" != "$base_key" ] || [ ! -d "$cache/base" ]; then
  rm -f "$cache/base.key"
  "$here/base.sh" "$cache/base.new"
  rm -rf "$cache/base"; mv "$cache/base.new" "$cache/base"
  echo "$base_key" >"$cache/base.key"
fi

pids=()
for kind in $GUESTS_KINDS; do
  if [ "$(cat "$cache/$kind.rootfs-key" 2>/dev/null)" != "$rootfs_key" ] || [ ! -d "$cache/$kind" ]; then
    rm -f "$cache/$kind.rootfs-key"
    ( "$here/kind.sh" "$kind" "$cache/base" "$cache/$kind.new" && rm -rf "$cache/$kind" &&
      mv "$cache/$kind.new" "$cache/$kind" && echo "$rootfs_key" >"$cache/$kind.rootfs-key" ) &
    pids+=($!)
  fi
done
wait_all "${pids[@]}"

pids=()
for kind in $GUESTS_KINDS; do
  if [ "$(cat "$cache/$kind.key" 2>/dev/null)" != "$image_key" ] || [ ! -f "$cache/$kind.raw" ]; then
    rm -f "$cache/$kind.key"
    log "image $kind.raw"
    ( "$here/image.sh" "$cache/$kind" "$cache/$kind.raw" && echo "$image_key" >"$cache/$kind.key" ) &
    pids+=($!)
  fi
done
wait_all "${pids[@]}"

# The cloud-init kind (cloud-init.sh): a debootstrap of its own with nothing of vmctx, so keyed apart from the
# kinds above (none of them rebuilds for it, nor it for vmctx's script).
cloud_key=$(hash_of kinds.sh cloud-init.sh files/lab-report files/lab-report-cloud-init.service)
if [ "$(cat "$cache/cloud-init.key" 2>/dev/null)" != "$cloud_key" ] || [ ! -f "$cache/cloud-init.raw" ]; then
  rm -f "$cache/cloud-init.key"
  log "image cloud-init.raw"
  "$here/cloud-init.sh" "$cache/cloud-init.raw"
  echo "$cloud_key" >"$cache/cloud-init.key"
fi
echo "$cache"
