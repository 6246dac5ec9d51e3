import { describe, expect, it } from 'vitest';
import { busFromDev, diskSourcePath, diskTargets, domainArch, domainMachine, targetBus } from './domain-xml.js';
import { childAttr, elements, firstElement, parseXml } from './xml-tree.js';

const domain = parseXml(
  `<domain type='kvm'><os><type arch='aarch64' machine='virt'>hvm</type></os><devices>
    <disk type='file' device='disk'><source file='/img/a.qcow2'/><target dev='vda'/></disk>
    <disk type='block' device='cdrom'><source dev='/dev/sr0'/><target dev='hdc' bus='sata'/></disk>
    <disk type='file' device='floppy'><target dev='fda'/></disk>
    <disk type='file' device='disk'><source file='/img/b.raw'/></disk>
  </devices></domain>`,
);
const devices = firstElement(domain, 'devices')!;
const disks = elements(devices, 'disk');

describe('domain XML reads shared by the lints and the native-template repairs', () => {
  it("reads the architecture and machine from <os><type>, and nothing when there is no <os>", () => {
    expect([domainArch(domain), domainMachine(domain)]).toEqual(['aarch64', 'virt']);
    // A <type> outside <os> is not the domain's: the lints and the repairs read the same (native.ts once looked there).
    const bare = parseXml(`<domain><type arch='ppc64' machine='pseries'/></domain>`);
    expect([domainArch(bare), domainMachine(bare)]).toEqual([undefined, undefined]);
  });

  it("takes a target's bus from bus=, else from its name as libvirt does", () => {
    expect(disks.slice(0, 3).map((d) => targetBus(firstElement(d, 'target')!))).toEqual(['virtio', 'sata', 'fdc']);
    expect(['hda', 'vdb', 'sdc', 'fdd', 'xvda', undefined].map(busFromDev)).toEqual(['ide', 'virtio', 'scsi', 'fdc', undefined, undefined]);
  });

  it('lists the targets in use and reads a source file or device', () => {
    expect(diskTargets(devices)).toEqual(['vda', 'hdc', 'fda']);
    expect(disks.map((d) => diskSourcePath(d))).toEqual(['/img/a.qcow2', '/dev/sr0', undefined, '/img/b.raw']);
    expect([childAttr(disks[0]!, 'target', 'dev'), childAttr(disks[3]!, 'target', 'dev')]).toEqual(['vda', undefined]);
  });
});
