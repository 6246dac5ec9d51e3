import { describe, expect, it } from 'vitest';
import { HOST_ACCESS_CODES } from './host-access.js';
import { formatFinding, hasErrors, lintDomains, lintDomainXml, LINTS } from './lint.js';
import { parseDomainSpec } from './spec.js';
import { cdromOnVirtio, disk, domainXml, lintTable as table, nic } from '../testing/lint-cases.fixture.js';

describe('lints of one domain', () => {
  it.each(table)('%s', (_what, xml, code, libvirt, when) => {
    const findings = lintDomainXml(xml, 't.xml');
    expect(findings.map((f) => f.code)).toEqual([code]);
    const [f] = findings;
    expect(f!.libvirt).toBe(libvirt);
    expect(f!.when).toBe(when);
    expect(f!.severity).toBe(LINTS[code].severity);
    expect(f!.fix.length).toBeGreaterThan(10);
    expect(f!.label).toBe('t.xml');
  });

  it('finds nothing in a clean domain', () => {
    expect(lintDomainXml(domainXml(disk('vda', '/a.qcow2') + nic('52:54:00:00:00:01')))).toEqual([]);
  });

  it('covers every lint in the catalogue (but the deployment-wide ones, tested below, and host access, in host-access.spec.ts)', () => {
    const covered = new Set([...table.map((r) => r[2]), 'duplicate-name', 'duplicate-uuid', ...HOST_ACCESS_CODES]);
    expect([...covered].sort()).toEqual(Object.keys(LINTS).sort());
  });

  it('formats a finding with libvirt\'s words and the fix', () => {
    const [f] = lintDomainXml(domainXml(cdromOnVirtio), 'debian1.xml');
    expect(formatFinding(f!)).toBe(
      `error cdrom-on-virtio: debian1.xml /domain/devices/disk[1]/target: cdrom vdb is on bus virtio, which has no removable media\n` +
        `  libvirt (at define): unsupported configuration: disk type of 'vdb' does not support ejectable media\n` +
        `  fix: ${LINTS['cdrom-on-virtio'].fix}`,
    );
    expect(hasErrors([f!])).toBe(true);
  });
});

describe('lints of a deployment', () => {
  const u1 = '11111111-2222-3333-4444-555555555555';
  const u2 = '11111111-2222-3333-4444-666666666666';
  const dom = (name: string, uuid?: string, mac = '') => domainXml(mac ? nic(mac) : '', `<name>${name}</name>${uuid ? `<uuid>${uuid}</uuid>` : ''}`);

  it('refuses two VMs with one name, in libvirt\'s words', () => {
    const findings = lintDomains([
      { label: 'vms[0]', xml: dom('same', u1) },
      { label: 'vms[1]', xml: dom('same', u2) },
    ]);
    expect(findings).toMatchObject([{ code: 'duplicate-name', label: 'vms[1]', libvirt: `operation failed: domain 'same' already exists with uuid ${u1}` }]);
  });

  it('says what libvirt says when the second VM has no uuid, and that a same-uuid twin silently replaces the first', () => {
    expect(lintDomains([{ label: 'a', xml: dom('same', u1) }, { label: 'b', xml: dom('same') }])).toMatchObject([
      { code: 'duplicate-name', when: 'define', libvirt: `operation failed: domain 'same' already exists with uuid ${u1}` },
    ]);
    expect(lintDomains([{ label: 'a', xml: dom('same', u1) }, { label: 'b', xml: dom('same', u1) }])).toMatchObject([
      { code: 'duplicate-name', when: 'never', message: expect.stringContaining('silently replaces the first') },
    ]);
  });

  it('refuses two VMs with one uuid', () => {
    const findings = lintDomains([
      { label: 'a.xml', xml: dom('same', u1) },
      { label: 'b.xml', xml: dom('other', u1) },
    ]);
    expect(findings).toMatchObject([{ code: 'duplicate-uuid', label: 'b.xml', libvirt: `operation failed: domain 'same' is already defined with uuid ${u1}` }]);
  });

  it('refuses one MAC on two VMs, whatever its case', () => {
    const findings = lintDomains([
      { label: 'a', xml: dom('a', undefined, '52:54:00:aa:00:01') },
      { label: 'b', xml: dom('b', undefined, '52:54:00:AA:00:01') },
    ]);
    expect(findings.map((f) => [f.code, f.label])).toEqual([['duplicate-mac', 'b']]);
  });

  it('checks against existing domains, and lets a redeploy (same name, same uuid) through', () => {
    const existing = [{ name: 'web', uuid: u1, macs: ['52:54:00:aa:00:01'] }];
    expect(lintDomains([{ label: 'x', xml: dom('web', u1, '52:54:00:aa:00:01') }], { existing })).toEqual([]);
    expect(lintDomains([{ label: 'x', xml: dom('web', u2) }], { existing })).toMatchObject([
      { code: 'duplicate-name', libvirt: `operation failed: domain 'web' already exists with uuid ${u1}` },
    ]);
    expect(lintDomains([{ label: 'x', xml: dom('db', u1.replace(/-/g, '')) }], { existing })).toMatchObject([
      { code: 'duplicate-uuid', libvirt: `operation failed: domain 'web' is already defined with uuid ${u1}` },
    ]);
    expect(lintDomains([{ label: 'x', xml: dom('db', undefined, '52:54:00:aa:00:01') }], { existing }).map((f) => f.code)).toEqual(['duplicate-mac']);
  });

  it('lints specs with the identities their deployment gives them', () => {
    const spec = (name: string) =>
      parseDomainSpec({ name, memory: { value: 1 }, devices: { interfaces: [{ type: 'bridge', source: { bridge: 'virbr0' } }] } });
    expect(lintDomains([{ label: 'vms[0]', spec: spec('a') }, { label: 'vms[1]', spec: spec('b') }], { deployment: 'd' })).toEqual([]);
    expect(lintDomains([{ label: 'vms[0]', spec: spec('a') }, { label: 'vms[1]', spec: spec('a') }], { deployment: 'd' }).map((f) => f.code)).toEqual([
      'duplicate-name',
      'duplicate-mac',
    ]);
  });

  it('finds an overlay whose backing format a spec does not record', () => {
    const spec = parseDomainSpec({
      name: 'a',
      memory: { value: 1 },
      devices: { disks: [{ driver: { type: 'qcow2' }, source: { file: '/o.qcow2' }, target: { dev: 'vda', bus: 'virtio' }, backing: { file: '/base.raw' } }] },
    });
    expect(lintDomains([{ label: 'vms[0]', spec }])).toMatchObject([
      {
        code: 'backing-format-missing',
        path: 'devices.disks[0].backing',
        when: 'start',
        libvirt: "format of backing image '/base.raw' of image '/o.qcow2' was not specified in the image metadata (See https://libvirt.org/kbase/backing_chains.html for troubleshooting)",
      },
    ]);
  });
});
