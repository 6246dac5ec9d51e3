/**
 * Native templates: any libvirt domain XML, read into xml-tree.ts's ordered tree and written back unchanged
 * except where the deployer owns the value (name, UUID, MACs, disk and ISO paths, bridge) and where the template
 * would be refused or misread by libvirt (repairs, each reported as a warning that says what changed and why).
 *
 * Elements and attributes this module does not know pass through as they are, in their order.
 */
import { z } from 'zod';
import { contextPlacement, freeTarget, hasBuiltinIde, type DiskBus } from './disk-targets.js';
import { diskTargets, domainArch, domainMachine, targetBus } from './domain-xml.js';
import { TemplateError } from './errors.js';
import { deriveMac, deriveUuid, normalizeMac, type MacScheme } from './identity.js';
import { CONTEXT_DISK_ALIAS } from './render.js';
import { bridgeNameSchema, contextSchema, domainNameSchema, domainSpecSchema, hostPathSchema, macAddressSchema, uuidSchema } from './spec.js';
import {
  elements,
  firstElement,
  getAttr,
  childIndent,
  insertElement,
  insertElementFirst,
  newElement,
  parseXml,
  removeAttr,
  removeElement,
  serializeXml,
  setAttr,
  setText,
  textOf,
  type XmlElement,
} from './xml-tree.js';

export interface NativeRewrite {
  /** The instance's domain name. Omitted: the template's. */
  name?: string;
  /** The instance's UUID. Omitted: derived from (deployment, name) if a deployment is given, else removed. */
  uuid?: string;
  /** Derive a missing UUID and MACs from (deployment, name), so a redeploy keeps them. */
  deployment?: string;
  macScheme?: MacScheme;
  /** One MAC per `<interface>`, in order. Missing ones are derived (with a deployment) or removed. */
  macs?: string[];
  /**
   * One path per `<disk device='disk'>` that is not the context ISO, in order. Each such disk becomes
   * `type='file'`; a path ending in `.qcow2` is a qcow2 overlay, whose disk gets `<driver type='qcow2'>` (see rewriteDisk).
   */
  disks?: string[];
  /** The context ISO: set on the template's cdrom (or context disk), or attached as a cdrom if it has none; `null` removes the template's context CD (a VM without one falls back to DHCP). */
  iso?: string | null;
  /** How the ISO is attached when it must be: `cdrom` (sata/ide, /dev/sr0, default) or a read-only virtio `disk`. */
  isoMode?: 'cdrom' | 'disk';
  /** The bridge of every bridged `<interface>`, or one per bridged interface in order. */
  bridge?: string | string[];
  /** The emulator binary; `null` removes `<emulator>` so libvirt picks the host's own. */
  emulator?: string | null;
  /** The domain type: `qemu` where KVM is not usable (the lab). */
  domainType?: 'kvm' | 'qemu';
}

/** What a repair or rewrite changed; `code` is stable, `message` says what and why. */
export interface TemplateWarning {
  code:
    | 'clock-sync-repaired'
    | 'cdrom-on-virtio-repaired'
    | 'cdrom-bus-repaired'
    | 'scsi-controller-added'
    | 'overlay-repaired'
    | 'iso-disk-repaired'
    | 'cpu-mode-repaired'
    | 'uuid-removed'
    | 'mac-removed'
    | 'iso-attached'
    | 'iso-removed'
    | 'backing-store-removed'
    | 'interface-type-changed';
  path: string;
  message: string;
}

export interface ImportedTemplate {
  xml: string;
  tree: XmlElement;
  warnings: TemplateWarning[];
}

function fail(message: string, path?: string): never {
  throw new TemplateError('TEMPLATE_REWRITE_FAILED', message, path);
}

/** Parses a native template, refusing anything whose root is not `<domain>`. */
export function parseNativeTemplate(xml: string, source = 'template'): XmlElement {
  const root = parseXml(xml, source);
  if (root.name !== 'domain') {
    throw new TemplateError('TEMPLATE_NOT_A_DOMAIN', `${source}: root element is <${root.name}>, not <domain>`, `/${root.name}`);
  }
  return root;
}

/** Reads, repairs and rewrites a native template for one instance. */
export function importNativeTemplate(xml: string, rewrite: NativeRewrite = {}, source = 'template'): ImportedTemplate {
  const tree = parseNativeTemplate(xml, source);
  // Found before the repairs, which may turn a virtio cdrom into a disk.
  const devices = firstElement(tree, 'devices');
  const isoDisk = devices && findIsoDisk(devices);
  const warnings = [...repairTemplate(tree, rewrite.isoMode, rewrite.domainType), ...rewriteTemplate(tree, rewrite, isoDisk)];
  return { xml: serializeXml(tree), tree, warnings };
}

// ---- repairs ----

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

/** Adds a virtio-scsi controller (after the last disk or controller) unless the domain has a scsi controller. */
function ensureScsiController(devices: XmlElement): TemplateWarning[] {
  if (elements(devices, 'controller').some((c) => getAttr(c, 'type') === 'scsi')) return [];
  const controller = newElement('controller', [['type', 'scsi'], ['index', '0'], ['model', 'virtio-scsi']]);
  insertElement(devices, controller, elements(devices, 'controller').at(-1) ?? elements(devices, 'disk').at(-1));
  return [
    {
      code: 'scsi-controller-added',
      path: `/domain/devices/controller[${elements(devices, 'controller').indexOf(controller) + 1}]`,
      message: "added <controller type='scsi' model='virtio-scsi'/> for the cdrom on bus 'scsi': libvirt would otherwise add an implicit one whose model (lsilogic on many machines) the guest may have no driver for",
    },
  ];
}

// ---- rewrites ----

/** Sets the text of `<name>` (or another leaf), creating it after `after` if the template has none. */
function setLeaf(root: XmlElement, name: string, text: string, after?: XmlElement): XmlElement {
  let el = firstElement(root, name);
  if (!el) {
    el = newElement(name);
    insertElement(root, el, after ?? firstElement(root, 'name'));
  }
  setText(el, text);
  return el;
}

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

/**
 * Applies `rewrite` to `root` in place. `isoDisk` is the context ISO's disk (by default the one with our
 * alias, else the first cdrom).
 */
export function rewriteTemplate(root: XmlElement, rewrite: NativeRewrite, isoDisk?: XmlElement): TemplateWarning[] {
  const warnings: TemplateWarning[] = [];
  check(rewrite);
  if (rewrite.domainType) setAttr(root, 'type', rewrite.domainType);
  const nameEl = rewrite.name !== undefined ? setLeaf(root, 'name', rewrite.name) : firstElement(root, 'name');
  const name = nameEl ? textOf(nameEl).trim() : undefined;
  const needName = () => name ?? fail('the template has no <name> and none was given', '/domain/name');

  const uuid = rewrite.uuid ?? (rewrite.deployment !== undefined ? deriveUuid(rewrite.deployment, needName()) : undefined);
  const uuidEl = firstElement(root, 'uuid');
  if (uuid !== undefined) {
    setLeaf(root, 'uuid', uuid, nameEl);
  } else if (uuidEl) {
    removeElement(root, uuidEl);
    warnings.push({
      code: 'uuid-removed',
      path: '/domain/uuid',
      message: `removed the template's uuid ${textOf(uuidEl).trim()}: every instance would share it and libvirt refuses a second domain with the same uuid; libvirt generates one (give --uuid or a deployment to keep it stable)`,
    });
  }

  const devices = firstElement(root, 'devices');
  if (!devices) {
    if (rewrite.macs?.length || rewrite.disks?.length || rewrite.iso !== undefined || rewrite.bridge !== undefined || rewrite.emulator) {
      fail('the template has no <devices> to rewrite', '/domain/devices');
    }
    return warnings;
  }
  if (rewrite.emulator !== undefined) {
    const emulator = firstElement(devices, 'emulator');
    if (rewrite.emulator === null) {
      if (emulator) removeElement(devices, emulator);
    } else if (emulator) {
      setText(emulator, rewrite.emulator);
    } else {
      // <emulator> comes first in libvirt's order.
      insertElementFirst(devices, newElement('emulator', [], [{ kind: 'text', text: rewrite.emulator }]));
    }
  }

  warnings.push(...rewriteInterfaces(devices, rewrite, needName));
  rewriteDisks(root, devices, rewrite, warnings, isoDisk ?? findIsoDisk(devices));
  return warnings;
}

/**
 * What a rewrite may set, checked by the very schemas that check a spec's fields (spec.ts), so that import takes
 * exactly what render takes (issue 12: `--bridge 'br0;$(id)'`, `--disk /`, `--emulator 'kvm; id'` were taken).
 */
const rewriteSchema = z.object({
  name: domainNameSchema.optional(),
  uuid: uuidSchema.optional(),
  macs: z.array(macAddressSchema).optional(),
  disks: z.array(hostPathSchema('disk source file')).optional(),
  iso: hostPathSchema('context ISO file').nullable().optional(),
  isoMode: contextSchema.shape.mode.unwrap().optional(),
  bridge: z.array(bridgeNameSchema).optional(),
  emulator: hostPathSchema('emulator').nullable().optional(),
  domainType: domainSpecSchema.shape.type.unwrap().optional(),
});

/** The option of `vmctx template import` that sets each field, for messages. */
const OPTION: Record<string, string> = { macs: '--mac', disks: '--disk', bridge: '--bridge', isoMode: '--iso-mode', domainType: '--domain-type' };

function check(rewrite: NativeRewrite): void {
  const bridge = typeof rewrite.bridge === 'string' ? [rewrite.bridge] : rewrite.bridge;
  const result = rewriteSchema.safeParse({ ...rewrite, bridge });
  if (result.success) return;
  const issue = result.error.issues[0]!;
  const [key, index] = issue.path as [keyof NativeRewrite, number | undefined];
  const given: unknown = key === 'bridge' ? bridge : rewrite[key];
  const value = Array.isArray(given) && index !== undefined ? given[index] : given;
  fail(`${OPTION[key] ?? `--${String(key)}`} ${JSON.stringify(value)}: ${issue.message}`);
}

function rewriteInterfaces(devices: XmlElement, rewrite: NativeRewrite, needName: () => string): TemplateWarning[] {
  const warnings: TemplateWarning[] = [];
  const nics = elements(devices, 'interface');
  if (rewrite.macs && rewrite.macs.length > nics.length) {
    fail(`${rewrite.macs.length} MACs given for ${nics.length} <interface> elements`, '/domain/devices/interface');
  }
  const bridges = typeof rewrite.bridge === 'string' ? undefined : rewrite.bridge;
  const bridged = nics.filter((n) => ['bridge', 'network'].includes(getAttr(n, 'type') ?? ''));
  if (bridges && bridges.length > bridged.length) {
    fail(`${bridges.length} bridges given for ${bridged.length} bridged <interface> elements`, '/domain/devices/interface');
  }
  nics.forEach((nic, i) => {
    const path = `/domain/devices/interface[${i + 1}]`;
    const given = rewrite.macs?.[i];
    const mac =
      given !== undefined
        ? normalizeMac(given)
        : rewrite.deployment !== undefined
          ? deriveMac(rewrite.deployment, needName(), { nic: i, scheme: rewrite.macScheme })
          : undefined;
    const macEl = firstElement(nic, 'mac');
    if (mac !== undefined) {
      if (macEl) setAttr(macEl, 'address', mac);
      else insertElementFirst(nic, newElement('mac', [['address', mac]]));
    } else if (macEl) {
      removeElement(nic, macEl);
      warnings.push({
        code: 'mac-removed',
        path: `${path}/mac`,
        message: `removed the template's MAC ${getAttr(macEl, 'address') ?? ''}: every instance would share it and two NICs with one MAC on a bridge steal each other's frames; libvirt generates one (give --mac or a deployment to keep it stable)`,
      });
    }
    const index = bridged.indexOf(nic);
    const bridge = index < 0 ? undefined : typeof rewrite.bridge === 'string' ? rewrite.bridge : bridges?.[index];
    if (bridge === undefined) return;
    if (getAttr(nic, 'type') === 'network') {
      setAttr(nic, 'type', 'bridge');
      warnings.push({ code: 'interface-type-changed', path, message: `<interface type='network'> made type='bridge' on bridge ${bridge}, as asked` });
    }
    let source = firstElement(nic, 'source');
    if (!source) {
      source = newElement('source');
      insertElement(nic, source, firstElement(nic, 'mac'));
    }
    // portgroup and portid belong to a libvirt network; on a bridge the schema refuses them.
    source.attrs = [['bridge', bridge], ...source.attrs.filter(([k]) => !['bridge', 'network', 'portgroup', 'portid'].includes(k))];
  });
  return warnings;
}

function rewriteDisks(root: XmlElement, devices: XmlElement, rewrite: NativeRewrite, warnings: TemplateWarning[], isoDisk: XmlElement | undefined): void {
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
