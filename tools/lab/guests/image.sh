#!/usr/bin/env bash
# tools/lab/guests/image.sh ROOTFS OUT: a lab guest's base image: a copy of ROOTFS (kind.sh) with the lab's report
# (files/lab-report) and vmctx's contextualization put in by the repository's own `vmctx guest install` (as an
# operator prepares a base image), written as a raw ext4 image with `mke2fs -d` (no mount), as tools/demo/vmctx-base.sh does for the busybox guest.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
source "$here/kinds.sh"
rootfs=${1:?usage: image.sh ROOTFS OUT} out=${2:?}
work=$(mktemp -d "${out%/*}/image.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -a "$rootfs" "$work/rootfs"
install -m 755 "$here/files/lab-report" "$work/rootfs/usr/local/sbin/lab-report"
node "$root/apps/deployer/bin/vmctx.js" guest install "$work/rootfs" 2>&1 | sed "s|^|[guests] ${out##*/}: |" >&2
truncate -s "$GUESTS_SIZE" "$work/image.raw"
mke2fs -q -F -t ext4 -L distroroot -E root_owner=0:0 -d "$work/rootfs" "$work/image.raw"
mv -f "$work/image.raw" "$out"
