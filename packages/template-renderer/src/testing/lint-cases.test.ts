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
  ['a malformed uuid', domainXml('', '<name>vm1</name><uuid>nope</uuid>'), 'invalid-uuid', 'internal error: malformed uuid element', 'define'],
  ['a malformed MAC', domainXml(nic('zz:16:c0:a8:7a:11')), 'malformed-mac', "XML error: unable to parse mac address 'zz:16:c0:a8:7a:11'", 'define'],
  ['a multicast MAC', domainXml(nic('01:16:c0:a8:7a:11')), 'multicast-mac', "XML error: expected unicast mac address, found multicast '01:16:c0:a8:7a:11'", 'define'],
  ['a vendor MAC', domainXml(nic('00:16:c0:A8:7a:11')), 'mac-not-local', undefined, 'never'],
  ['one MAC on two NICs', domainXml(nic('52:54:00:00:00:01') + nic('52:54:00:00:00:01')), 'duplicate-mac', undefined, 'never'],
  ['a bridge without source', domainXml('<interface type="bridge"/>'), 'empty-bridge', "XML error: interface type='bridge' requires a 'source' element", 'define'],
  ['a source without bridge', domainXml('<interface type="bridge"><source/></interface>'), 'empty-bridge', "XML error: Missing required attribute 'bridge' in element 'source'", 'define'],
  ['an empty bridge', domainXml(nic('52:54:00:00:00:01', '')), 'empty-bridge', undefined, 'start'],
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
];

