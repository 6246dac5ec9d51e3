/**
 * Domain XML -> VM spec: the inverse of render.ts, for the part of domain XML a spec can hold. What a spec
 * cannot hold is refused by name (import such XML as a native template instead), never dropped silently.
 */
import { TemplateError } from './errors.js';
import { CONTEXT_DISK_ALIAS, contextTarget } from './render.js';
import { parseDomainSpec, type DomainSpec } from './spec.js';
import { elements, firstElement, getAttr, parseXml, textOf, type XmlElement } from './xml-tree.js';

function unsupported(path: string, what: string): never {
  throw new TemplateError(
    'TEMPLATE_INVALID_SPEC',
    `${what} at ${path} has no place in a VM spec; import this XML as a native template instead`,
    path,
  );
}

/** Refuses attributes and child elements other than those named (text that is only white space is fine). */
function only(el: XmlElement, path: string, attrs: readonly string[], children: readonly string[], text = false): void {
  for (const [key] of el.attrs) if (!attrs.includes(key)) unsupported(`${path}/@${key}`, `attribute ${key}`);
  for (const child of el.children) {
    if (child.kind === 'element') {
      if (!children.includes(child.name)) unsupported(`${path}/${child.name}`, `element <${child.name}>`);
    } else if (!text && child.text.trim() !== '') {
      unsupported(path, `text ${JSON.stringify(child.text.trim().slice(0, 40))}`);
    }
  }
}

function single(el: XmlElement, name: string, path: string): XmlElement | undefined {
  const found = elements(el, name);
  if (found.length > 1) unsupported(`${path}/${name}[2]`, `a second <${name}>`);
  return found[0];
}

function attrsOf(el: XmlElement | undefined): Record<string, string> {
  return Object.fromEntries(el?.attrs ?? []);
}

/** Text of a leaf element as written (text, not white-space-trimmed: spec strings round-trip exactly). */
function leafText(el: XmlElement, path: string): string {
  only(el, path, [], [], true);
  return textOf(el);
}

function num(text: string): number | string {
  return /^\s*[0-9]+\s*$/.test(text) ? Number(text) : text;
}

export function domainSpecFromXml(xml: string | XmlElement, source = 'domain XML'): DomainSpec {
  const root = typeof xml === 'string' ? parseXml(xml, source) : xml;
  if (root.name !== 'domain') throw new TemplateError('TEMPLATE_NOT_A_DOMAIN', `${source}: root element is <${root.name}>, not <domain>`, `/${root.name}`);
  const p = '/domain';
  only(root, p, ['type'], ['name', 'uuid', 'title', 'description', 'memory', 'currentMemory', 'vcpu', 'os', 'features', 'cpu', 'clock', 'on_poweroff', 'on_reboot', 'on_crash', 'devices']);
  const spec: Record<string, unknown> = {};
  const type = getAttr(root, 'type');
  if (type !== undefined) spec.type = type;
  for (const name of ['name', 'uuid', 'title', 'description', 'on_poweroff', 'on_reboot', 'on_crash'] as const) {
    const el = single(root, name, p);
    if (el) spec[name] = leafText(el, `${p}/${name}`);
  }
  for (const name of ['memory', 'currentMemory'] as const) {
    const memory = single(root, name, p);
    if (!memory) continue;
    only(memory, `${p}/${name}`, ['unit'], [], true);
    spec[name] = { value: num(textOf(memory)), ...attrsOf(memory) };
  }
  const vcpu = single(root, 'vcpu', p);
  if (vcpu) {
    only(vcpu, `${p}/vcpu`, ['current'], [], true);
    spec.vcpu = num(textOf(vcpu));
    const current = getAttr(vcpu, 'current');
    if (current !== undefined) spec.currentVcpu = num(current);
  }
  const os = single(root, 'os', p);
  if (os) spec.os = readOs(os, `${p}/os`);
  const features = single(root, 'features', p);
  if (features) {
    only(features, `${p}/features`, [], ['acpi', 'apic', 'pae']);
    spec.features = elements(features).map((f) => {
      only(f, `${p}/features/${f.name}`, [], []);
      return f.name;
    });
  }
  const cpu = single(root, 'cpu', p);
  if (cpu) {
    only(cpu, `${p}/cpu`, ['mode'], []);
    spec.cpu = attrsOf(cpu);
  }
  const clock = single(root, 'clock', p);
  if (clock) {
    only(clock, `${p}/clock`, ['offset', 'timezone'], []);
    spec.clock = attrsOf(clock);
  }
  const devices = single(root, 'devices', p);
  let contextWithoutTarget = false;
  if (devices) {
    const read = readDevices(devices, `${p}/devices`);
    spec.devices = read.devices;
    contextWithoutTarget = read.contextTargetIsDefault;
  }
  const parsed = parseDomainSpec(spec, '', source);
  // The context target was chosen by render unless it differs from what render would choose.
  const context = parsed.devices.context;
  if (context?.target && contextWithoutTarget) {
    const { target, ...rest } = context;
    const chosen = contextTarget(parsed, rest);
    if (chosen.dev === target.dev && chosen.bus === target.bus) parsed.devices.context = rest;
  }
  return parsed;
}

function readOs(os: XmlElement, p: string): Record<string, unknown> {
  only(os, p, [], ['type', 'kernel', 'initrd', 'cmdline', 'boot']);
  const out: Record<string, unknown> = {};
  const type = single(os, 'type', p);
  if (type) {
    only(type, `${p}/type`, ['arch', 'machine'], [], true);
    if (textOf(type).trim() !== 'hvm') unsupported(`${p}/type`, `os type ${JSON.stringify(textOf(type))}`);
    Object.assign(out, attrsOf(type));
  }
  for (const name of ['kernel', 'initrd', 'cmdline'] as const) {
    const el = single(os, name, p);
    if (el) out[name] = leafText(el, `${p}/${name}`);
  }
  const boots = elements(os, 'boot');
  if (boots.length > 0) {
    out.boot = boots.map((b, i) => {
      only(b, `${p}/boot[${i + 1}]`, ['dev'], []);
      return getAttr(b, 'dev');
    });
  }
  return out;
}

function readDevices(devices: XmlElement, p: string): { devices: Record<string, unknown>; contextTargetIsDefault: boolean } {
  only(devices, p, [], ['emulator', 'disk', 'interface', 'serial', 'console']);
  const out: Record<string, unknown> = { disks: [], interfaces: [], serials: [], consoles: [] };
  const emulator = single(devices, 'emulator', p);
  if (emulator) out.emulator = leafText(emulator, `${p}/emulator`);
  let contextTargetIsDefault = false;
  elements(devices, 'disk').forEach((disk, i) => {
    const dp = `${p}/disk[${i + 1}]`;
    only(disk, dp, ['type', 'device'], ['driver', 'source', 'target', 'readonly', 'alias']);
    if (getAttr(disk, 'type') !== 'file') unsupported(`${dp}/@type`, `disk type ${JSON.stringify(getAttr(disk, 'type'))}`);
    const driver = single(disk, 'driver', dp);
    const source = single(disk, 'source', dp);
    const target = single(disk, 'target', dp);
    const alias = single(disk, 'alias', dp);
    for (const [el, name, attrs] of [[driver, 'driver', ['name', 'type']], [source, 'source', ['file']], [target, 'target', ['dev', 'bus']], [alias, 'alias', ['name']]] as const) {
      if (el) only(el, `${dp}/${name}`, attrs, []);
    }
    const readonly = single(disk, 'readonly', dp);
    if (readonly) only(readonly, `${dp}/readonly`, [], []);
    if (alias && getAttr(alias, 'name') === CONTEXT_DISK_ALIAS) {
      if (out.context) unsupported(dp, 'a second context ISO disk');
      if (!readonly) unsupported(dp, 'a writable context ISO disk');
      out.context = { source: attrsOf(source), mode: getAttr(disk, 'device'), target: attrsOf(target) };
      contextTargetIsDefault = true;
      return;
    }
    if (alias) unsupported(`${dp}/alias`, 'a device alias');
    (out.disks as unknown[]).push({
      device: getAttr(disk, 'device') ?? 'disk',
      driver: attrsOf(driver),
      source: attrsOf(source),
      target: attrsOf(target),
      readonly: readonly !== undefined,
    });
  });
  out.interfaces = elements(devices, 'interface').map((nic, i) => {
    const np = `${p}/interface[${i + 1}]`;
    only(nic, np, ['type'], ['mac', 'source', 'model']);
    const item: Record<string, unknown> = { type: getAttr(nic, 'type'), source: attrsOf(single(nic, 'source', np)) };
    for (const name of ['mac', 'model', 'source'] as const) {
      const el = single(nic, name, np);
      if (el) only(el, `${np}/${name}`, name === 'mac' ? ['address'] : name === 'model' ? ['type'] : ['bridge', 'network'], []);
      if (el && name !== 'source') item[name] = attrsOf(el);
    }
    return item;
  });
  for (const kind of ['serial', 'console'] as const) {
    out[`${kind}s`] = elements(devices, kind).map((chr, i) => {
      const cp = `${p}/${kind}[${i + 1}]`;
      only(chr, cp, ['type'], ['source', 'target']);
      const item: Record<string, unknown> = { type: getAttr(chr, 'type') };
      const source = single(chr, 'source', cp);
      if (source) {
        only(source, `${cp}/source`, ['path'], []);
        item.source = attrsOf(source);
      }
      const target = single(chr, 'target', cp);
      if (target) {
        only(target, `${cp}/target`, kind === 'console' ? ['type', 'port'] : ['port'], []);
        const t: Record<string, unknown> = attrsOf(target);
        if (typeof t.port === 'string') t.port = num(t.port);
        item.target = t;
      }
      return item;
    });
  }
  return { devices: out, contextTargetIsDefault };
}
