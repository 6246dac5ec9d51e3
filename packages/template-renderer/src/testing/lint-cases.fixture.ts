/**
 * The lint table: one domain XML per lint with the code it must raise and libvirt's message, shared by
 * lint.spec.ts and test/template-renderer.tools.spec.ts (which checks the messages against virsh itself).
 * (A `.test.ts` file so that it is left out of the library build; it holds no tests itself.)
 */
import type { LintCode } from '../lib/lint.js';

/** A domain whose <devices> (and optionally head) are given; otherwise clean. */
export function domainXml(devices: string, head = '<name>vm1</name>'): string {
  return `<domain type="qemu">${head}<memory>524288</memory><os><type arch="x86_64">hvm</type></os><devices>${devices}</devices></domain>`;
}

export const cdromOnVirtio = '<disk type="file" device="cdrom"><source file="/c.iso"/><target dev="vdb" bus="virtio"/><readonly/></disk>';
export const disk = (dev: string, file: string) => `<disk type="file" device="disk"><driver name="qemu" type="qcow2"/><source file="${file}"/><target dev="${dev}" bus="virtio"/></disk>`;
export const nic = (mac: string, bridge = 'virbr0') => `<interface type="bridge"><mac address="${mac}"/><source bridge="${bridge}"/></interface>`;

// One row per lint: the XML, the code, libvirt's message (verbatim, as virsh prints it after "error: ";
// test/template-renderer.tools.spec.ts checks these against virsh), and when libvirt says it.
export const lintTable: [what: string, xml: string, code: LintCode, libvirt: string | undefined, when: string][] = [
  ['cdrom on virtio', domainXml(cdromOnVirtio), 'cdrom-on-virtio', "unsupported configuration: disk type of 'vdb' does not support ejectable media", 'define'],
  ['no name', domainXml('', ''), 'invalid-name', 'missing name information', 'define'],
  ['a name with /', domainXml('', '<name>a/b</name>'), 'invalid-name', "XML error: name a/b cannot contain '/'", 'define'],
  ['an all-digit name', domainXml('', '<name>1234</name>'), 'risky-name', undefined, 'never'],
  ['a name a command line takes for an option', domainXml('', '<name>-rf</name>'), 'shell-risky-name', undefined, 'never'],
  ['a name a shell splits', domainXml('', '<name>web;reboot</name>'), 'shell-risky-name', undefined, 'never'],
  ['a name virsh reads as a domain id', domainXml('', '<name>+1</name>'), 'risky-name', undefined, 'never'],
  ['a name virsh reads as a UUID', domainXml('', '<name>6ba7b810-9dad-11d1-80b4-00c04fd430c8</name>'), 'risky-name', undefined, 'never'],
  ['a malformed uuid', domainXml('', '<name>vm1</name><uuid>nope</uuid>'), 'invalid-uuid', 'internal error: malformed uuid element', 'define'],
  ['a malformed MAC', domainXml(nic('zz:16:c0:a8:7a:11')), 'malformed-mac', "XML error: unable to parse mac address 'zz:16:c0:a8:7a:11'", 'define'],
  ['a multicast MAC', domainXml(nic('01:16:c0:a8:7a:11')), 'multicast-mac', "XML error: expected unicast mac address, found multicast '01:16:c0:a8:7a:11'", 'define'],
  ['a vendor MAC', domainXml(nic('00:16:c0:A8:7a:11')), 'mac-not-local', undefined, 'never'],
  ['one MAC on two NICs', domainXml(nic('52:54:00:00:00:01') + nic('52:54:00:00:00:01')), 'duplicate-mac', undefined, 'never'],
  ['a bridge without source', domainXml('<interface type="bridge"/>'), 'empty-bridge', "XML error: interface type='bridge' requires a 'source' element", 'define'],
  ['a source without bridge', domainXml('<interface type="bridge"><source/></interface>'), 'empty-bridge', "XML error: Missing required attribute 'bridge' in element 'source'", 'define'],
  ['an empty bridge', domainXml(nic('52:54:00:00:00:01', '')), 'empty-bridge', undefined, 'start'],
  // Issue 12: what render refuses in a spec and import refuses as a rewrite, found in a template written by hand.
  ['a bridge name with shell characters', domainXml(nic('52:54:00:00:00:01', 'br0;$(id)')), 'invalid-bridge-name', undefined, 'start'],
  ['a bridge name with quotes and <>', domainXml(nic('52:54:00:00:00:01', 'br&quot;&lt;0&gt;')), 'invalid-bridge-name', undefined, 'start'],
  ['a bridge name with a newline', domainXml(nic('52:54:00:00:00:01', 'br0&#10;x')), 'invalid-bridge-name', undefined, 'start'],
  ['a bridge name outside ASCII', domainXml(nic('52:54:00:00:00:01', 'brü')), 'invalid-bridge-name', undefined, 'start'],
  ['a relative disk path', domainXml(disk('vda', 'vm1.qcow2')), 'invalid-path', undefined, 'start'],
  ['/ as a disk path', domainXml(disk('vda', '/')), 'invalid-path', undefined, 'start'],
  ['a disk path with a newline', domainXml(disk('vda', '/a&#10;b.qcow2')), 'invalid-path', undefined, 'start'],
  ['a relative kernel path', domainXml('').replace('</os>', '<kernel>vmlinuz</kernel></os>'), 'invalid-path', undefined, 'start'],
  ['a serial log path with a newline', domainXml('<serial type="file"><source path="/l&#10;og"/></serial>'), 'invalid-path', undefined, 'start'],
  // libvirt's qemu driver looks the emulator up at define (virQEMUCapsNewForBinaryInternal: stat, relative to its own working directory).
  ['an emulator that is not an absolute path', domainXml('<emulator>kvm; id</emulator>'), 'invalid-path', 'Cannot check QEMU binary kvm; id: No such file or directory', 'define'],
  ['a disk without source', domainXml('<disk type="file" device="disk"><target dev="vda" bus="virtio"/></disk>'), 'empty-path', 'missing source information for device vda', 'define'],
  ['a disk with an empty source', domainXml(disk('vda', '')), 'empty-path', 'missing source information for device vda', 'define'],
  ['a serial file without path', domainXml('<serial type="file"/>'), 'empty-path', 'internal error: Missing source path attribute for char device', 'define'],
  ['two disks on vda', domainXml(disk('vda', '/a') + disk('vda', '/b')), 'target-dev-clash', "XML error: target 'vda' duplicated for disk sources '/a' and '/b'", 'define'],
  [
    'a backing store without format',
    domainXml('<disk type="file" device="disk"><driver name="qemu" type="qcow2"/><source file="/a.qcow2"/><backingStore type="file"><source file="/base.raw"/></backingStore><target dev="vda" bus="virtio"/></disk>'),
    'backing-format-missing',
    'XML error: missing disk backing store format',
    'define',
  ],
  [
    'host-passthrough under TCG',
    domainXml('').replace('<os>', '<cpu mode="host-passthrough"/><os>'),
    'cpu-needs-kvm',
    "unsupported configuration: CPU mode 'host-passthrough' for x86_64 qemu domain on x86_64 host is not supported by hypervisor",
    'start',
  ],
  ['clock sync', domainXml('', '<name>vm1</name><clock sync="localtime"/>'), 'clock-sync-attribute', undefined, 'never'],
  [
    'an overlay on a block disk',
    domainXml('<disk type="block" device="disk"><driver name="qemu" type="qcow2"/><source dev="/var/lib/vmctx/vm1.qcow2"/><target dev="vda" bus="virtio"/></disk>'),
    'block-disk-not-device',
    "'host_device' driver requires '/var/lib/vmctx/vm1.qcow2' to be either a character or block device",
    'start',
  ],
  ['a qcow2 overlay read as raw', domainXml('<disk type="file" device="disk"><driver name="qemu" type="raw"/><source file="/v/vm1.qcow2"/><target dev="vda" bus="virtio"/></disk>'), 'qcow2-read-as-raw', undefined, 'never'],
  [
    'a cdrom on ide on aarch64 virt',
    domainXml('<disk type="file" device="cdrom"><source file="/c.iso"/><target dev="hdc" bus="ide"/><readonly/></disk>').replace('<type arch="x86_64">', '<type arch="aarch64" machine="virt">'),
    'ide-on-machine-without-ide',
    'unsupported configuration: IDE controllers are unsupported for this QEMU binary or machine type',
    'define',
  ],
  [
    'a shareable qcow2',
    domainXml('<disk type="file" device="disk"><driver name="qemu" type="qcow2"/><source file="/a.qcow2"/><target dev="vda" bus="virtio"/><shareable/></disk>'),
    'shared-qcow2',
    "unsupported configuration: shared access for disk 'vda' requires use of supported storage format",
    'define',
  ],
  [
    'an iso format',
    domainXml('<disk type="file" device="disk"><driver name="qemu" type="iso"/><source file="/a.iso"/><target dev="vda" bus="virtio"/></disk>'),
    'disk-format-unsupported',
    "unsupported configuration: storage format 'iso' is not directly supported by QEMU, use 'raw' instead",
    'define',
  ],
  ['a disk without target', domainXml('<disk type="file" device="disk"><source file="/a.img"/></disk>'), 'disk-target-invalid', 'missing target information for device /a.img', 'define'],
  [
    'a partition as target',
    domainXml(disk('vdb1', '/a.qcow2')),
    'disk-target-invalid',
    "unsupported configuration: invalid disk target 'vdb1', partitions can't appear in disk targets",
    'define',
  ],
  [
    'a lun on a file',
    domainXml('<disk type="file" device="lun"><source file="/a.img"/><target dev="sda" bus="scsi"/></disk>'),
    'lun-not-block',
    "unsupported configuration: disk device='lun' is only valid for block type disk source",
    'define',
  ],
  [
    'an ide disk with a pci address',
    domainXml('<disk type="file" device="disk"><source file="/a.img"/><target dev="hda" bus="ide"/><address type="pci" domain="0" bus="0" slot="5" function="0"/></disk>'),
    'disk-address-mismatch',
    "unsupported configuration: Invalid address type 'pci' for the disk 'hda' with the bus type 'ide'",
    'define',
  ],
  ['no memory', domainXml('').replace('<memory>524288</memory>', ''), 'memory-missing', 'XML error: Memory size must be specified via <memory> or in the <numa> configuration', 'define'],
  [
    'boot dev and boot order',
    domainXml('<disk type="file" device="disk"><driver name="qemu" type="raw"/><source file="/a.img"/><target dev="vda" bus="virtio"/><boot order="1"/></disk>').replace('</os>', '<boot dev="hd"/></os>'),
    'boot-order-conflict',
    'unsupported configuration: per-device boot elements cannot be used together with os/boot elements',
    'define',
  ],
  [
    'two scsi controllers index 0',
    domainXml('<controller type="scsi" index="0" model="virtio-scsi"/><controller type="scsi" index="0" model="virtio-scsi"/>'),
    'duplicate-controller-index',
    "XML error: Multiple 'scsi' controllers with index '0'",
    'define',
  ],
  [
    'pcie-root on i440fx',
    domainXml('<controller type="pci" index="0" model="pcie-root"/>').replace('<type arch="x86_64">', '<type arch="x86_64" machine="pc">'),
    'pci-root-model',
    "XML error: The PCI controller with index='0' must be model='pci-root' for this machine type, but model='pcie-root' was found instead",
    'define',
  ],
  [
    'intel iommu on i440fx',
    domainXml('<iommu model="intel"/>'),
    'device-not-on-machine',
    "unsupported configuration: IOMMU device: 'intel' is only supported with Q35 machines",
    'define',
  ],
];

/** Rows whose message comes from libvirt's QEMU driver (or QEMU), which libvirt's test driver does not run. */
export const qemuDriverOnly = new Set([
  'an emulator that is not an absolute path',
  'cdrom on virtio',
  'an overlay on a block disk',
  'a cdrom on ide on aarch64 virt',
  'a shareable qcow2',
  'an iso format',
  'a partition as target',
  'pcie-root on i440fx',
  'intel iommu on i440fx',
]);

