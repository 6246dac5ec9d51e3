import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { domainSpecArbitrary, freeText } from '../testing/spec-arbitrary.fixture.js';
import { deriveMac, deriveUuid } from './identity.js';
import { renderDomainXml, withIdentity } from './render.js';
import { domainSpecFromXml } from './spec-from-xml.js';
import { parseDomainSpec, SpecError, type DomainSpec } from './spec.js';
import { parseXml } from './xml-tree.js';

const specsDir = new URL('../../fixtures/specs/', import.meta.url);
const cases = readdirSync(specsDir).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));

// Table-driven golden tests, in the style of libvirt-go-xml-module's domain_test.go: each spec in
// fixtures/specs/NAME.json renders to exactly fixtures/specs/NAME.xml, and that XML reads back to the spec.
// UPDATE_GOLDEN=1 rewrites the .xml files (review the diff before committing).
describe('golden round trip: spec -> XML -> spec', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThanOrEqual(5));
  it.each(cases)('%s', (name) => {
    const spec = parseDomainSpec(JSON.parse(readFileSync(new URL(`${name}.json`, specsDir), 'utf8')), '', `${name}.json`);
    const xml = renderDomainXml(spec);
    const golden = new URL(`${name}.xml`, specsDir);
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(golden)) writeFileSync(golden, xml);
    expect(xml).toBe(readFileSync(golden, 'utf8'));
    const back = domainSpecFromXml(xml);
    // `backing` is lint-only and not rendered.
    const expected = structuredClone(spec);
    for (const d of expected.devices.disks) delete d.backing;
    expect(back).toEqual(expected);
  });
});

describe('renderDomainXml', () => {
  const spec = parseDomainSpec({
    name: 'vm1',
    memory: { value: 1, unit: 'GiB' },
    devices: {
      disks: [{ driver: { type: 'qcow2' }, source: { file: '/i/vm1.qcow2' }, target: { dev: 'vda', bus: 'virtio' } }],
      interfaces: [{ type: 'bridge', source: { bridge: 'virbr0' } }, { type: 'bridge', source: { bridge: 'br1' }, mac: { address: '52:54:00:aa:bb:cc' } }],
    },
  });

  it('refuses a currentMemory above memory and a currentVcpu above vcpu, saying where', () => {
    const base = { name: 'g', memory: { value: 1, unit: 'GiB' }, vcpu: 2 };
    expect(() => parseDomainSpec({ ...base, currentMemory: { value: 1025, unit: 'MiB' } }, 'vms[0].spec')).toThrow(/at most memory \(1 GiB\)[^\n]*\n\s*→ at vms\[0\]\.spec\.currentMemory/);
    expect(() => parseDomainSpec({ ...base, currentVcpu: 3 }, 'vms[0].spec')).toThrow(/at most vcpu \(2\)[^\n]*\n\s*→ at vms\[0\]\.spec\.currentVcpu/);
    expect(parseDomainSpec({ ...base, currentMemory: { value: 1024, unit: 'MiB' }, currentVcpu: 2 }).currentVcpu).toBe(2);
  });

  it('is deterministic: same spec, same bytes', () => {
    expect(renderDomainXml(spec, { deployment: 'd' })).toBe(renderDomainXml(structuredClone(spec), { deployment: 'd' }));
  });

  it('fills a missing UUID and MACs from the deployment and keeps given ones', () => {
    const xml = renderDomainXml(spec, { deployment: 'lab' });
    expect(xml).toContain(`<uuid>${deriveUuid('lab', 'vm1')}</uuid>`);
    expect(xml).toContain(`<mac address="${deriveMac('lab', 'vm1', { nic: 0 })}"/>`);
    expect(xml).toContain('<mac address="52:54:00:aa:bb:cc"/>');
    expect(withIdentity(spec, 'lab').uuid).toBe(deriveUuid('lab', 'vm1'));
  });

  it('leaves identity to libvirt without a deployment', () => {
    const xml = renderDomainXml(spec);
    expect(xml).not.toContain('<uuid>');
    expect(xml.match(/<mac /g)).toHaveLength(1);
  });

  it('puts the context cdrom on sata for q35, ide for i440fx, virtio disk in disk mode', () => {
    const withContext = (machine: string | undefined, mode: 'cdrom' | 'disk') =>
      renderDomainXml({ ...spec, os: { ...spec.os, ...(machine ? { machine } : {}) }, devices: { ...spec.devices, context: { source: { file: '/c.iso' }, mode } } });
    expect(withContext('pc-q35-7.2', 'cdrom')).toMatch(/device="cdrom">[\s\S]*<target dev="sda" bus="sata"\/>/);
    expect(withContext(undefined, 'cdrom')).toMatch(/device="cdrom">[\s\S]*<target dev="hdc" bus="ide"\/>/);
    expect(withContext('q35', 'disk')).toMatch(/<source file="\/c.iso"\/>\s*<target dev="vdb" bus="virtio"\/>\s*<readonly\/>/);
  });
});

describe('properties', () => {
  it('random valid specs render to XML that reads back to the same spec', () => {
    fc.assert(
      fc.property(domainSpecArbitrary, (spec: DomainSpec) => {
        // The arbitrary builds output-shaped specs; they must also be valid input.
        const parsed = parseDomainSpec(spec);
        expect(parsed).toEqual(spec);
        expect(domainSpecFromXml(renderDomainXml(spec))).toEqual(spec);
      }),
      { numRuns: 300 },
    );
  });

  const base = parseDomainSpec({
    name: 'vm',
    memory: { value: 1 },
    os: { kernel: '/k', initrd: '/i', cmdline: '' },
    clock: { offset: 'timezone', timezone: 'UTC' },
    devices: {
      emulator: '/e',
      disks: [{ driver: { type: 'qcow2' }, source: { file: '/d' }, target: { dev: 'vda', bus: 'virtio' } }],
      context: { source: { file: '/c' } },
      interfaces: [{ type: 'bridge', source: { bridge: 'b' } }],
      serials: [{ type: 'file', source: { path: '/s' } }],
    },
  });
  // Every free-text field, and how to put a string into it.
  const fields: [string, (s: Record<string, any>, v: string) => void][] = [
    ['name', (s, v) => (s.name = v)],
    ['title', (s, v) => (s.title = v)],
    ['description', (s, v) => (s.description = v)],
    ['os.machine', (s, v) => (s.os.machine = v)],
    ['os.kernel', (s, v) => (s.os.kernel = `/${v}`)],
    ['os.initrd', (s, v) => (s.os.initrd = `/${v}`)],
    ['os.cmdline', (s, v) => (s.os.cmdline = v)],
    ['clock.timezone', (s, v) => (s.clock.timezone = v)],
    ['devices.emulator', (s, v) => (s.devices.emulator = `/${v}`)],
    ['devices.disks[0].source.file', (s, v) => (s.devices.disks[0].source.file = `/${v}`)],
    ['devices.context.source.file', (s, v) => (s.devices.context.source.file = `/${v}`)],
    ['devices.interfaces[0].source.bridge', (s, v) => (s.devices.interfaces[0].source.bridge = v)],
    ['devices.serials[0].source.path', (s, v) => (s.devices.serials[0].source.path = `/${v}`)],
  ];
  const anyString = fc.string({
    unit: fc.oneof(
      fc.constantFrom('\u0000', '\u0001', '\t', '\n', '\r', '\u001f', '\ud800', '\udfff', '\ufffe', '\uffff', '&', '<', ']]>', '"', "'", ' '),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    ),
    maxLength: 20,
  });

  it.each(fields)('any string in %s is refused with its path, or comes back unchanged', (path, put) => {
    fc.assert(
      fc.property(fc.oneof(anyString, freeText), (value) => {
        const input = structuredClone(base) as Record<string, any>;
        put(input, value);
        let spec: DomainSpec;
        try {
          spec = parseDomainSpec(input);
        } catch (error) {
          expect(error).toBeInstanceOf(SpecError);
          expect((error as SpecError).issues.map((i) => i.path)).toContain(path);
          return;
        }
        const xml = renderDomainXml(spec);
        expect(() => parseXml(xml)).not.toThrow();
        expect(domainSpecFromXml(xml)).toEqual(spec);
      }),
      { numRuns: 150 },
    );
  });
});
