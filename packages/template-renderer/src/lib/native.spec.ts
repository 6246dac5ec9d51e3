import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveMac, deriveUuid } from './identity.js';
import { lintDomainXml } from './lint.js';
import { importNativeTemplate } from './native.js';
import { parseDomainSpec } from './spec.js';
import { TemplateError } from './errors.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/native/${name}`, import.meta.url), 'utf8');
const seed = fixture('debian1.xml');

describe("the seed's debian1.xml", () => {
  const lab = {
    name: 'debian7',
    deployment: 'lab',
    disks: ['/var/lib/vmctx/images/debian7.qcow2'],
    iso: '/var/lib/vmctx/images/context.iso',
    bridge: 'virbr0',
  };

  it('imports as given: the clock and the virtio cdrom are repaired, each with a warning saying why', () => {
    const { xml, warnings } = importNativeTemplate(seed, lab, 'debian1.xml');
    expect(warnings.map((w) => w.code)).toEqual(['clock-sync-repaired', 'cdrom-on-virtio-repaired']);
    expect(warnings[0]!.message).toMatch(/sync='localtime'.*offset='localtime'.*libvirt has no 'sync' attribute.*UTC/);
    expect(warnings[1]!.message).toMatch(/does not support ejectable media.*cdrom hdc on bus 'ide'.*\/dev\/sr0/);
    expect(xml).toContain('<clock offset="localtime"/>');
    expect(xml).toMatch(/<source file="\/var\/lib\/vmctx\/images\/context.iso"\/>\n {5}<target dev="hdc" bus="ide"\/>/);
    expect(lintDomainXml(xml).filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('rewrites name, uuid, MAC, disk, ISO and bridge, and leaves the rest as it was', () => {
    const { xml } = importNativeTemplate(seed, { ...lab, bridge: 'br-lab' });
    const mac = deriveMac('lab', 'debian7');
    expect(xml).toBe(
      `<domain type="kvm">
<name>debian7</name>
<uuid>${deriveUuid('lab', 'debian7')}</uuid>
<memory>524288</memory>
<vcpu>1</vcpu>
<os>
   <type arch="x86_64">hvm</type>
</os>
<clock offset="localtime"/>
<on_poweroff>destroy</on_poweroff>
<on_reboot>restart</on_reboot>
<on_crash>destroy</on_crash>
<devices>
   <emulator>/usr/bin/kvm</emulator>
   <disk type="file" device="disk">
   <driver name="qemu" type="qcow2"/>
      <source file="/var/lib/vmctx/images/debian7.qcow2"/>
      <target dev="vda" bus="virtio"/>
   </disk>
   <disk type="file" device="cdrom">
     <source file="/var/lib/vmctx/images/context.iso"/>
     <target dev="hdc" bus="ide"/>
     <readonly/>
     <alias name="ua-vmctx-context"/>
   </disk>
   <interface type="bridge">
     <mac address="${mac}"/>
     <source bridge="br-lab"/>
   </interface>
   <serial type="pty">
     <source path="/dev/ttyS0"/>
     <target port="0"/>
   </serial>
   <console type="pty">
     <source path="/dev/ttyS0"/>
     <target port="0"/>
   </console>
</devices>
</domain>
`,
    );
  });

  it('gives the same instance the same identity every time, and two instances different ones', () => {
    const a = importNativeTemplate(seed, lab).xml;
    expect(importNativeTemplate(seed, lab).xml).toBe(a);
    const b = importNativeTemplate(seed, { ...lab, name: 'debian8' }).xml;
    const ids = (x: string) => [x.match(/<uuid>(.*)<\/uuid>/)![1], x.match(/mac address="(.*?)"/)![1]];
    expect(ids(a)[0]).not.toBe(ids(b)[0]);
    expect(ids(a)[1]).not.toBe(ids(b)[1]);
  });

  it('can attach the ISO as a read-only virtio disk (/dev/vdb) instead', () => {
    const { xml, warnings } = importNativeTemplate(seed, { ...lab, isoMode: 'disk' });
    expect(xml).toMatch(/<disk type="file" device="disk">\n {5}<source file="\/var\/lib\/vmctx\/images\/context.iso"\/>\n {5}<target dev="vdb" bus="virtio"\/>\n {5}<readonly\/>/);
    expect(warnings[1]!.message).toMatch(/read-only virtio disk vdb/);
  });

  it('without a deployment or --mac/--uuid, removes the shared MAC and UUID so libvirt makes new ones', () => {
    const withUuid = seed.replace('<name>debian1</name>', '<name>debian1</name>\n<uuid>11111111-2222-3333-4444-555555555555</uuid>');
    const { xml, warnings } = importNativeTemplate(withUuid, { name: 'x1' });
    expect(xml).not.toMatch(/<uuid>|<mac /);
    expect(warnings.map((w) => w.code)).toEqual(['clock-sync-repaired', 'cdrom-on-virtio-repaired', 'uuid-removed', 'mac-removed']);
    expect(warnings[2]!.message).toMatch(/every instance would share it/);
  });

  it('takes a given uuid and MAC (normalized)', () => {
    const { xml } = importNativeTemplate(seed, { uuid: '11111111-2222-3333-4444-555555555555', macs: ['02:00:C6:33:64:B'] });
    expect(xml).toContain('<uuid>11111111-2222-3333-4444-555555555555</uuid>');
    expect(xml).toContain('<mac address="02:00:c6:33:64:0b"/>');
  });
});

describe('real-world templates', () => {
  it('q35: the sata cdrom becomes the context ISO; metadata, controllers, graphics pass through', () => {
    const src = fixture('q35-sata-cdrom.xml');
    const { xml, warnings } = importNativeTemplate(src, { name: 'web-1', deployment: 'prod', disks: ['/srv/vm/web-1.qcow2'], iso: '/srv/ctx/web-1.iso', bridge: 'br0' });
    expect(warnings).toMatchObject([{ code: 'backing-store-removed', path: '/domain/devices/disk[1]/backingStore', message: expect.stringContaining('/srv/vm/web-1.qcow2') }]);
    expect(xml).toContain('<source file="/srv/ctx/web-1.iso"/>\n      <target dev="sda" bus="sata"/>');
    expect(xml).toContain('<libosinfo:os id="http://debian.org/debian/12"/>');
    expect(xml).toContain('<graphics type="vnc" port="-1" autoport="yes" listen="127.0.0.1"/>');
    expect(xml).toContain('<backend model="random">/dev/urandom</backend>');
    // The overlay's backingStore described the template's image: gone with it (libvirt would open it instead).
    expect(xml).not.toContain('backingStore');
    expect(xml).toContain('<source file="/srv/vm/web-1.qcow2"/>\n      <target dev="vda" bus="virtio"/>');
    // Everything else is as it was, but for the comment (libvirt drops comments too) and the alias that marks the ISO.
    const strip = (s: string) =>
      s
        .replace(/<!--.*?-->\n/, '')
        .replace(/\n *<alias name="ua-vmctx-context"\/>/, '')
        .replace(/\n *<backingStore[\s\S]*?<\/backingStore>/, '')
        .replace(/(<uuid>|<name>)[^<]*/g, '$1')
        .replace(/(address|file|bridge)="[^"]*"/g, '$1=""');
    expect(strip(xml)).toBe(strip(src));
    expect(xml).toMatch(/<target dev="sda" bus="sata"\/>\n {6}<readonly\/>\n {6}<address type="drive" controller="0" bus="0" target="0" unit="0"\/>\n {6}<alias name="ua-vmctx-context"\/>\n {4}<\/disk>/);
  });

  it('i440fx: ide cdrom kept; network interface turned into a bridge when a bridge is asked for', () => {
    const { xml, warnings } = importNativeTemplate(fixture('i440fx-ide-cdrom.xml'), { name: 'db-2', deployment: 'prod', iso: '/srv/ctx/db-2.iso', bridge: 'virbr0' });
    expect(warnings.map((w) => w.code)).toEqual(['interface-type-changed']);
    expect(xml).toContain('<interface type="bridge">\n      <mac address="');
    expect(xml).toContain('<source bridge="virbr0"/>');
    expect(xml).toContain('<qemu:arg value="-no-user-config"/>');
    expect(xml).toContain('<description>Legacy guest &amp; its &lt;context&gt; CD on the ide bus, as Snooze attached it (hdc).</description>');
  });

  it('several NICs and disks: one bridge each, MACs derived per NIC, disks in order, ISO attached on sata', () => {
    const { xml, warnings } = importNativeTemplate(fixture('multi-nic-disk.xml'), {
      name: 'router-2',
      deployment: 'edge',
      disks: ['/d/router-2.qcow2', '/d/router-2-data.raw', '/d/router-2-logs.qcow2'],
      bridge: ['wan0', 'lan0', 'mgmt0'],
      iso: '/d/router-2.iso',
    });
    expect(warnings.map((w) => w.code)).toEqual(['iso-attached']);
    expect(warnings[0]!.message).toMatch(/read-only sata cdrom sda/);
    for (const [i, bridge] of ['wan0', 'lan0', 'mgmt0'].entries()) {
      expect(xml).toContain(`<mac address="${deriveMac('edge', 'router-2', { nic: i })}"/>`);
      expect(xml).toContain(`<source bridge="${bridge}"/>`);
    }
    // The third NIC had no <mac>: it gets one, first, indented like the rest.
    expect(xml).toMatch(new RegExp(`<interface type="bridge">\\n {6}<mac address="${deriveMac('edge', 'router-2', { nic: 2 })}"/>\\n {6}<source bridge="mgmt0"/>`));
    expect(xml).toContain('<mtu size="9000"/>');
    expect(xml).toMatch(/<source file="\/d\/router-2-logs.qcow2"\/>\n {6}<target dev="sdb" bus="scsi"\/>\n {4}<\/disk>\n {4}<disk type="file" device="cdrom">\n {6}<driver name="qemu" type="raw"\/>\n {6}<source file="\/d\/router-2.iso"\/>\n {6}<target dev="sda" bus="sata"\/>\n {6}<readonly\/>\n {6}<alias name="ua-vmctx-context"\/>\n {4}<\/disk>\n {4}<controller/);
  });
});

describe('pass-through', () => {
  it.each(['debian1.xml', 'q35-sata-cdrom.xml', 'i440fx-ide-cdrom.xml', 'multi-nic-disk.xml'])('%s reads and writes back to a fixed point', async (file) => {
    const { parseXml, serializeXml } = await import('./xml-tree.js');
    const once = serializeXml(parseXml(fixture(file)));
    expect(serializeXml(parseXml(once))).toBe(once);
    // Only quotes, the comment and the empty-element style differ from the file as written.
    const canonical = fixture(file).replace(/<!--.*?-->\n/, '').replace(/'/g, '"');
    expect(once).toBe(canonical);
  });
});

describe('rewrite errors', () => {
  it.each([
    [{ macs: ['02:00:00:00:00:01', '02:00:00:00:00:02'] }, /2 MACs given for 1 <interface>/],
    [{ disks: ['/a', '/b'] }, /2 disk paths given for 1 <disk device='disk'>/],
    [{ bridge: ['a', 'b'] }, /2 bridges given for 1 bridged/],
    [{ name: 'a/b' }, /--name "a\/b": .*contains "\/"/],
    [{ uuid: 'nope' }, /--uuid "nope": not a UUID/],
    [{ disks: ['relative.qcow2'] }, /must be an absolute path/],
    [{ bridge: ' ' }, /--bridge " ": not a bridge name/],
    [{ macs: ['zz'] }, /--mac "zz": unable to parse mac address 'zz'/],
    [{ macs: ['01:00:5e:00:00:01'] }, /expected unicast mac address, found multicast/],
  ])('%j', (rewrite, message) => {
    expect(() => importNativeTemplate(seed, rewrite)).toThrow(message);
  });

  // Issue 12: import took these (exit 0, XML libvirt's schema refuses) while render refused them in a spec.
  it.each([
    [{ bridge: 'br0;$(id)' }, /--bridge "br0;\$\(id\)": not a bridge name/],
    [{ bridge: "br'0" }, /--bridge "br'0": not a bridge name/],
    [{ bridge: 'br"0' }, /--bridge "br\\"0": not a bridge name/],
    [{ bridge: 'br<0>' }, /--bridge "br<0>": not a bridge name/],
    [{ bridge: 'br0\nx' }, /--bridge "br0\\nx": contains character U\+000A/],
    [{ bridge: 'brü' }, /--bridge "brü": not a bridge name/],
    [{ bridge: 'bridge-name-too-long' }, /not a bridge name \(1 to 15/],
    [{ bridge: ['a;b'] }, /--bridge "a;b": not a bridge name/],
    [{ disks: ['/a\nb'] }, /--disk "\/a\\nb": contains character U\+000A/],
    [{ disks: ['/'] }, /--disk "\/": disk source file must be an absolute path on the controller/],
    [{ iso: '/' }, /--iso "\/": context ISO file must be an absolute path/],
    [{ iso: '/c\u0000.iso' }, /--iso "\/c\\u0000.iso": contains character U\+0000/],
    [{ emulator: 'kvm; id' }, /--emulator "kvm; id": emulator must be an absolute path on the controller/],
    [{ emulator: '/usr/bin/kvm\n' }, /--emulator .*contains character U\+000A/],
  ])('refuses %j as render refuses it in a spec', (rewrite, message) => {
    expect(() => importNativeTemplate(seed, rewrite)).toThrow(message);
    let code: string | undefined;
    try {
      importNativeTemplate(seed, rewrite);
    } catch (error) {
      code = (error as TemplateError).code;
    }
    expect(code).toBe('TEMPLATE_REWRITE_FAILED');
  });

  /** A spec whose bridge, disk path, ISO path or emulator is `value`, as render would be given it. */
  const specWith = (field: 'bridge' | 'disk' | 'iso' | 'emulator', value: string) =>
    parseDomainSpec({
      name: 'vm1',
      memory: { value: 1, unit: 'GiB' },
      devices: {
        ...(field === 'emulator' ? { emulator: value } : {}),
        disks: [{ driver: { type: 'qcow2' }, source: { file: field === 'disk' ? value : '/i/vm1.qcow2' }, target: { dev: 'vda', bus: 'virtio' } }],
        context: { source: { file: field === 'iso' ? value : '/i/c.iso' } },
        interfaces: [{ type: 'bridge', source: { bridge: field === 'bridge' ? value : 'virbr0' } }],
      },
    });
  const accepts = (fn: () => unknown) => {
    try {
      fn();
      return true;
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      return false;
    }
  };
  const hostile = fc.string({ unit: fc.oneof(fc.constantFrom('/', ';', '$', '(', "'", '"', '<', '>', '&', ' ', '\n', '\t', '\u0000', 'ü', '.', '-', '_'), fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 })), maxLength: 20 });

  it('property: import takes a bridge, disk, ISO or emulator value exactly when render takes it in a spec', () => {
    fc.assert(
      fc.property(fc.constantFrom('bridge' as const, 'disk' as const, 'iso' as const, 'emulator' as const), hostile, (field, value) => {
        const rewrite = { bridge: { bridge: value }, disk: { disks: [value] }, iso: { iso: value }, emulator: { emulator: value } }[field];
        expect(accepts(() => importNativeTemplate(seed, rewrite))).toBe(accepts(() => specWith(field, value)));
      }),
      { numRuns: 400 },
    );
  });
  it('refuses a root other than <domain>', () => {
    expect(() => importNativeTemplate('<network><name>x</name></network>', {}, 'n.xml')).toThrow(/n\.xml: root element is <network>, not <domain>/);
  });
  it('passes unknown elements through untouched', () => {
    const xml = '<domain type="kvm"><name>a</name><future-element x="1"><y/></future-element><devices><future-device/></devices></domain>';
    expect(importNativeTemplate(xml, {}).xml).toBe(`${xml}\n`);
  });
});

describe('repairs for TCG', () => {
  it("makes host-passthrough 'maximum' when the domain becomes type qemu, and says why", () => {
    const { xml, warnings } = importNativeTemplate(fixture('q35-sata-cdrom.xml'), { domainType: 'qemu', deployment: 'd' });
    expect(xml).toContain('<domain type="qemu">');
    expect(xml).toContain('<cpu mode="maximum" check="none" migratable="on"/>');
    expect(warnings).toMatchObject([{ code: 'cpu-mode-repaired', message: expect.stringMatching(/without KVM.*is not supported by hypervisor/) }]);
    expect(lintDomainXml(xml)).toEqual([]);
    expect(lintDomainXml(fixture('q35-sata-cdrom.xml').replace('type="kvm"', 'type="qemu"')).map((f) => f.code)).toEqual(['cpu-needs-kvm']);
  });
  it('keeps host-passthrough for kvm', () => {
    expect(importNativeTemplate(fixture('q35-sata-cdrom.xml'), { deployment: 'd' }).warnings).toEqual([]);
  });
});

describe('importNativeTemplate with iso: null', () => {
  it("removes the template's context CD and says so; other disks stay", () => {
    const xml = `<domain type='kvm'><name>t</name><memory>1024</memory><devices>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/a.qcow2'/><target dev='vda' bus='virtio'/></disk>
      <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/ctx.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>
    </devices></domain>`;
    const out = importNativeTemplate(xml, { name: 'vm1', disks: ['/b.qcow2'], iso: null });
    expect(out.xml).not.toContain('/ctx.iso');
    expect(out.xml).not.toContain("device=\"cdrom\"");
    expect(out.xml).toContain('/b.qcow2');
    expect(out.warnings.map((w) => w.code)).toContain('iso-removed');
  });
});

describe('a rewritten domain libvirt and QEMU can start (issue 13, from libvirt 9.0 tests/qemuxml2argvdata)', () => {
  const dom = (os: string, devices: string) => `<domain type="kvm"><name>t</name><memory>524288</memory><os>${os}</os><devices>${devices}</devices></domain>`;
  const x86 = '<type arch="x86_64" machine="pc">hvm</type>';

  it('the overlay on a block disk becomes a file disk, read as qcow2 (net-mcast.xml, disk-blockio.xml)', () => {
    const { xml, warnings } = importNativeTemplate(
      dom(x86, '<disk type="block" device="disk"><driver name="qemu" type="raw"/><source dev="/dev/HostVG/QEMUGuest1"/><target dev="hda" bus="ide"/><shareable/></disk>'),
      { disks: ['/v/t.qcow2'] },
    );
    expect(xml).toContain('<disk type="file" device="disk"><driver name="qemu" type="qcow2"/><source file="/v/t.qcow2"/><target dev="hda" bus="ide"/></disk>');
    expect(warnings.map((w) => w.code)).toEqual(['overlay-repaired']);
    expect(lintDomainXml(xml)).toEqual([]);
  });

  it('an overlay without a driver gets one', () => {
    const { xml } = importNativeTemplate(dom(x86, '<disk type="file" device="disk"><source file="/a.img"/><target dev="vda"/></disk>'), { disks: ['/v/t.qcow2'] });
    expect(xml).toContain('<disk type="file" device="disk"><driver name="qemu" type="qcow2"/><source file="/v/t.qcow2"/>');
  });

  it('the context ISO on a block cdrom becomes a file cdrom (audio-alsa-best.xml)', () => {
    const { xml, warnings } = importNativeTemplate(dom(x86, '<disk type="block" device="cdrom"><source dev="/dev/cdrom"/><target dev="hdc" bus="ide"/><readonly/></disk>'), { iso: '/v/c.iso' });
    expect(xml).toContain('<disk type="file" device="cdrom"><source file="/v/c.iso"/><target dev="hdc" bus="ide"/>');
    expect(warnings.map((w) => w.code)).toEqual(['iso-disk-repaired']);
  });

  it.each([
    ['s390x', '<type arch="s390x" machine="s390-ccw-virtio">hvm</type>'],
    ['ppc64 pseries', '<type arch="ppc64" machine="pseries">hvm</type>'],
    ['riscv64 virt', '<type arch="riscv64" machine="virt">hvm</type>'],
    ['aarch64 virt', '<type arch="aarch64" machine="virt">hvm</type>'],
  ])('%s: the context cdrom goes on scsi with a virtio-scsi controller, from ide or attached', (_what, os) => {
    const moved = importNativeTemplate(dom(os, '<disk type="file" device="cdrom"><source file="/x.iso"/><target dev="hdc" bus="ide"/><readonly/><address type="drive" controller="0" bus="1" target="0" unit="0"/></disk>'), { iso: '/v/c.iso' });
    expect(moved.warnings.map((w) => w.code)).toEqual(['cdrom-bus-repaired', 'scsi-controller-added']);
    expect(moved.xml).toContain('<target dev="sda" bus="scsi"/><readonly/><alias name="ua-vmctx-context"/></disk><controller type="scsi" index="0" model="virtio-scsi"/>');
    expect(lintDomainXml(moved.xml)).toEqual([]);
    const attached = importNativeTemplate(dom(os, '<disk type="file" device="disk"><driver name="qemu" type="qcow2"/><source file="/a.qcow2"/><target dev="vda" bus="virtio"/></disk>'), { iso: '/v/c.iso' });
    expect(attached.xml).toMatch(/<target dev="sda" bus="scsi"\/><readonly\/><alias name="ua-vmctx-context"\/><\/disk><controller type="scsi" index="0" model="virtio-scsi"\/>/);
    expect(lintDomainXml(attached.xml)).toEqual([]);
  });

  it('a machine without a cdrom bus gets a read-only virtio disk', () => {
    const { xml } = importNativeTemplate(dom('<type arch="x86_64" machine="microvm">hvm</type>', ''), { iso: '/v/c.iso' });
    expect(xml).toContain('<disk type="file" device="disk"><driver name="qemu" type="raw"/><source file="/v/c.iso"/><target dev="vda" bus="virtio"/><readonly/>');
  });
});
