#!/usr/bin/env bash
# libvirt 9.0's own test domains (tests/qemuxml2argvdata: *.xml, the expected errors *.err, and the test driver
# qemuxml2argvtest.c) into a cache folder, for test/template-renderer-corpus.tools.spec.ts. They are libvirt's
# (LGPL) and large: fetched from Debian's source package, never committed.
# Idempotent, and quick when done: a stamp file says the folder is complete.
# Usage: libvirt-corpus.sh [DEST]   (default /var/cache/vmctx/libvirt-corpus)
set -euo pipefail
dest=${1:-/var/cache/vmctx/libvirt-corpus}
version=9.0.0
stamp="$dest/.complete-$version"
[ -f "$stamp" ] && exit 0
log() { printf '[libvirt-corpus] %s\n' "$*" >&2; }

# apt-get source needs a deb-src line; Debian 12's sources are in deb822 files or sources.list.
if ! grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  [ "$(id -u)" = 0 ] || { log "no deb-src line in /etc/apt, and not root to add one"; exit 1; }
  log "adding deb-src for bookworm main"
  echo 'deb-src http://deb.debian.org/debian bookworm main' >/etc/apt/sources.list.d/deb-src.list
  apt-get update -qq
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get source --download-only -qq libvirt >/dev/null 2>&1) || {
  apt-get update -qq
  (cd "$work" && apt-get source --download-only -qq libvirt >/dev/null)
}
orig="$work/libvirt_$version.orig.tar.xz"
[ -f "$orig" ] || { log "apt-get source did not give $orig"; exit 1; }
tar -xJf "$orig" -C "$work" --wildcards \
  "libvirt-$version/tests/qemuxml2argvdata/*.xml" "libvirt-$version/tests/qemuxml2argvdata/*.err" "libvirt-$version/tests/qemuxml2argvtest.c"
mkdir -p "$work/out"
mv "$work/libvirt-$version/tests/qemuxml2argvdata" "$work/out/qemuxml2argvdata"
mv "$work/libvirt-$version/tests/qemuxml2argvtest.c" "$work/out/"
# Replace the folder whole, so that a half-written one is never taken for complete.
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.tmp" && mv "$work/out" "$dest.tmp"
rm -rf "$dest" && mv "$dest.tmp" "$dest"
touch "$stamp"
domains=("$dest"/qemuxml2argvdata/*.xml)
log "${#domains[@]} domains in $dest"
