# `lab guest`: build, once, the lab's bootable guest into $LAB_CACHE/guest:
#   vmlinuz          Debian's kernel (linux-image package, unpacked with dpkg-deb)
#   initrd.img       busybox + the drivers below + an /init that switches to the root disk
#   debian-base.raw  raw ext4 image (mke2fs -d, no mount) holding a busybox system whose boot runs
#                    /etc/rc.local -> /usr/local/bin/contextualization, as the seed asks
#   rootfs/          the folder the base image was made from (tests copy it to make variants)
# Rebuilt only when the guest's files, this script or the kernel package change.

# Load order matters: each module after those it needs (LAB.md). virtio_balloon: a distribution kernel loads it for
# libvirt's default memballoon; without it a guest never takes a live memory change (virsh setmem --live), which the
# deployer's live update needs (deployer-demo, issue 21).
GUEST_MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_balloon virtio_blk failover
net_failover virtio_net scsi_common scsi_mod cdrom sr_mod libata libahci ahci ata_piix isofs nls_utf8 crc16
mbcache jbd2 crc32c_generic libcrc32c ext4"
GUEST_BASE_SIZE=64M

# The versioned package behind linux-image-amd64 (nothing when apt's lists are missing).
kernel_package() {
  { apt-cache depends linux-image-amd64 2>/dev/null || true; } |
    sed -n 's/.*Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -1
}

# The downloaded .deb of a package in the cache, if any.
cached_deb() { find "$LAB_CACHE" -maxdepth 1 -name "$1_*.deb" | sort | tail -1; }

guest_build() {
  local out=$LAB_CACHE/guest pkg deb key
  mkdir -p "$LAB_CACHE"
  pkg=$(kernel_package)
  if [ -z "$pkg" ]; then
    apt-get update -qq >/dev/null
    pkg=$(kernel_package)
  fi
  [ -n "$pkg" ] || die "cannot find the Debian kernel package (apt-cache depends linux-image-amd64)"
  key=$( (echo "$pkg $GUEST_MODULES $GUEST_BASE_SIZE"; cat "$LAB_HOME/lib/guest.sh";
          cd "$LAB_HOME/guest" && find . -type f | sort | xargs sha256sum; find . -perm -u+x -type f | sort) |
        sha256sum | cut -c1-16)
  if [ -f "$out/.key" ] && [ "$(cat "$out/.key")" = "$key" ]; then
    echo "$out"; return 0
  fi
  log "building the guest ($pkg) into $out"
  deb=$(cached_deb "$pkg")
  if [ -z "$deb" ]; then
    # As root, apt warns that _apt cannot write the cache folder and downloads anyway: harmless.
    (cd "$LAB_CACHE" && apt-get -q download "$pkg" >&2) || die "apt-get download $pkg failed"
    deb=$(cached_deb "$pkg")
    [ -n "$deb" ] || die "apt-get download $pkg left no .deb in $LAB_CACHE"
  fi
  local work; work=$(mktemp -d "$LAB_CACHE/build.XXXXXX")
  trap 'rm -rf "$work"' RETURN
  dpkg-deb -x "$deb" "$work/kernel"
  local kdir; kdir=$(find "$work/kernel/lib/modules" -mindepth 1 -maxdepth 1 -type d -print -quit)

  # initramfs
  mkdir -p "$work/initramfs/bin" "$work/initramfs/lib/modules"
  cp /bin/busybox "$work/initramfs/bin/busybox"
  cp "$LAB_HOME/guest/init" "$work/initramfs/init"
  local m f
  for m in $GUEST_MODULES; do
    f=$(find "$kdir" -name "$m.ko" -print -quit)
    if [ -z "$f" ]; then
      f=$(find "$kdir" -name "$m.ko.xz" -print -quit)
      [ -n "$f" ] || { log "kernel has no module $m (built in?)"; continue; }
      xz -dc "$f" >"$work/initramfs/lib/modules/$m.ko"
    else
      cp "$f" "$work/initramfs/lib/modules/$m.ko"
    fi
    echo "$m" >>"$work/initramfs/lib/modules/order"
  done
  (cd "$work/initramfs" && find . | sort | cpio -o -H newc --quiet -R 0:0 | gzip -9n) >"$work/initrd.img"

  # root file system of the base image
  local rootfs=$work/rootfs
  cp -a "$LAB_HOME/guest/rootfs" "$rootfs"
  mkdir -p "$rootfs"/{proc,sys,dev,run,tmp,mnt,root,sbin,usr/bin,usr/sbin,var/log,var/lib}
  mkdir -p "$rootfs"/etc/network/{if-pre-up.d,if-up.d,if-down.d,if-post-down.d}
  ln -sfn /run "$rootfs/var/run"
  cp /bin/busybox "$rootfs/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list-full); do
    [ -e "$rootfs/$applet" ] || [ -L "$rootfs/$applet" ] || ln -s /bin/busybox "$rootfs/$applet"
  done
  chmod 1777 "$rootfs/tmp"
  truncate -s "$GUEST_BASE_SIZE" "$work/debian-base.raw"
  mke2fs -q -F -t ext4 -L labroot -E root_owner=0:0 -d "$rootfs" "$work/debian-base.raw" \
    || die "mke2fs -d failed"

  rm -rf "$out.new"; mkdir -p "$out.new"
  cp "$work"/kernel/boot/vmlinuz-* "$out.new/vmlinuz"
  mv "$work/initrd.img" "$work/debian-base.raw" "$out.new/"
  mv "$rootfs" "$out.new/rootfs"
  echo "$key" >"$out.new/.key"
  rm -rf "$out"; mv "$out.new" "$out"
  echo "$out"
}
