/**
 * Where the context ISO goes on a machine, so that libvirt accepts it and the guest finds it.
 *
 * libvirt refuses a cdrom on virtio ("disk type of 'vdb' does not support ejectable media", since 5.1), and an
 * IDE disk on a machine without a built-in IDE controller ("IDE controllers are unsupported for this QEMU binary
 * or machine type": libvirt 9.0, qemuDomainMachineHasBuiltinIDE in src/qemu/qemu_domain.c lists i440fx, malta,
 * sun4u and g3beige). So a cdrom goes on the machine's own disk controller: AHCI/sata on q35, ide on those four,
 * scsi (with a virtio-scsi controller) on the virt-like machines (aarch64/armv7l virt, s390x ccw, ppc64 pseries,
 * riscv virt), sata on other x86 PCI machines. Where no cdrom bus fits (microvm, isapc, boards without one), the ISO is a
 * read-only virtio disk. The guest sees a cdrom as /dev/sr0, the disk as /dev/vdX.
 */
import { TemplateError } from './errors.js';

export type DiskBus = 'virtio' | 'sata' | 'scsi' | 'ide' | 'usb';

/** How the context ISO is attached on a machine: a cdrom on a bus it has (scsi needs a controller), or a read-only virtio disk. */
export type ContextPlacement = { device: 'cdrom'; bus: 'ide' | 'sata' | 'scsi' } | { device: 'disk'; bus: 'virtio' };

/** True for the q35 machine family (`q35`, `pc-q35-7.2`, ...). */
export function isQ35(machine: string | undefined): boolean {
  return machine !== undefined && /(^|-)q35(-|$)/.test(machine);
}

function isX86(arch: string | undefined): boolean {
  return arch === undefined || arch === 'x86_64' || arch === 'i686';
}

/** libvirt's qemuDomainMachineIsI440FX; no machine on x86 is libvirt's default, `pc`. */
function isI440fx(arch: string | undefined, machine: string | undefined): boolean {
  if (!isX86(arch)) return false;
  return machine === undefined || machine === 'pc' || /^(pc-0\.|pc-1\.|pc-i440fx-|rhel)/.test(machine);
}

/** libvirt's qemuDomainMachineHasBuiltinIDE (9.0): the machines where a disk on bus='ide' is accepted. */
export function hasBuiltinIde(arch: string | undefined, machine: string | undefined): boolean {
  if (isI440fx(arch, machine)) return true;
  // QEMU's default machine where the template names none: malta (mips), sun4u (sparc64), g3beige (ppc).
  const m = machine ?? ({ mips: 'malta', mipsel: 'malta', mips64: 'malta', mips64el: 'malta', sparc64: 'sun4u', ppc: 'g3beige' } as Record<string, string>)[arch ?? ''];
  return m === 'malta' || m === 'sun4u' || m === 'g3beige';
}

/** Machines with PCI (or CCW) where a virtio-scsi controller carries a cdrom. */
function takesVirtioScsi(arch: string | undefined, machine: string | undefined): boolean {
  switch (arch) {
    case 'aarch64':
    case 'armv7l':
    case 'riscv32':
    case 'riscv64':
      return machine === undefined || /^virt(-|$)/.test(machine);
    case 's390x':
      return machine === undefined || machine.startsWith('s390-ccw-virtio');
    case 'ppc64':
    case 'ppc64le':
      return machine === undefined || machine.startsWith('pseries');
    default:
      return false;
  }
}

/** Where the context ISO goes on this machine (see the module comment). */
export function contextPlacement(arch: string | undefined, machine: string | undefined): ContextPlacement {
  if (isX86(arch) && isQ35(machine)) return { device: 'cdrom', bus: 'sata' };
  if (hasBuiltinIde(arch, machine)) return { device: 'cdrom', bus: 'ide' };
  if (takesVirtioScsi(arch, machine)) return { device: 'cdrom', bus: 'scsi' };
  // Other x86 PCI machines take an AHCI controller (libvirt adds one for a sata disk); microvm and isapc have no PCI.
  if (isX86(arch) && machine !== 'microvm' && machine !== 'isapc') return { device: 'cdrom', bus: 'sata' };
  return { device: 'disk', bus: 'virtio' };
}

/** The bus the context ISO uses on this machine; `virtio` means a read-only disk, not a cdrom (see contextPlacement). */
export function cdromBus(arch: string | undefined, machine: string | undefined): DiskBus {
  return contextPlacement(arch, machine).bus;
}

/** The device name prefix libvirt uses per bus (sata, scsi and usb share `sd`). */
export function devPrefix(bus: DiskBus): string {
  switch (bus) {
    case 'virtio':
      return 'vd';
    case 'ide':
      return 'hd';
    default:
      return 'sd';
  }
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/**
 * The first target name on `bus` that `used` does not hold. On ide, `hdc` (secondary master) comes first,
 * as Snooze attached its context CD: hda/hdb stay free for disks.
 */
export function freeTarget(bus: DiskBus, used: Iterable<string>): string {
  const taken = new Set(used);
  const prefix = devPrefix(bus);
  // ide has two channels of two units: hda..hdd only.
  const candidates = bus === 'ide' ? ['hdc', 'hdd', 'hda', 'hdb'] : [...LETTERS].map((l) => `${prefix}${l}`);
  const free = candidates.find((c) => !taken.has(c));
  if (!free) throw new TemplateError('TEMPLATE_INVALID_SPEC', `no free ${bus} disk target left for the context ISO (all of ${candidates.join(', ')} are used)`);
  return free;
}
