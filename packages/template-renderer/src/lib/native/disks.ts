/**
 * The rewrite of a template's disks: each disk pointed at the VM's image (a `.qcow2` one made the VM's overlay),
 * and the context ISO set on the template's cdrom, removed, or attached where the template has none.
 */
import { contextPlacement, freeTarget, type DiskBus } from '../disk-targets.js';
import { diskTargets, domainArch, domainMachine } from '../domain-xml.js';
import { CONTEXT_DISK_ALIAS } from '../render.js';
import {
  childIndent,
  elements,
  firstElement,
  getAttr,
  insertElement,
  insertElementFirst,
  newElement,
  removeAttr,
  removeElement,
  setAttr,
  type XmlElement,
} from '../xml-tree.js';
import { ensureScsiController } from './scsi-controller.js';
import { fail, type NativeRewrite, type TemplateWarning } from './types.js';

/** The context ISO's disk: the one with our alias, else the first cdrom. */
export function findIsoDisk(devices: XmlElement): XmlElement | undefined {
  const disks = elements(devices, 'disk');
  return (
    disks.find((d) => elements(d, 'alias').some((a) => getAttr(a, 'name') === CONTEXT_DISK_ALIAS)) ??
    disks.find((d) => getAttr(d, 'device') === 'cdrom')
  );
}

/**
 * Makes `disk` a `type='file'` disk whose source is `path`. A template's block, network or volume disk gets a new
 * `<source file=>`: QEMU opens a block disk with its host_device driver, which refuses a regular file. Returns
 * what changed, for the warning.
 */
function makeFileDisk(disk: XmlElement, path: string): string[] {
  const changed: string[] = [];
  const type = getAttr(disk, 'type') ?? 'file';
  let source = firstElement(disk, 'source');
  if (type !== 'file') {
    setAttr(disk, 'type', 'file');
    changed.push(`type='${type}' made type='file' (QEMU opens a ${type} disk as a device or a remote image, not as the file ${path}: "'host_device' driver requires '${path}' to be either a character or block device")`);
    // The old source names a device, a pool volume or a remote image: none of its attributes or children apply.
    if (source) {
      const fresh = newElement('source');
      disk.children[disk.children.indexOf(source)] = fresh;
      source = fresh;
    }
    for (const auth of elements(disk, 'auth')) removeElement(disk, auth);
  }
  if (!source) {
    source = newElement('source');
    insertElement(disk, source, firstElement(disk, 'driver'));
  }
  source.attrs = source.attrs.filter(([k]) => k !== 'file' && k !== 'dev');
  source.attrs.unshift(['file', path]);
  return changed;
}

/** Sets the driver's format (creating `<driver name='qemu'>` first in the disk if it has none). */
function setDriverType(disk: XmlElement, format: 'qcow2' | 'raw'): string | undefined {
  const driver = firstElement(disk, 'driver');
  const old = driver && getAttr(driver, 'type');
  if (old === format) return undefined;
  if (driver) setAttr(driver, 'type', format);
  else insertElementFirst(disk, newElement('driver', [['name', 'qemu'], ['type', format]]));
  return old === undefined ? `<driver type='${format}'/> set (without a type libvirt opens the image as raw)` : `<driver type='${old}'> made type='${format}'`;
}

/**
 * Points one of the template's disks at the VM's image `path` (`where` names the disk for messages). A `.qcow2`
 * path is the VM's overlay: its format is recorded, and what described the template's image (sharing,
 * encryption) goes.
 */
function rewriteDisk(disk: XmlElement, path: string, where: string, warnings: TemplateWarning[]): void {
  const changed = makeFileDisk(disk, path);
  if (getAttr(disk, 'device') === 'lun') {
    setAttr(disk, 'device', 'disk');
    removeAttr(disk, 'sgio');
    removeAttr(disk, 'rawio');
    changed.push(`device='lun' made device='disk' (libvirt: "unsupported configuration: disk device='lun' is only valid for block type disk source")`);
  }
  if (!/\.qcow2$/i.test(path)) {
    if (changed.length) warnings.push({ code: 'overlay-repaired', path: where, message: `the disk ${path}: ${changed.join('; ')}` });
    return;
  }
  const format = setDriverType(disk, 'qcow2');
  if (format) changed.push(`${format}: the overlay is qcow2, and read as raw the guest would see a qcow2 header instead of its disk, and a write would destroy it`);
  const shareable = firstElement(disk, 'shareable');
  if (shareable) {
    removeElement(disk, shareable);
    changed.push(`<shareable/> removed: the overlay is this VM's own, and libvirt refuses a shared qcow2 ("unsupported configuration: shared access for disk '${diskDev(disk)}' requires use of supported storage format")`);
  }
  for (const holder of [disk, firstElement(disk, 'source')]) {
    for (const encryption of holder ? elements(holder, 'encryption') : []) {
      removeElement(holder!, encryption);
      changed.push(`<encryption> removed: it describes the template's image; the overlay is not encrypted`);
    }
  }
  if (changed.length) warnings.push({ code: 'overlay-repaired', path: where, message: `the overlay ${path}: ${changed.join('; ')}` });
}

function diskDev(disk: XmlElement): string {
  const target = firstElement(disk, 'target');
  return (target && getAttr(target, 'dev')) ?? '';
}

/** Points the template's disks at `rewrite.disks` and sets, removes or attaches the context ISO. */
export function rewriteDisks(root: XmlElement, devices: XmlElement, rewrite: NativeRewrite, warnings: TemplateWarning[], isoDisk: XmlElement | undefined): void {
  const disks = elements(devices, 'disk').filter((d) => d !== isoDisk && getAttr(d, 'device') !== 'cdrom' && getAttr(d, 'device') !== 'floppy');
  if (rewrite.disks && rewrite.disks.length > disks.length) {
    fail(`${rewrite.disks.length} disk paths given for ${disks.length} <disk device='disk'> elements`, '/domain/devices/disk');
  }
  rewrite.disks?.forEach((path, i) => {
    const disk = disks[i]!;
    const where = `/domain/devices/disk[${elements(devices, 'disk').indexOf(disk) + 1}]`;
    rewriteDisk(disk, path, where, warnings);
    // libvirt takes a <backingStore> in the XML as the image's chain; the template's describes its own image.
    for (const backing of elements(disk, 'backingStore')) {
      removeElement(disk, backing);
      warnings.push({
        code: 'backing-store-removed',
        path: `${where}/backingStore`,
        message: `removed the template's <backingStore>: it describes the template's image, not ${path}, and libvirt would open it instead of the backing file recorded in ${path}`,
      });
    }
  });
  if (rewrite.iso === undefined) return;
  if (rewrite.iso === null) {
    if (!isoDisk) return;
    const where = `/domain/devices/disk[${elements(devices, 'disk').indexOf(isoDisk) + 1}]`;
    removeElement(devices, isoDisk);
    warnings.push({ code: 'iso-removed', path: where, message: `removed the template's context CD ${where}: this instance has none (its guest falls back to DHCP)` });
    return;
  }
  if (isoDisk) {
    const where = `/domain/devices/disk[${elements(devices, 'disk').indexOf(isoDisk) + 1}]`;
    const changed = makeFileDisk(isoDisk, rewrite.iso);
    const driver = firstElement(isoDisk, 'driver');
    const format = driver && getAttr(driver, 'type') !== undefined ? setDriverType(isoDisk, 'raw') : undefined;
    if (format) changed.push(`${format}: an ISO image is raw`);
    if (changed.length) warnings.push({ code: 'iso-disk-repaired', path: where, message: `the context ISO ${rewrite.iso}: ${changed.join('; ')}` });
    if (!elements(isoDisk, 'alias').length) insertElement(isoDisk, newElement('alias', [['name', CONTEXT_DISK_ALIAS]]));
    return;
  }
  const placement = contextPlacement(domainArch(root), domainMachine(root));
  const mode = rewrite.isoMode === 'disk' ? 'disk' : placement.device;
  const bus: DiskBus = mode === 'disk' ? 'virtio' : placement.bus;
  const dev = freeTarget(bus, diskTargets(devices));
  const disk = newElement('disk', [['type', 'file'], ['device', mode]]);
  // Indent the new disk's children like those of the template's first disk, and its end tag like the disks.
  const firstDisk = elements(devices, 'disk')[0];
  const inner = firstDisk && childIndent(firstDisk);
  for (const child of [
    newElement('driver', [['name', 'qemu'], ['type', 'raw']]),
    newElement('source', [['file', rewrite.iso]]),
    newElement('target', [['dev', dev], ['bus', bus]]),
    newElement('readonly'),
    newElement('alias', [['name', CONTEXT_DISK_ALIAS]]),
  ]) {
    if (inner) disk.children.push({ kind: 'text', text: inner });
    disk.children.push(child);
  }
  const outer = childIndent(devices);
  if (inner && outer) disk.children.push({ kind: 'text', text: outer });
  const lastDisk = elements(devices, 'disk').at(-1);
  insertElement(devices, disk, lastDisk ?? firstElement(devices, 'emulator'));
  if (bus === 'scsi') warnings.push(...ensureScsiController(devices));
  warnings.push({
    code: 'iso-attached',
    path: `/domain/devices/disk[${elements(devices, 'disk').indexOf(disk) + 1}]`,
    message: `the template has no cdrom: attached the context ISO ${rewrite.iso} as a read-only ${bus} ${mode} ${dev}`,
  });
}
