#!/usr/bin/env bash
# tools/lab/guests/base.sh OUT: the shared base of the lab's Debian guests: debootstrap --variant=minbase of
# Debian 12 from the machine's mirror, plus every package any kind needs, downloaded once into
# OUT/var/cache/apt/archives (apt-get --download-only in two passes: sysvinit-core and systemd-sysv conflict).
# Each kind is then installed from there without the network (kind.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/kinds.sh"
out=${1:?usage: base.sh OUT}
log() { printf '[guests] %s\n' "$*" >&2; }

rm -rf "$out"
log "debootstrap --variant=minbase $GUESTS_SUITE ($GUESTS_MIRROR) into $out"
debootstrap --variant=minbase --include="$GUESTS_COMMON" "$GUESTS_SUITE" "$out" "$GUESTS_MIRROR" >"$out.log" 2>&1 \
  || { tail -20 "$out.log" >&2; exit 1; }
# Nothing started inside the chroot while packages install.
printf '#!/bin/sh\nexit 101\n' >"$out/usr/sbin/policy-rc.d"
chmod 755 "$out/usr/sbin/policy-rc.d"
sysv=() systemd=()
for kind in $GUESTS_KINDS; do
  for p in $(kind_packages "$kind"); do
    case $kind in sysv-*) sysv+=("$p") ;; *) systemd+=("$p") ;; esac
  done
done
for set in "${systemd[*]}" "${sysv[*]}"; do
  log "downloading $set"
  # shellcheck disable=SC2086
  chroot "$out" env DEBIAN_FRONTEND=noninteractive apt-get install -qq -y --download-only --no-install-recommends $set >&2
done
rm -f "$out.log"
