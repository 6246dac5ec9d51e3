#!/usr/bin/env bash
# tools/lab/guests/kind.sh KIND BASE OUT: one lab guest's root folder: a copy of BASE (base.sh) with KIND's
# packages installed from BASE's downloaded archives (no network), its network set up as such an image ships,
# how the lab's report is started, and made small. vmctx is not in it yet: image.sh installs it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/kinds.sh"
kind=${1:?usage: kind.sh KIND BASE OUT} base=${2:?} out=${3:?}
packages=$(kind_packages "$kind") || { echo "unknown guest kind $kind" >&2; exit 2; }
log() { printf '[guests] %s\n' "$*" >&2; }

rm -rf "$out"
cp -a "$base" "$out"
log "$kind: installing $packages"
# /proc for the maintainer scripts, in a mount namespace of its own (nothing is left mounted).
# shellcheck disable=SC2086
unshare -m --propagation private sh -c 'mount -t proc proc "$1/proc" && shift && exec chroot "$@"' x "$out" "$out" \
  env DEBIAN_FRONTEND=noninteractive apt-get install -qq -y --no-download --no-install-recommends $packages >"$out.log" 2>&1 \
  || { tail -30 "$out.log" >&2; exit 1; }
rm -f "$out.log"

echo "distro-$kind" >"$out/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdistro-%s\n' "$kind" >"$out/etc/hosts"
printf '# The lab boots the root disk from its own initramfs (tools/lab/guest/init).\n' >"$out/etc/fstab"
# Each VM makes its own machine id at first boot (a shared one gives every networkd guest the same DHCP client id).
: >"$out/etc/machine-id"
rm -f "$out/var/lib/dbus/machine-id"
# No name server of the machine that built it (debootstrap copies the host's resolv.conf).
: >"$out/etc/resolv.conf"
# The root account without a password on the serial console only (a lab guest, never reachable from outside).
chroot "$out" passwd -d root >/dev/null

case $kind in
  sysv-ifupdown)
    # The seed's setting: a DHCP stanza that nothing brings up at boot (the seed's rc.local did "ifup eth0").
    printf 'auto lo\niface lo inet loopback\n\niface %s inet dhcp\n' "$GUESTS_IFACE" >"$out/etc/network/interfaces"
    ;;
  systemd-ifupdown)
    # As the Debian installer leaves it: the interface up with DHCP at boot, before rc.local.
    printf 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nallow-hotplug %s\niface %s inet dhcp\n' \
      "$GUESTS_IFACE" "$GUESTS_IFACE" >"$out/etc/network/interfaces"
    ;;
  systemd-networkd)
    # networkd enabled, no .network file: nothing configures the NIC but vmctx.
    chroot "$out" systemctl enable systemd-networkd.service >/dev/null 2>&1
    ;;
  systemd-nm) ;; # NetworkManager as the package leaves it (its own "Wired connection 1" DHCP profile)
esac
# rc.local: the sysvinit image runs it (initscripts' rc.local), so does the systemd + ifupdown one (rc-local.service);
# the networkd and NetworkManager images have none, as Debian 12 ships, and get vmctx's unit.
case $kind in
  *-ifupdown) printf '#!/bin/sh -e\n#\n# rc.local\n#\n# This script is executed at the end of each multiuser runlevel.\n\nexit 0\n' >"$out/etc/rc.local"
    chmod 755 "$out/etc/rc.local" ;;
esac

# The lab's report on the serial console once contextualization is over: how it is started here, the script itself
# (files/lab-report) by image.sh.
case $kind in
  sysv-*)
    # After runlevel 2 is done (rc.local included): inittab's entries run in order, "wait" ones to their end.
    sed -i '/^l2:2:wait:/a lr:2345:wait:/usr/local/sbin/lab-report' "$out/etc/inittab"
    grep -q '^lr:' "$out/etc/inittab" || { echo "no l2 line in inittab" >&2; exit 1; }
    ;;
  *)
    install -m 644 "$here/files/lab-report.service" "$out/etc/systemd/system/lab-report.service"
    chroot "$out" systemctl enable lab-report.service >/dev/null 2>&1
    # Nothing the lab needs, and each costs boot time under TCG (a unit the kind lacks is skipped). No getty: its
    # login prompt would cut the report's lines on the serial console.
    for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
      systemd-tmpfiles-clean.timer getty@tty1.service serial-getty@ttyS0.service kmod-static-nodes.service \
      systemd-modules-load.service sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount \
      dev-mqueue.mount systemd-pstore.service proc-sys-fs-binfmt_misc.automount systemd-binfmt.service \
      systemd-update-utmp.service systemd-update-utmp-runlevel.service systemd-logind.service dpkg-db-backup.timer \
      modprobe@configfs.service modprobe@dm_mod.service modprobe@fuse.service modprobe@loop.service \
      modprobe@drm.service modprobe@efi_pstore.service systemd-network-generator.service systemd-journal-flush.service \
      systemd-random-seed.service; do
      chroot "$out" systemctl mask "$unit" >/dev/null 2>&1 || :
    done
    ;;
esac

# Small: no documentation, no apt archives or lists, no policy-rc.d (the guest starts its services).
rm -f "$out/usr/sbin/policy-rc.d"
rm -rf "$out"/var/cache/apt/archives/*.deb "$out"/var/cache/apt/*.bin "$out"/var/lib/apt/lists/*_Packages \
  "$out"/usr/share/doc/* "$out"/usr/share/man/* "$out"/usr/share/info/* "$out"/usr/share/locale/* "$out"/var/log/*.log
