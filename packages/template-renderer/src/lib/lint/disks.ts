/**
 * Disks: each one's source, format, target and address (what libvirt's disk validation and QEMU's open refuse),
 * a cdrom on virtio, two disks on one target, a backing store without its format.
 */
import { diskSourcePath, targetBus } from '../domain-xml.js';
import { CONTEXT_DISK_ALIAS } from '../render.js';
import { elements, firstElement, getAttr, type XmlElement } from '../xml-tree.js';
import type { Emit } from './emit.js';
import { lintPath } from './paths.js';

/** Every disk of the domain: the checks of each one's image, and of targets across its disks. */
export function lintDisks(devices: XmlElement, emit: Emit): void {
  const byTarget = new Map<string, string>();
  elements(devices, 'disk').forEach((disk, i) => {
    const path = `/domain/devices/disk[${i + 1}]`;
    const device = getAttr(disk, 'device') ?? 'disk';
    const type = getAttr(disk, 'type') ?? 'file';
    const target = firstElement(disk, 'target');
    const dev = target ? getAttr(target, 'dev') : undefined;
    const bus = target ? getAttr(target, 'bus') : undefined;
    const file = diskSourcePath(disk);
    const isContext = elements(disk, 'alias').some((a) => getAttr(a, 'name') === CONTEXT_DISK_ALIAS);
    lintDiskImage(disk, path, emit);
    if (device === 'cdrom' && (bus === 'virtio' || (bus === undefined && dev?.startsWith('vd')))) {
      emit(
        'cdrom-on-virtio',
        `${path}/target`,
        `cdrom ${dev ?? ''} is on bus virtio, which has no removable media`,
        `unsupported configuration: disk type of '${dev ?? ''}' does not support ejectable media`,
        'define',
      );
    }
    if ((type === 'file' || type === 'block') && file !== undefined && file !== '') {
      lintPath(file, `${device} source ${type === 'file' ? 'file' : 'dev'}`, `${path}/source`, emit);
    }
    if ((type === 'file' || type === 'block') && (file === undefined || file === '')) {
      if (device === 'disk') {
        emit('empty-path', `${path}/source`, `disk ${dev ?? ''} has no source ${type === 'file' ? 'file' : 'dev'}`, `missing source information for device ${dev ?? ''}`, 'define');
      } else if (isContext) {
        emit('empty-path', `${path}/source`, `the context ISO's ${device} ${dev ?? ''} has no source file: the guest gets an empty drive and falls back to DHCP`, undefined, 'never');
      }
    }
    if (dev) {
      const other = byTarget.get(dev);
      if (other !== undefined) {
        emit('target-dev-clash', `${path}/target`, `two disks use target ${dev}`, `XML error: target '${dev}' duplicated for disk sources '${other}' and '${file ?? ''}'`, 'define');
      } else {
        byTarget.set(dev, file ?? '');
      }
    }
    for (const backing of elements(disk, 'backingStore')) {
      // An empty <backingStore/> says "no backing file"; one with a source needs a format.
      if (firstElement(backing, 'source') && !firstElement(backing, 'format')) {
        emit(
          'backing-format-missing',
          `${path}/backingStore`,
          `disk ${dev ?? ''} names a backing file without its format`,
          'XML error: missing disk backing store format',
          'define',
        );
      }
    }
  });
}

const FORMAT_REFUSED: Record<string, string> = {
  cow: "unsupported configuration: 'cow' storage format is not supported",
  dir: "unsupported configuration: 'directory' storage format is not directly supported by QEMU, use 'dir' disk type instead",
  iso: "unsupported configuration: storage format 'iso' is not directly supported by QEMU, use 'raw' instead",
};

/** libvirt's virDiskNameParse: a name with a trailing partition number. */
const PARTITION_TARGET = /^(?:hd|sd|vd|xvd|ubd)[a-z]+[0-9]+$/;

/** One disk's source, format, target and address: what libvirt's disk validation and QEMU's open refuse. */
function lintDiskImage(disk: XmlElement, path: string, emit: Emit): void {
  const device = getAttr(disk, 'device') ?? 'disk';
  const type = getAttr(disk, 'type') ?? 'file';
  const target = firstElement(disk, 'target');
  const dev = target ? getAttr(target, 'dev') : undefined;
  const bus = target ? targetBus(target) : undefined;
  const driver = firstElement(disk, 'driver');
  const format = driver ? getAttr(driver, 'type') : undefined;
  const sourcePath = diskSourcePath(disk);
  if (type === 'block' && sourcePath && !sourcePath.startsWith('/dev/')) {
    emit(
      'block-disk-not-device',
      `${path}/source`,
      `${device} ${dev ?? ''} is type='block' but its source ${sourcePath} is not under /dev: QEMU opens a block ${device} with its ${device === 'cdrom' ? 'host_cdrom' : 'host_device'} driver, which refuses a regular file`,
      device === 'cdrom' ? undefined : `'host_device' driver requires '${sourcePath}' to be either a character or block device`,
      'start',
    );
  }
  if (device !== 'cdrom' && device !== 'floppy' && sourcePath && /\.qcow2?$/i.test(sourcePath) && format !== 'qcow2' && format !== 'qcow') {
    emit(
      'qcow2-read-as-raw',
      driver ? `${path}/driver` : path,
      `${sourcePath} is a qcow2 image but the disk's driver says ${format === undefined ? 'no type, so libvirt opens it as raw' : `type='${format}'`}: the guest sees a qcow2 header instead of its disk, and a write destroys the image`,
      undefined,
      'never',
    );
  }
  if (format !== undefined && FORMAT_REFUSED[format]) {
    emit('disk-format-unsupported', `${path}/driver`, `<driver type='${format}'> is not a format QEMU opens`, FORMAT_REFUSED[format], 'define');
  }
  if (firstElement(disk, 'shareable') && !firstElement(disk, 'readonly') && format !== undefined && format !== 'raw' && FORMAT_REFUSED[format] === undefined) {
    emit(
      'shared-qcow2',
      `${path}/shareable`,
      `disk ${dev ?? ''} is shareable and writable in format ${format}, which two VMs cannot write at once`,
      `unsupported configuration: shared access for disk '${dev ?? ''}' requires use of supported storage format`,
      'define',
    );
  }
  if (!target || dev === undefined) {
    emit('disk-target-invalid', path, `the ${device} has no target dev`, `missing target information for device ${sourcePath ?? ''}`, 'define');
  } else if (PARTITION_TARGET.test(dev)) {
    emit('disk-target-invalid', `${path}/target`, `target ${dev} names a partition, not a disk`, `unsupported configuration: invalid disk target '${dev}', partitions can't appear in disk targets`, 'define');
  }
  if (device === 'lun' && (type === 'file' || type === 'dir')) {
    emit('lun-not-block', path, `lun ${dev ?? ''} is a ${type}, not a block device`, "unsupported configuration: disk device='lun' is only valid for block type disk source", 'define');
  }
  const address = firstElement(disk, 'address');
  const addressType = address ? getAttr(address, 'type') : undefined;
  if (addressType !== undefined && addressType !== 'drive' && bus !== undefined && ['ide', 'fdc', 'scsi', 'sata'].includes(bus)) {
    emit(
      'disk-address-mismatch',
      `${path}/address`,
      `disk ${dev ?? ''} on bus ${bus} has a ${addressType} address; disks on ${bus} take a drive address`,
      `unsupported configuration: Invalid address type '${addressType}' for the disk '${dev ?? ''}' with the bus type '${bus}'`,
      'define',
    );
  }
}
