#!/usr/bin/env bash
# tools/lab/guests/cloud-init.sh OUT: the lab's `cloud-init` guest kind as a raw ext4 base image (OUT), its root
# built the way Debian builds
# its genericcloud images (netplan.io, systemd-networkd, systemd-resolved, cloud-init, openssh-server) and with
# nothing of vmctx: image.sh is not run on it, the stock image is what vmctx's CD must configure (issue 20).
# Not a kind of kinds.sh: it needs none of their packages and is its own debootstrap (LAB.md "A Debian 12
# cloud-init guest (verified)", ~70 s), keyed by this file alone, so adding it rebuilt none of the other kinds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/kinds.sh"
image=${1:?usage: cloud-init.sh OUT}
work=$(mktemp -d "${image%/*}/cloud-init.XXXXXX")
trap 'rm -rf "$work"' EXIT
out=$work/rootfs
log() { printf '[guests] %s\n' "$*" >&2; }
# python3-cffi-backend by name: debootstrap does not resolve the virtual python3-cffi-backend-api-* that
# python3-cryptography (cloud-init's) depends on, and cannot configure cloud-init without it (LAB.md).
packages=systemd,systemd-sysv,systemd-resolved,dbus,udev,iproute2,netplan.io,python3-cffi-backend,cloud-init,openssh-server

log "cloud-init: debootstrap --variant=minbase $GUESTS_SUITE with $packages"
debootstrap --variant=minbase --include="$packages" "$GUESTS_SUITE" "$out" "$GUESTS_MIRROR" >"$out.log" 2>&1 \
  || { tail -30 "$out.log" >&2; exit 1; }
rm -f "$out.log"

# As genericcloud ships: networkd and resolved on, resolv.conf resolved's, no network configured (cloud-init
# writes it through netplan), no SSH host keys and no /var/lib/cloud (made at first boot), an empty machine id.
chroot "$out" systemctl enable systemd-networkd.service systemd-resolved.service >/dev/null 2>&1
ln -sf /run/systemd/resolve/resolv.conf "$out/etc/resolv.conf"
rm -f "$out"/etc/ssh/ssh_host_* "$out"/etc/netplan/*.yaml
rm -rf "$out/var/lib/cloud"
: >"$out/etc/machine-id"
rm -f "$out/var/lib/dbus/machine-id"
echo "distro-cloud-init" >"$out/etc/hostname"
printf '127.0.0.1\tlocalhost\n' >"$out/etc/hosts"
printf '# The lab boots the root disk from its own initramfs (tools/lab/guest/init).\n' >"$out/etc/fstab"
chroot "$out" passwd -d root >/dev/null

# The lab's report once cloud-init is done: wanted by cloud-init.target (cloud-final.service is ordered after
# multi-user.target, and a unit of multi-user.target ordered after it makes a cycle systemd breaks; LAB.md).
install -m 755 "$here/files/lab-report" "$out/usr/local/sbin/lab-report"
install -m 644 "$here/files/lab-report-cloud-init.service" "$out/etc/systemd/system/lab-report.service"
chroot "$out" systemctl enable lab-report.service >/dev/null 2>&1
# What the lab does not need and costs boot time under TCG (as kind.sh); no getty on the report's console.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
  systemd-tmpfiles-clean.timer getty@tty1.service serial-getty@ttyS0.service kmod-static-nodes.service \
  systemd-modules-load.service sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount \
  dev-mqueue.mount systemd-pstore.service proc-sys-fs-binfmt_misc.automount systemd-binfmt.service \
  systemd-update-utmp.service systemd-update-utmp-runlevel.service systemd-logind.service \
  systemd-network-generator.service systemd-journal-flush.service dpkg-db-backup.timer modprobe@configfs.service modprobe@dm_mod.service modprobe@fuse.service \
  modprobe@loop.service modprobe@drm.service modprobe@efi_pstore.service systemd-random-seed.service; do
  chroot "$out" systemctl mask "$unit" >/dev/null 2>&1 || :
done
rm -rf "$out"/var/cache/apt/archives/*.deb "$out"/var/cache/apt/*.bin "$out"/var/lib/apt/lists/*_Packages \
  "$out"/usr/share/doc/* "$out"/usr/share/man/* "$out"/usr/share/info/* "$out"/usr/share/locale/* "$out"/var/log/*.log

# As image.sh writes the other kinds, without `vmctx guest install`.
truncate -s "$GUESTS_SIZE" "$work/image.raw"
mke2fs -q -F -t ext4 -L distroroot -E root_owner=0:0 -d "$out" "$work/image.raw"
mv -f "$work/image.raw" "$image"
