import { describe, expect, it } from 'vitest';
import { macFromIpv4 } from '@vmctx/template-renderer';
import { fixture } from './deployment.fixture.js';

const HEAD = `controllers:
  - { name: lc1, host: h1, imageDir: /srv/vmctx }
  - { name: lc2, host: h2, imageDir: /srv/vmctx }
images:
  - { name: debian, path: ./debian-base.raw }
`;

describe('defaults', () => {
  it('apply to every VM that does not set the field, and a VM choice of one of a pair drops the other', async () => {
    const f = await fixture();
    const d = await f.parse(`${HEAD}defaults:
  controller: lc1
  image: debian
  template: ./debian1.xml
  bridge: br0
  domainType: qemu
  isoMode: disk
  context: { hostname: shared }
vms:
  - name: a
  - name: b
    controller: lc2
    network: default
    spec: { memory: { value: 512, unit: MiB } }
    iso: /srv/vmctx/context.iso
    isoMode: cdrom
`);
    const [a, b] = d.vms;
    expect(a).toMatchObject({ controller: 'lc1', image: 'debian', template: { kind: 'native' }, bridge: 'br0', domainType: 'qemu', isoMode: 'disk', context: { kind: 'context' } });
    expect(b).toMatchObject({ controller: 'lc2', network: 'default', template: { kind: 'spec' }, domainType: 'qemu', isoMode: 'cdrom', context: { kind: 'remote-iso' } });
    expect(b).not.toHaveProperty('bridge');
  });

  it('restart: the defaults give it to every VM, a VM sets its own, and a value other than never or when-needed is refused there', async () => {
    const f = await fixture();
    const d = await f.parse(`${HEAD}defaults: { controller: lc1, image: debian, template: ./debian1.xml, restart: when-needed }
vms:
  - name: a
  - { name: b, restart: never }
`);
    expect(d.vms.map((v) => [v.name, v.restart])).toEqual([
      ['a', 'when-needed'],
      ['b', 'never'],
    ]);
    const problems = await f.problems(`${HEAD}defaults: { controller: lc1, image: debian, template: ./debian1.xml }
vms:
  - { name: a, restart: always }
`);
    expect(problems).toEqual([expect.stringMatching(/^\d+: vms\[0\]\.restart: .*"never".*"when-needed"/)]);
  });

  it('are checked where they are written', async () => {
    const f = await fixture();
    expect(
      await f.problems(`${HEAD}defaults:
  controller: lc9
  isoMode: floppy
vms:
  - { name: a, image: debian, template: ./debian1.xml }
`),
    ).toEqual(['8: defaults.isoMode: Invalid option: expected one of "cdrom"|"disk"']);
    expect(
      await f.problems(`${HEAD}defaults:
  controller: lc9
vms:
  - { name: a, image: debian, template: ./debian1.xml }
  - { name: b, image: debian, template: ./debian1.xml }
`),
    ).toEqual(['7: defaults.controller: no controller "lc9"; known: lc1, lc2']);
  });
});

describe('count', () => {
  it('makes name-1 .. name-N, or puts the number where {n} is', async () => {
    const f = await fixture();
    const d = await f.parse(`${HEAD}defaults: { controller: lc1, image: debian, template: ./debian1.xml }
vms:
  - { name: web, count: 3 }
  - { name: 'db-{n}-x', count: 2 }  # quoted: braces open a mapping in YAML's flow style
`);
    expect(d.vms.map((vm) => [vm.name, vm.where])).toEqual([
      ['web-1', 'vms[0] (web-1 of count 3)'],
      ['web-2', 'vms[0] (web-2 of count 3)'],
      ['web-3', 'vms[0] (web-3 of count 3)'],
      ['db-1-x', 'vms[1] (db-1-x of count 2)'],
      ['db-2-x', 'vms[1] (db-2-x of count 2)'],
    ]);
  });

  it('gives an IP-from-MAC group consecutive addresses, their MACs, and one context', async () => {
    const f = await fixture();
    const d = await f.parse(`${HEAD}defaults: { controller: lc1, image: debian, template: ./debian1.xml }
vms:
  - name: web-{n}
    count: 3
    address: 198.51.100.31
    context:
      network: { method: ip-from-mac, prefix: 24, gateway: 198.51.100.1 }
  - name: other
    address: 198.51.100.40
    context:
      network: { method: ip-from-mac, prefix: 24, macPrefix: "0A:10" }
`);
    expect(d.vms.map((vm) => [vm.name, vm.address, vm.mac])).toEqual([
      ['web-1', '198.51.100.31', '02:00:c6:33:64:1f'],
      ['web-2', '198.51.100.32', '02:00:c6:33:64:20'],
      ['web-3', '198.51.100.33', '02:00:c6:33:64:21'],
      ['other', '198.51.100.40', '0a:10:c6:33:64:28'],
    ]);
    expect(d.vms[1]!.mac).toBe(macFromIpv4('198.51.100.32'));
    // The same context value: the artifacts step builds one ISO for the group.
    expect(JSON.stringify(d.vms[0]!.context)).toBe(JSON.stringify(d.vms[2]!.context));
  });

  it('reads an address from a fixed IP-from-MAC MAC, and a fixed MAC elsewhere as it is', async () => {
    const f = await fixture();
    const d = await f.parse(`${HEAD}defaults: { controller: lc1, image: debian, template: ./debian1.xml }
vms:
  - { name: a, mac: "02:00:C6:33:64:05", context: { network: { method: ip-from-mac, prefix: 24 } } }
  - { name: b, mac: "52:54:00:AA:BB:CC" }
  - { name: c, address: 192.0.2.7, iso: /srv/vmctx/snooze.iso }
`);
    expect(d.vms.map((vm) => [vm.address, vm.mac])).toEqual([
      ['198.51.100.5', '02:00:c6:33:64:05'],
      [undefined, '52:54:00:aa:bb:cc'],
      ['192.0.2.7', '02:00:c0:00:02:07'],
    ]);
  });

  it('refuses a group counted past its network, a missing address, and an address with a static context', async () => {
    const f = await fixture();
    expect(
      await f.problems(`${HEAD}defaults:
  controller: lc1
  image: debian
  template: ./debian1.xml
  context: { network: { method: ip-from-mac, prefix: 24 } }
vms:
  - name: web
    count: 3
    address: 198.51.100.253
  - name: lone
  - name: fixed
    address: 198.51.100.9
    context: { network: { method: static, address: 198.51.100.9/24 } }
  - name: twins
    count: 2
    mac: "02:00:c6:33:64:09"
`),
    ).toEqual([
      "14: vms[0].address: web-3's address 198.51.100.255 is the broadcast address of 198.51.100.0/24",
      "15: vms[1].address: required: the VM's context network is ip-from-mac (from defaults.context), so its MAC encodes its address",
      '17: vms[2].address: address is for IP-from-MAC, and this VM\'s context network is static (its address is network.address of the context)',
      '21: vms[3].mac: one fixed MAC cannot serve the 2 VMs of a count group; give address (IP-from-MAC) or leave mac out',
    ]);
  });

  it("refuses a multicast MAC prefix in the context, where the context is written", async () => {
    const f = await fixture();
    expect(
      await f.problems(`${HEAD}vms:
  - name: m
    controller: lc1
    image: debian
    template: ./debian1.xml
    address: 192.0.2.5
    context: { network: { method: ip-from-mac, prefix: 24, macPrefix: "03:00" } }
`),
    ).toEqual([
      '12: vms[0].context: network.macPrefix: IP-in-MAC prefix 03:00 is multicast (bit 0 of its first octet is set); libvirt refuses multicast MACs',
    ]);
  });
});

describe('template and spec', () => {
  it('completes a spec with the VM name and the bridge of interfaces that leave it out', async () => {
    const f = await fixture();
    const d = await f.parse(`${HEAD}vms:
  - name: s
    controller: lc1
    image: debian
    bridge: br1
    spec:
      type: qemu
      memory: { value: 256, unit: MiB }
      devices:
        interfaces: [{ type: bridge, model: { type: virtio } }, { type: network, source: { network: default } }]
`);
    const template = d.vms[0]!.template;
    expect(template.kind).toBe('spec');
    if (template.kind !== 'spec') return;
    expect(template.spec).toMatchObject({ name: 's', type: 'qemu', memory: { value: 256, unit: 'MiB' }, devices: { disks: [] } });
    expect(template.spec.devices?.interfaces).toEqual([
      { type: 'bridge', source: { bridge: 'br1' }, model: { type: 'virtio' } },
      { type: 'network', source: { network: 'default' } },
    ]);
  });

  it("reports a spec's problems at their path, and needs exactly one of template and spec", async () => {
    const f = await fixture();
    expect(
      await f.problems(`${HEAD}vms:
  - name: s
    controller: lc1
    image: debian
    spec:
      name: other
      memory: { value: 256, unit: parsecs }
      devices:
        interfaces: [{ type: bridge, colour: red }]
  - name: both
    controller: lc1
    image: debian
    template: ./debian1.xml
    spec: { memory: { value: 1 } }
`),
    ).toEqual([
      "11: vms[0].spec.name: the domain is named as the VM: leave the spec's name out",
      '12: vms[0].spec.memory.unit: Invalid option: expected one of "b"|"bytes"|"KB"|"k"|"KiB"|"MB"|"M"|"MiB"|"GB"|"G"|"GiB"|"TB"|"T"|"TiB"',
      '14: vms[0].spec.devices.interfaces[0].colour: unknown key "colour"',
      '19: vms[1].spec: give template or spec, not both',
    ]);
  });

  it('needs a template or spec, a bridge for a spec interface without source, and the template file', async () => {
    const f = await fixture();
    expect(
      await f.problems(`${HEAD}vms:
  - { name: a, controller: lc1, image: debian }
  - { name: b, controller: lc1, image: debian, spec: { memory: { value: 1 }, devices: { interfaces: [{ type: bridge }] } } }
  - { name: c, controller: lc1, image: debian, template: ./nowhere.xml }
`),
    ).toEqual([
      '7: vms[0].template: give template (a native libvirt XML) or spec (inline), here or in defaults',
      '8: vms[1].spec.devices.interfaces[0].source: required: this interface has no source and the VM no bridge to give it',
      `9: vms[2].template: no template file at ${f.path('nowhere.xml')}`,
    ]);
  });
});

describe('context', () => {
  it('reads a context file, a context/ folder, an inline context, or none', async () => {
    const f = await fixture();
    await f.write('ctx/web.yaml', 'hostname: from-file\nnetwork: { method: dhcp }\n');
    await f.write('snooze/context/post-install', '#!/bin/sh\n');
    const d = await f.parse(`${HEAD}defaults: { controller: lc1, image: debian, template: ./debian1.xml }
vms:
  - { name: a, context: ./ctx/web.yaml }
  - { name: b, context: ./ctx/web.yaml }
  - { name: c, context: snooze/context }
  - { name: d }
  - { name: e, context: { hostname: inline } }
`);
    expect(d.vms.map((vm) => vm.context)).toEqual([
      { kind: 'context', source: f.path('ctx/web.yaml'), context: expect.objectContaining({ hostname: 'from-file' }) },
      { kind: 'context', source: f.path('ctx/web.yaml'), context: expect.objectContaining({ hostname: 'from-file' }) },
      { kind: 'folder', path: f.path('snooze/context') },
      { kind: 'none' },
      { kind: 'context', source: `${f.path('deploy.yaml')}:vms[4].context`, context: expect.objectContaining({ hostname: 'inline' }) },
    ]);
  });

  it("reports an inline context's problems under vms[i].context, and iso with context", async () => {
    const f = await fixture();
    expect(
      await f.problems(`${HEAD}defaults: { controller: lc1, image: debian, template: ./debian1.xml }
vms:
  - name: a
    context:
      hostname: "bad host"
  - { name: e, context: { hostname: x }, iso: /srv/c.iso }
`),
    ).toEqual([
      '10: vms[0].context.hostname: expected a host name: letters, digits, inner hyphens and dots, at most 253 characters',
      '11: vms[1].iso: give context or iso, not both',
    ]);
  });

  it("reports a context file's problems with its own line, a folder without post-install, a missing path", async () => {
    const f = await fixture();
    await f.write('bad.yaml', 'hostname: ok\nnetwork:\n  method: static\n  address: 10.0.0.300/24\n');
    await f.write('empty/readme', 'no post-install here');
    await f.write('notes.txt', 'hostname: x');
    expect(
      await f.problems(`${HEAD}defaults: { controller: lc1, image: debian, template: ./debian1.xml }
vms:
  - { name: b, context: ./bad.yaml }
  - { name: c, context: ./empty }
  - { name: d, context: ./missing.yaml }
  - { name: e, context: ./notes.txt }
`),
    ).toEqual([
      `8: vms[0].context: context file ${f.path('bad.yaml')}:4: network.address: expected an IPv4 address with its prefix length, such as 198.51.100.10/24`,
      `9: vms[1].context: ${f.path('empty')} is a folder without post-install: not a context/ folder`,
      `10: vms[2].context: no context file or folder at ${f.path('missing.yaml')}`,
      `11: vms[3].context: ${f.path('notes.txt')} is neither a context file (.yaml, .yml, .json) nor a context/ folder holding post-install`,
    ]);
  });

  it("refuses a context file by its sizes before parsing it: a content over guest-script's limit, a file over its size", async () => {
    const f = await fixture();
    await f.write('big.yaml', `files:\n  - path: /etc/big\n    content: "${'a'.repeat(20_000_000)}"\n`);
    await f.write('huge.yaml', '');
    const { truncate } = await import('node:fs/promises');
    await truncate(f.path('huge.yaml'), 2 ** 31);
    expect(
      await f.problems(`${HEAD}defaults: { controller: lc1, image: debian, template: ./debian1.xml }
vms:
  - { name: b, context: ./big.yaml }
  - { name: h, context: ./huge.yaml }
`),
    ).toEqual([
      `8: vms[0].context: context file ${f.path('big.yaml')}: files[0].content is at least 20000000 bytes, more than a file content may have (16777216 bytes, 16 MiB); refused before parsing`,
      `9: vms[1].context: context file ${f.path('huge.yaml')}: 2147483648 bytes, more than a context may have (33554432 bytes); refused before reading it`,
    ]);
  });
});
