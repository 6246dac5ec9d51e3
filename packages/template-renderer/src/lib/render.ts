/**
 * VM spec -> libvirt domain XML, as a tree of xml-tree.ts written by its serializer (which escapes every value).
 * Same spec, same bytes: elements are written in libvirt's own order (the order `virsh dumpxml` prints),
 * indented as libvirt indents them, and nothing depends on time or randomness.
 */
import { CONTEXT_DISK_ALIAS } from '@vmctx/contract';
import { contextPlacement, freeTarget } from './disk-targets.js';
import { deriveMac, deriveUuid, type MacScheme } from './identity.js';
import type { ConsoleSpec, ContextSpec, DiskSpec, DiskTarget, DomainSpec, InterfaceSpec, SerialSpec } from './spec.js';
import { indentXml, newElement, serializeXml, type XmlElement } from './xml-tree.js';

/** Attributes in the order written; an undefined value is left out. */
type Attrs = Record<string, string | undefined>;

/** `<name attrs>children</name>`; children that are `undefined` (an optional part the spec leaves out) are skipped. */
function el(name: string, attrs: Attrs = {}, children: (XmlElement | undefined)[] = []): XmlElement {
  const kept = Object.entries(attrs).filter((a): a is [string, string] => a[1] !== undefined);
  return newElement(name, kept, children.filter((c) => c !== undefined));
}

/** `<name attrs>text</name>`, or `<name attrs/>` for an empty text. */
function leaf(name: string, text: string, attrs: Attrs = {}): XmlElement {
  const element = el(name, attrs);
  if (text !== '') element.children.push({ kind: 'text', text });
  return element;
}

/** `leaf(name, value)` when the spec has the value. */
function optionalLeaf(name: string, value: string | undefined): XmlElement | undefined {
  return value === undefined ? undefined : leaf(name, value);
}

/** The user alias (formatdomain.html#devices, "ua-" prefix) that marks the context ISO's disk: the context CD contract's. */
export { CONTEXT_DISK_ALIAS };

export interface RenderOptions {
  /** Fill a missing UUID and missing MACs with identities derived from (deployment, name). */
  deployment?: string;
  macScheme?: MacScheme;
}

/** The spec with its UUID and every NIC's MAC set, derived from (deployment, name) where the spec has none. */
export function withIdentity(spec: DomainSpec, deployment: string, macScheme: MacScheme = 'local'): DomainSpec {
  return {
    ...spec,
    uuid: spec.uuid ?? deriveUuid(deployment, spec.name),
    devices: {
      ...spec.devices,
      interfaces: spec.devices.interfaces.map((nic, i) => ({
        ...nic,
        mac: nic.mac ?? { address: deriveMac(deployment, spec.name, { nic: i, scheme: macScheme }) },
      })),
    },
  };
}

/** Where the context ISO is attached: the spec's target, or the first free one on the right bus. */
export function contextTarget(spec: DomainSpec, context: ContextSpec = spec.devices.context!): DiskTarget {
  if (context.target) return context.target;
  const bus = context.mode === 'disk' ? 'virtio' : contextPlacement(spec.os.arch, spec.os.machine).bus;
  return { bus, dev: freeTarget(bus, spec.devices.disks.map((d) => d.target.dev)) };
}

/** The context ISO's device: a cdrom unless asked for a disk, or on virtio (a machine with no cdrom bus, see contextPlacement). */
function contextDevice(context: ContextSpec, target: DiskTarget): 'cdrom' | 'disk' {
  return context.mode === 'disk' || target.bus === 'virtio' ? 'disk' : 'cdrom';
}

export function renderDomainXml(input: DomainSpec, options: RenderOptions = {}): string {
  return serializeXml(renderDomainTree(input, options));
}

/** The tree `renderDomainXml` writes (for the lints, which read it without writing and parsing it again). */
export function renderDomainTree(input: DomainSpec, options: RenderOptions = {}): XmlElement {
  const spec = options.deployment ? withIdentity(input, options.deployment, options.macScheme) : input;
  const domain = el('domain', { type: spec.type }, [
    leaf('name', spec.name),
    optionalLeaf('uuid', spec.uuid),
    optionalLeaf('title', spec.title),
    optionalLeaf('description', spec.description),
    leaf('memory', String(spec.memory.value), { unit: spec.memory.unit }),
    spec.currentMemory && leaf('currentMemory', String(spec.currentMemory.value), { unit: spec.currentMemory.unit }),
    leaf('vcpu', String(spec.vcpu), spec.currentVcpu === undefined ? {} : { current: String(spec.currentVcpu) }),
    renderOs(spec.os),
    spec.features && el('features', {}, spec.features.map((f) => el(f))),
    spec.cpu && el('cpu', { mode: spec.cpu.mode }),
    el('clock', { offset: spec.clock.offset, timezone: spec.clock.timezone }),
    leaf('on_poweroff', spec.on_poweroff),
    leaf('on_reboot', spec.on_reboot),
    leaf('on_crash', spec.on_crash),
    renderDevices(spec),
  ]);
  return indentXml(domain);
}

function renderOs(os: DomainSpec['os']): XmlElement {
  return el('os', {}, [
    leaf('type', 'hvm', { arch: os.arch, machine: os.machine }),
    optionalLeaf('kernel', os.kernel),
    optionalLeaf('initrd', os.initrd),
    optionalLeaf('cmdline', os.cmdline),
    ...(os.boot ?? []).map((dev) => el('boot', { dev })),
  ]);
}

function renderDevices(spec: DomainSpec): XmlElement {
  const { devices } = spec;
  return el('devices', {}, [
    optionalLeaf('emulator', devices.emulator),
    ...devices.disks.map(renderDisk),
    devices.context && renderContext(spec, devices.context),
    // A cdrom on scsi needs its controller; libvirt's implicit one may be an lsilogic the guest has no driver for.
    devices.context && contextTarget(spec).bus === 'scsi' ? el('controller', { type: 'scsi', index: '0', model: 'virtio-scsi' }) : undefined,
    ...devices.interfaces.map(renderInterface),
    ...devices.serials.map((serial) => renderChr('serial', serial)),
    ...devices.consoles.map((console) => renderChr('console', console)),
  ]);
}

function renderDisk(disk: DiskSpec): XmlElement {
  // `backing` is not written: libvirt reads the chain from the image (see spec.ts).
  return el('disk', { type: 'file', device: disk.device }, [
    el('driver', { name: disk.driver.name, type: disk.driver.type }),
    el('source', { file: disk.source.file }),
    el('target', { dev: disk.target.dev, bus: disk.target.bus }),
    disk.readonly ? el('readonly') : undefined,
  ]);
}

function renderContext(spec: DomainSpec, context: ContextSpec): XmlElement {
  const target = contextTarget(spec, context);
  return el('disk', { type: 'file', device: contextDevice(context, target) }, [
    el('driver', { name: 'qemu', type: 'raw' }),
    el('source', { file: context.source.file }),
    el('target', { dev: target.dev, bus: target.bus }),
    el('readonly'),
    el('alias', { name: CONTEXT_DISK_ALIAS }),
  ]);
}

function renderInterface(nic: InterfaceSpec): XmlElement {
  return el('interface', { type: nic.type }, [
    nic.mac && el('mac', { address: nic.mac.address }),
    el('source', nic.type === 'bridge' ? { bridge: nic.source.bridge } : { network: nic.source.network }),
    nic.model && el('model', { type: nic.model.type }),
  ]);
}

function renderChr(kind: 'serial' | 'console', chr: SerialSpec | ConsoleSpec): XmlElement {
  return el(kind, { type: chr.type }, [
    chr.type === 'file' ? el('source', { path: chr.source.path }) : undefined,
    chr.target && el('target', 'type' in chr.target ? { type: chr.target.type, port: String(chr.target.port) } : { port: String(chr.target.port) }),
  ]);
}
