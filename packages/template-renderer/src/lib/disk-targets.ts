/**
 * Where the context ISO goes on a machine, so that libvirt accepts it and the guest finds it.
 *
 * libvirt refuses a cdrom on virtio ("disk type of 'vdb' does not support ejectable media", since 5.1).
 * A cdrom goes on the machine's own disk controller: AHCI/sata on q35 (which has no ide), ide on i440fx
 * ("pc", libvirt's default for x86_64), scsi on aarch64 "virt". The guest sees any of them as /dev/sr0.
 */
import { TemplateError } from './errors.js';

export type DiskBus = 'virtio' | 'sata' | 'scsi' | 'ide' | 'usb';

/** True for the q35 machine family (`q35`, `pc-q35-7.2`, ...). */
export function isQ35(machine: string | undefined): boolean {
  return machine !== undefined && /(^|-)q35(-|$)/.test(machine);
}

/** The bus a cdrom uses on this machine. */
export function cdromBus(arch: string | undefined, machine: string | undefined): DiskBus {
  if (arch === 'aarch64') return 'scsi';
  return isQ35(machine) ? 'sata' : 'ide';
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
