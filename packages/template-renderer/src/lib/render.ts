/**
 * VM spec -> libvirt domain XML, with xmlbuilder2 (which escapes every value). Same spec, same bytes:
 * elements are written in libvirt's own order (the order `virsh dumpxml` prints) and nothing depends on time
 * or randomness.
 */
import { CONTEXT_DISK_ALIAS } from '@vmctx/contract';
import { create } from 'xmlbuilder2';
import { contextPlacement, freeTarget } from './disk-targets.js';
import { deriveMac, deriveUuid, type MacScheme } from './identity.js';
import type { ConsoleSpec, ContextSpec, DiskSpec, DiskTarget, DomainSpec, InterfaceSpec, SerialSpec } from './spec.js';

type XMLBuilder = ReturnType<typeof create>;

/**
 * xmlbuilder2 leaves `&` alone when it is followed by what looks like an entity or character reference
 * (`&lt;`, `&#38;`), so a value such as "a&b;" would come out as an undefined entity. Escaping `&` first
 * makes every `&` reach the document as `&amp;`.
 */
function esc(value: string): string {
  return value.replace(/&/g, '&amp;');
}

function escAttrs(attrs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, esc(v)]));
}

/** `ele(parent, name, attrs)` with every attribute value escaped. */
function ele(parent: XMLBuilder, name: string, attrs: Record<string, string> = {}): XMLBuilder {
  return parent.ele(name, escAttrs(attrs));
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
  const spec = options.deployment ? withIdentity(input, options.deployment, options.macScheme) : input;
  const domain = create().ele('domain', { type: spec.type });
  ele(domain, 'name').txt(esc(spec.name));
  if (spec.uuid !== undefined) ele(domain, 'uuid').txt(esc(spec.uuid));
  if (spec.title !== undefined) ele(domain, 'title').txt(esc(spec.title));
  if (spec.description !== undefined) ele(domain, 'description').txt(esc(spec.description));
  ele(domain, 'memory', { unit: spec.memory.unit }).txt(String(spec.memory.value));
  ele(domain, 'vcpu').txt(String(spec.vcpu));
  renderOs(domain, spec.os);
  if (spec.features) {
    const features = ele(domain, 'features');
    for (const f of spec.features) ele(features, f);
  }
  if (spec.cpu) ele(domain, 'cpu', { mode: spec.cpu.mode });
  ele(domain, 'clock', spec.clock.timezone !== undefined ? { offset: spec.clock.offset, timezone: spec.clock.timezone } : { offset: spec.clock.offset });
  ele(domain, 'on_poweroff').txt(esc(spec.on_poweroff));
  ele(domain, 'on_reboot').txt(esc(spec.on_reboot));
  ele(domain, 'on_crash').txt(esc(spec.on_crash));

  const devices = ele(domain, 'devices');
  if (spec.devices.emulator !== undefined) ele(devices, 'emulator').txt(esc(spec.devices.emulator));
  for (const disk of spec.devices.disks) renderDisk(devices, disk);
  if (spec.devices.context) renderContext(devices, spec, spec.devices.context);
  // A cdrom on scsi needs its controller; libvirt's implicit one may be an lsilogic the guest has no driver for.
  if (spec.devices.context && contextTarget(spec).bus === 'scsi') {
    ele(devices, 'controller', { type: 'scsi', index: '0', model: 'virtio-scsi' });
  }
  for (const nic of spec.devices.interfaces) renderInterface(devices, nic);
  for (const serial of spec.devices.serials) renderChr(devices, 'serial', serial);
  for (const console of spec.devices.consoles) renderChr(devices, 'console', console);
  // wellFormed: throw rather than write a character XML cannot carry (the spec schema refuses them first).
  return `${domain.end({ prettyPrint: true, headless: true, indent: '  ', wellFormed: true })}\n`;
}

function renderOs(domain: XMLBuilder, os: DomainSpec['os']): void {
  const el = ele(domain, 'os');
  ele(el, 'type', os.machine !== undefined ? { arch: os.arch, machine: os.machine } : { arch: os.arch }).txt('hvm');
  if (os.kernel !== undefined) ele(el, 'kernel').txt(esc(os.kernel));
  if (os.initrd !== undefined) ele(el, 'initrd').txt(esc(os.initrd));
  if (os.cmdline !== undefined) ele(el, 'cmdline').txt(esc(os.cmdline));
  for (const dev of os.boot ?? []) ele(el, 'boot', { dev });
}

function renderDisk(devices: XMLBuilder, disk: DiskSpec): void {
  // `backing` is not written: libvirt reads the chain from the image (see spec.ts).
  const el = ele(devices, 'disk', { type: 'file', device: disk.device });
  ele(el, 'driver', { name: disk.driver.name, type: disk.driver.type });
  ele(el, 'source', { file: disk.source.file });
  ele(el, 'target', { dev: disk.target.dev, bus: disk.target.bus });
  if (disk.readonly) ele(el, 'readonly');
}

function renderContext(devices: XMLBuilder, spec: DomainSpec, context: ContextSpec): void {
  const target = contextTarget(spec, context);
  const el = ele(devices, 'disk', { type: 'file', device: contextDevice(context, target) });
  ele(el, 'driver', { name: 'qemu', type: 'raw' });
  ele(el, 'source', { file: context.source.file });
  ele(el, 'target', { dev: target.dev, bus: target.bus });
  ele(el, 'readonly');
  ele(el, 'alias', { name: CONTEXT_DISK_ALIAS });
}

function renderInterface(devices: XMLBuilder, nic: InterfaceSpec): void {
  const el = ele(devices, 'interface', { type: nic.type });
  if (nic.mac) ele(el, 'mac', { address: nic.mac.address });
  ele(el, 'source', nic.type === 'bridge' ? { bridge: nic.source.bridge } : { network: nic.source.network });
  if (nic.model) ele(el, 'model', { type: nic.model.type });
}

function renderChr(devices: XMLBuilder, kind: 'serial' | 'console', chr: SerialSpec | ConsoleSpec): void {
  const el = ele(devices, kind, { type: chr.type });
  if (chr.type === 'file') ele(el, 'source', { path: chr.source.path });
  if (chr.target) ele(el, 'target', 'type' in chr.target ? { type: chr.target.type, port: String(chr.target.port) } : { port: String(chr.target.port) });
}
