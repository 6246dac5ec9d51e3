#!/usr/bin/env bash
# Everything `npm test` and `npm run demo` need on a fresh Debian 12 machine, as root.
# Idempotent, and quick when already done: each step checks before it acts.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
log() { printf '[setup] %s\n' "$*" >&2; }

# Debian packages (LAB.md lists what was enough; the rest are the readers and linters the tests use).
packages=(
  qemu-system-x86 qemu-utils genisoimage xorriso openssh-server openssh-client busybox-static
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients dnsmasq-base iproute2 socat cpio
  iputils-ping e2fsprogs shellcheck dash hyperfine time procps libxml2-utils libarchive-tools 7zip python3-pycdlib fish tcsh csh zsh
  cloud-init
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  [ "$(id -u)" = 0 ] || { log "missing Debian packages (${missing[*]}); run as root"; exit 1; }
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node dependencies: `npm ci` when the lock file changed since the last install.
stamp=node_modules/.vmctx-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi

# Build (Nx caches it, so this is quick when nothing changed).
log "build"
npx nx run-many -t build --outputStyle=static >/dev/null

# The lab's guest: kernel, initramfs and base image, built once into the cache.
if [ "$(id -u)" = 0 ] && [ -x tools/lab/lab ]; then
  tools/lab/lab guest >/dev/null
fi
if [ "$(id -u)" = 0 ]; then tools/lab/guests/build.sh >/dev/null; fi # Debian 12 lab guests: built once, then a hash check
# libvirt 9.0's test domains, which test/template-renderer-corpus.tools.spec.ts imports (once per machine).
if [ "$(id -u)" = 0 ]; then
  tools/setup/libvirt-corpus.sh
fi
log "ready"
