/**
 * Reads of a libvirt domain's XML that the lints (lint.ts) and the native-template repairs (native.ts) both make:
 * the domain's architecture and machine type, a disk target's bus, the targets in use, a disk's source path.
 * Generic element and attribute access (elements, firstElement, getAttr, childAttr) is xml-tree.ts's.
 */
import { childAttr, elements, firstElement, getAttr, type XmlElement } from './xml-tree.js';

/** `<os><type arch=...>`; undefined when the domain does not say (libvirt then takes the host's, x86_64 here). */
export function domainArch(root: XmlElement): string | undefined {
  const os = firstElement(root, 'os');
  return os && childAttr(os, 'type', 'arch');
}

/** `<os><type machine=...>`; undefined when the domain does not say (QEMU's default machine for its arch). */
export function domainMachine(root: XmlElement): string | undefined {
  const os = firstElement(root, 'os');
  return os && childAttr(os, 'type', 'machine');
}

/** The bus libvirt derives from a target name without bus= (virDomainDiskDefAssignAddress: hd, vd, sd, fd). */
export function busFromDev(dev: string | undefined): string | undefined {
  if (dev === undefined) return undefined;
  return dev.startsWith('hd') ? 'ide' : dev.startsWith('vd') ? 'virtio' : dev.startsWith('sd') ? 'scsi' : dev.startsWith('fd') ? 'fdc' : undefined;
}

/** A disk `<target>`'s bus: its bus= or, without one, what libvirt derives from its dev= (busFromDev). */
export function targetBus(target: XmlElement): string | undefined {
  return getAttr(target, 'bus') ?? busFromDev(getAttr(target, 'dev'));
}

/** The target dev= of every disk under `<devices>`, in order (those without one left out). */
export function diskTargets(devices: XmlElement): string[] {
  return elements(devices, 'disk').flatMap((disk) => {
    const dev = childAttr(disk, 'target', 'dev');
    return dev ? [dev] : [];
  });
}

/** A disk's `<source file=...>`, or `<source dev=...>` for a block disk. */
export function diskSourcePath(disk: XmlElement): string | undefined {
  const source = firstElement(disk, 'source');
  return source ? (getAttr(source, 'file') ?? getAttr(source, 'dev')) : undefined;
}
