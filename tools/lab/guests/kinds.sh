# The lab's Debian 12 guests (sourced by the scripts beside it): each kind, the packages it adds to debootstrap's
# minbase, and how its network is set up before vmctx is installed. Changing this file rebuilds the guests.
GUESTS_SUITE=bookworm
GUESTS_MIRROR=http://deb.debian.org/debian
# Every kind has these (ip; udev names the interfaces as on a real install: ens2 for the lab's NIC).
GUESTS_COMMON=iproute2,udev
GUESTS_KINDS="sysv-ifupdown systemd-ifupdown systemd-networkd systemd-nm"
# The interface name udev gives the lab's virtio NIC (PCI slot 2 of libvirt's i440fx layout).
GUESTS_IFACE=ens2
GUESTS_SIZE=768M

# kind_packages KIND: what KIND installs on top of the base (apt-get, no recommends).
kind_packages() {
  case $1 in
    sysv-ifupdown) echo sysvinit-core ifupdown isc-dhcp-client ;;
    systemd-ifupdown) echo systemd-sysv ifupdown isc-dhcp-client ;;
    systemd-networkd) echo systemd-sysv dbus ;;
    systemd-nm) echo systemd-sysv dbus network-manager ;;
    *) return 1 ;;
  esac
}
