#!/usr/bin/env bash
# The demo's base image: the lab's busybox guest with vmctx's contextualization put in by `vmctx guest install`
# (as an operator prepares a real base image), written as a raw ext4 image with `mke2fs -d` (no mount).
# Rebuilt only when the lab guest or the installed script changed. Prints the image's path.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${VMCTX_DEMO_CACHE:-/var/cache/vmctx/demo}
guest=${VMCTX_LAB_CACHE:-/var/cache/vmctx/lab}/guest
vmctx="node $root/apps/deployer/bin/vmctx.js"
mkdir -p "$out"
key=$( (sha256sum "$guest/debian-base.raw" | cut -d' ' -f1; $vmctx guest script; $vmctx guest install-script) | sha256sum | cut -d' ' -f1)
if [ -f "$out/vmctx-base.raw" ] && [ "$(cat "$out/vmctx-base.key" 2>/dev/null)" = "$key" ]; then
  echo "$out/vmctx-base.raw"
  exit 0
fi
work=$(mktemp -d "$out/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -a "$guest/rootfs" "$work/rootfs"
$vmctx guest install "$work/rootfs" >&2
truncate -s 64M "$work/vmctx-base.raw"
mke2fs -q -F -t ext4 -E root_owner=0:0 -d "$work/rootfs" "$work/vmctx-base.raw"
mv -f "$work/vmctx-base.raw" "$out/vmctx-base.raw"
echo "$key" >"$out/vmctx-base.key"
echo "$out/vmctx-base.raw"
