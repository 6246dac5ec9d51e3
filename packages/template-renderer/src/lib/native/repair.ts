/**
 * Repairs: what libvirt would refuse or silently misread in an otherwise good template (a host CPU without KVM, a
 * `sync` clock, a cdrom on a bus the machine lacks), fixed in place and each reported as a warning.
 */
import { contextPlacement, freeTarget, hasBuiltinIde } from '../disk-targets.js';
import { diskTargets, domainArch, domainMachine, targetBus } from '../domain-xml.js';
import { elements, firstElement, getAttr, insertElement, newElement, removeAttr, removeElement, setAttr, type XmlElement } from '../xml-tree.js';
import { ensureScsiController } from './scsi-controller.js';
import type { TemplateWarning } from './types.js';

/**
 * Fixes what libvirt would refuse or silently misread in an otherwise good template. Edits `root` in place.
 * `domainType` is the type the domain will have (when the rewrite changes it).
 */
export function repairTemplate(root: XmlElement, isoMode: 'cdrom' | 'disk' = 'cdrom', domainType?: 'kvm' | 'qemu'): TemplateWarning[] {
  const warnings: TemplateWarning[] = [];
  const cpu = firstElement(root, 'cpu');
  if (cpu && (domainType ?? getAttr(root, 'type')) === 'qemu' && getAttr(cpu, 'mode') === 'host-passthrough') {
    setAttr(cpu, 'mode', 'maximum');
    warnings.push({
      code: 'cpu-mode-repaired',
      path: '/domain/cpu',
      message: `<cpu mode='host-passthrough'> made mode='maximum': without KVM (domain type 'qemu') there is no host CPU to pass through and libvirt refuses to start it ("unsupported configuration: CPU mode 'host-passthrough' for ${domainArch(root) ?? 'x86_64'} qemu domain on x86_64 host is not supported by hypervisor")`,
    });
  }
  const clock = firstElement(root, 'clock');
  const sync = clock && getAttr(clock, 'sync');
  if (clock && sync !== undefined) {
    const offset = getAttr(clock, 'offset');
    removeAttr(clock, 'sync');
    if (offset === undefined) setAttr(clock, 'offset', sync);
    warnings.push({
      code: 'clock-sync-repaired',
      path: '/domain/clock',
      message:
        offset === undefined
          ? `<clock sync='${sync}'> replaced by <clock offset='${sync}'>: libvirt has no 'sync' attribute (virt-xml-validate refuses it) and would ignore it, keeping the guest clock in UTC`
          : `<clock sync='${sync}'> removed: libvirt has no 'sync' attribute and the clock already has offset='${offset}'`,
    });
  }
  const devices = firstElement(root, 'devices');
  if (!devices) return warnings;
  elements(devices, 'disk').forEach((disk, i) => {
    const target = firstElement(disk, 'target');
    if (getAttr(disk, 'device') !== 'cdrom' || !target) return;
    const path = `/domain/devices/disk[${i + 1}]`;
    const oldDev = getAttr(target, 'dev') ?? '?';
    const oldBus = targetBus(target);
    const machine = domainMachine(root) ?? 'default';
    let refused: string;
    let code: TemplateWarning['code'];
    if (oldBus === 'virtio') {
      code = 'cdrom-on-virtio-repaired';
      refused = `libvirt refuses a cdrom on bus='virtio' ("unsupported configuration: disk type of '${oldDev}' does not support ejectable media")`;
    } else if (oldBus === 'ide' && !hasBuiltinIde(domainArch(root), domainMachine(root))) {
      code = 'cdrom-bus-repaired';
      refused = `this ${domainArch(root) ?? 'x86_64'} ${machine} machine has no IDE and libvirt refuses the cdrom ("${IDE_REFUSED}")`;
    } else {
      return;
    }
    // The template's address belongs to the old bus (a drive address with an ide channel, a pci slot).
    for (const address of elements(disk, 'address')) removeElement(disk, address);
    const placement = contextPlacement(domainArch(root), domainMachine(root));
    if (isoMode === 'disk' || placement.device === 'disk') {
      const dev = oldBus === 'virtio' ? oldDev : freeTarget('virtio', diskTargets(devices).filter((d) => d !== oldDev));
      setAttr(disk, 'device', 'disk');
      setAttr(target, 'dev', dev);
      setAttr(target, 'bus', 'virtio');
      if (!firstElement(disk, 'readonly')) insertElement(disk, newElement('readonly'), target);
      warnings.push({
        code,
        path,
        message: `${refused}; made it a read-only virtio disk ${dev} instead (the guest sees /dev/${dev})${isoMode === 'disk' ? '' : `, since this ${machine} machine has no bus for a cdrom`}`,
      });
      return;
    }
    const bus = placement.bus;
    const used = diskTargets(devices).filter((d) => d !== oldDev);
    const dev = freeTarget(bus, used);
    setAttr(target, 'dev', dev);
    setAttr(target, 'bus', bus);
    warnings.push({
      code,
      path,
      message: `${refused}; made it cdrom ${dev} on bus '${bus}' instead, the bus this ${domainMachine(root) ?? 'default'} machine has (the guest sees /dev/sr0)`,
    });
    if (bus === 'scsi') warnings.push(...ensureScsiController(devices));
  });
  return warnings;
}

/** What libvirt 9.0 says of a disk on bus='ide' where the machine has no IDE (qemuValidateDomainDeviceDefControllerIDE). */
export const IDE_REFUSED = 'unsupported configuration: IDE controllers are unsupported for this QEMU binary or machine type';
