import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { domainDrift } from './domain-drift.js';

/**
 * fixtures/drift: `NAME.rendered.xml` (template-renderer's fixtures, the lab's demo template) and
 * `NAME.defined.xml`, what libvirt 9.0 gave back for it on a lab controller:
 * `virsh define NAME.rendered.xml && virsh dumpxml --inactive DOMAIN` (domain type qemu: the lab has no KVM).
 */
const DIR = new URL('./fixtures/drift/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, DIR), 'utf8');
const NAMES = readdirSync(DIR)
  .filter((f) => f.endsWith('.rendered.xml'))
  .map((f) => f.replace('.rendered.xml', ''));

describe('domainDrift', () => {
  it('has the fixtures it reads', () => {
    expect(NAMES.length).toBeGreaterThanOrEqual(7);
  });

  it.each(NAMES)("finds no drift between %s as rendered and as libvirt defined it (its added defaults, units, machine alias, console)", (name) => {
    expect(domainDrift(fixture(`${name}.rendered.xml`), fixture(`${name}.defined.xml`))).toEqual([]);
  });

  const q35 = () => fixture('q35-sata-cdrom.defined.xml');
  const rendered = () => fixture('q35-sata-cdrom.rendered.xml');

  it.each([
    ['memory set by hand (setmaxmem --config)', (x: string) => x.replace("<memory unit='KiB'>2097152</memory>", "<memory unit='KiB'>3145728</memory>"), ['/domain/memory: 2097152 KiB → 3145728 KiB']],
    ['one more vCPU', (x: string) => x.replace("<vcpu placement='static'>2</vcpu>", "<vcpu placement='static'>3</vcpu>"), ['/domain/vcpu: 2 → 3']],
    ['a disk pointed at another file', (x: string) => x.replace("<source file='/var/lib/libvirt/images/web-q35.qcow2'/>", "<source file='/tmp/other.qcow2'/>"), ['/domain/devices/disk[vda]/source@file: /var/lib/libvirt/images/web-q35.qcow2 → /tmp/other.qcow2']],
    ['an interface moved to another bridge', (x: string) => x.replace("<source bridge='virbr0'/>", "<source bridge='br9'/>"), ['/domain/devices/interface[52:54:00:6b:3c:58]/source@bridge: virbr0 → br9']],
    ['the cdrom removed', (x: string) => x.replace(/<disk type='file' device='cdrom'>[\s\S]*?<\/disk>/, ''), ['/domain/devices/disk[sda]: (none)']],
  ])('names a hand edit: %s', (_what, edit, expected) => {
    const edited = edit(q35());
    expect(edited).not.toBe(q35());
    expect(domainDrift(rendered(), edited)).toEqual(expected);
  });

  it('ignores what libvirt adds and how it writes numbers, case and white space; matches siblings by content, not place', () => {
    const want = `<domain type="qemu"><name>a</name><uuid>ABCDEF00-0000-4000-8000-000000000001</uuid><memory unit="MiB">512</memory>
      <os><type machine="q35">hvm</type></os>
      <devices>
        <interface type="bridge"><mac address="52:54:00:AA:00:02"/><source bridge="b"/></interface>
        <interface type="bridge"><mac address="52:54:00:aa:00:01"/><source bridge="a"/><address type="pci" slot="3"/></interface>
      </devices></domain>`;
    const have = `<domain type='qemu'>
      <name>a</name>
      <uuid>abcdef00-0000-4000-8000-000000000001</uuid>
      <memory unit='KiB'>524288</memory>
      <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
      <devices>
        <controller type='pci' index='0' model='pcie-root'/>
        <interface type='bridge'><mac address='52:54:00:aa:00:01'/><source bridge='a'/><model type='rtl8139'/><address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/></interface>
        <interface type='bridge'><mac address='52:54:00:aa:00:02'/><source bridge='b'/><model type='rtl8139'/></interface>
      </devices>
    </domain>`;
    expect(domainDrift(want, have)).toEqual([]);
    expect(domainDrift(want, have.replace("machine='pc-q35-7.2'", "machine='pc-i440fx-7.2'"))).toEqual(['/domain/os/type@machine: q35 → pc-i440fx-7.2']);
  });

  it('still sees vCPUs taken offline by hand: current below the count is no default', () => {
    const rendered = fixture('vcpus-all-online.rendered.xml').replace('<vcpu current="4">4</vcpu>', '<vcpu current="2">4</vcpu>');
    expect(domainDrift(rendered, fixture('vcpus-all-online.defined.xml'))).toEqual(['/domain/vcpu@current: 2 → (none)']);
  });

  it('says how many more there are past the limit', () => {
    const edited = q35().replace("<vcpu placement='static'>2</vcpu>", "<vcpu placement='static'>3</vcpu>").replace("<memory unit='KiB'>2097152</memory>", "<memory unit='KiB'>1</memory>");
    expect(domainDrift(rendered(), edited, 1)).toEqual(['/domain/memory: 2097152 KiB → 1 KiB', 'and 1 more']);
  });
});
