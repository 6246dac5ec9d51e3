import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HOST_ACCESS_CODES, hostAccessFindings, hostPathProblem, LIBVIRT_IMAGE_DIR, type HostAccessCode } from './host-access.js';
import { LINTS } from './lint.js';
import { parseXml } from './xml-tree.js';

const IMAGES = '/var/lib/vmctx/images';
const ALLOWED = [IMAGES, LIBVIRT_IMAGE_DIR];
const QEMU_NS = "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'";

/** A domain as a template writes it, with the VM's own overlay in the image folder and `devices` after it. */
function domain(devices: string, { os = '', head = '', attrs = '', tail = '' } = {}): string {
  return `<domain type='kvm'${attrs ? ` ${attrs}` : ''}>
  <name>web-1</name>${head}
  <memory unit='MiB'>512</memory>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>${os}
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${IMAGES}/web-1.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>${devices}
  </devices>${tail}
</domain>
`;
}

const find = (xml: string, options: { allowed?: string[]; trusted?: boolean } = {}) =>
  hostAccessFindings(parseXml(xml, 'web-1.xml'), { allowed: options.allowed ?? ALLOWED, ...(options.trusted ? { trusted: true } : {}) }, 'vms[0] (web-1)');

// One row per kind the issue names (issue 19, "Hostile input and less-trusted templates"), on XML as written.
const KINDS: [what: string, xml: string, code: HostAccessCode, path: string, named: string | undefined][] = [
  [
    '<qemu:commandline>',
    domain('', { attrs: QEMU_NS, tail: "\n  <qemu:commandline>\n    <qemu:arg value='-fw_cfg'/>\n    <qemu:arg value='name=opt/x,file=/etc/shadow'/>\n  </qemu:commandline>" }),
    'qemu-passthrough',
    '/domain/qemu:commandline',
    undefined,
  ],
  [
    '<qemu:capabilities>',
    domain('', { attrs: QEMU_NS, tail: "\n  <qemu:capabilities>\n    <qemu:del capability='sandbox'/>\n  </qemu:capabilities>" }),
    'qemu-passthrough',
    '/domain/qemu:capabilities',
    undefined,
  ],
  ['an <emulator> of its own', domain('\n    <emulator>/tmp/qemu-wrapper</emulator>'), 'custom-emulator', '/domain/devices/emulator', '/tmp/qemu-wrapper'],
  [
    'a floppy on /etc/shadow',
    domain("\n    <disk type='file' device='floppy'>\n      <source file='/etc/shadow'/>\n      <target dev='fda' bus='fdc'/>\n    </disk>"),
    'host-path-not-allowed',
    '/domain/devices/disk[2]/source',
    '/etc/shadow',
  ],
  [
    "a <disk device='lun'> on /dev/sda",
    domain("\n    <disk type='block' device='lun'>\n      <driver name='qemu' type='raw'/>\n      <source dev='/dev/sda'/>\n      <target dev='sda' bus='scsi'/>\n    </disk>"),
    'host-block-device',
    '/domain/devices/disk[2]',
    '/dev/sda',
  ],
  [
    "a <disk type='block'> in the image folder's name",
    domain(`\n    <disk type='block' device='disk'>\n      <source dev='${IMAGES}/../../../dev/sdb'/>\n      <target dev='vdb' bus='virtio'/>\n    </disk>`),
    'host-block-device',
    '/domain/devices/disk[2]',
    `${IMAGES}/../../../dev/sdb`,
  ],
  [
    'a <filesystem> passthrough of /',
    domain("\n    <filesystem type='mount' accessmode='passthrough'>\n      <driver type='virtiofs'/>\n      <source dir='/'/>\n      <target dir='host'/>\n    </filesystem>"),
    'host-filesystem',
    '/domain/devices/filesystem[1]',
    '/',
  ],
  [
    "a <serial type='file'> to /etc/cron.d/x",
    domain("\n    <serial type='file'>\n      <source path='/etc/cron.d/x'/>\n      <target port='0'/>\n    </serial>"),
    'host-path-not-allowed',
    '/domain/devices/serial[1]/source',
    '/etc/cron.d/x',
  ],
  ['a <kernel> path', domain('', { os: '\n    <kernel>/root/vmlinuz</kernel>' }), 'host-path-not-allowed', '/domain/os/kernel', '/root/vmlinuz'],
  ['an <initrd> path', domain('', { os: '\n    <initrd>/boot/initrd.img</initrd>' }), 'host-path-not-allowed', '/domain/os/initrd', '/boot/initrd.img'],
  ['a <loader> path', domain('', { os: "\n    <loader readonly='yes' type='pflash'>/etc/shadow</loader>" }), 'host-path-not-allowed', '/domain/os/loader', '/etc/shadow'],
  ['an <nvram> path', domain('', { os: '\n    <nvram>/etc/passwd</nvram>' }), 'host-path-not-allowed', '/domain/os/nvram', '/etc/passwd'],
  [
    'an <nvram template>',
    domain('', { os: `\n    <nvram template='/root/secret.fd'>${IMAGES}/web-1_VARS.fd</nvram>` }),
    'host-path-not-allowed',
    '/domain/os/nvram',
    '/root/secret.fd',
  ],
  [
    '<hostdev>',
    domain("\n    <hostdev mode='subsystem' type='pci' managed='yes'>\n      <source>\n        <address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>\n      </source>\n    </hostdev>"),
    'host-device',
    '/domain/devices/hostdev[1]',
    undefined,
  ],
];

describe('hostAccessFindings: what a template makes libvirt do as root', () => {
  it.each(KINDS)('%s: an error at its element, naming the path', (_what, xml, code, path, named) => {
    const findings = find(xml);
    expect(findings.map((f) => [f.code, f.severity, f.path])).toEqual([[code, 'error', path]]);
    const [f] = findings;
    expect(f!.label).toBe('vms[0] (web-1)');
    expect(f!.fix).toBe(LINTS[code].fix);
    if (named !== undefined) expect(f!.message).toContain(JSON.stringify(named));
  });

  it.each(KINDS)('%s: with trustTemplates, the same finding as a warning', (_what, xml, code) => {
    const findings = find(xml, { trusted: true });
    expect(findings.map((f) => [f.code, f.severity])).toEqual([[code, 'warning']]);
    expect(findings[0]!.message).toMatch(/allowed by trustTemplates: true\)$/);
  });

  it('says where the path is and which folders are allowed', () => {
    const [f] = find(KINDS[3]![1]);
    expect(f!.message).toBe(
      `floppy source file "/etc/shadow" is outside the folders this deployment lets libvirt open (${IMAGES}, ${LIBVIRT_IMAGE_DIR}); libvirt opens it as root`,
    );
  });

  it('takes what lies inside an allowed folder: the image folder, libvirt\'s, and a hostPaths folder', () => {
    const kernelBoot = domain(
      `\n    <disk type='file' device='cdrom'>\n      <source file='${LIBVIRT_IMAGE_DIR}/debian-12-netinst.iso'/>\n      <target dev='hdc' bus='ide'/>\n      <readonly/>\n    </disk>\n    <serial type='pty'>\n      <log file='${IMAGES}/web-1.console.log' append='off'/>\n      <target port='0'/>\n    </serial>`,
      { os: '\n    <kernel>/var/cache/vmctx/lab/guest/vmlinuz</kernel>\n    <initrd>/var/cache/vmctx/lab/guest/initrd.img</initrd>' },
    );
    expect(find(kernelBoot).map((f) => f.path)).toEqual(['/domain/os/kernel', '/domain/os/initrd']);
    expect(find(kernelBoot, { allowed: [...ALLOWED, '/var/cache/vmctx/lab/'] })).toEqual([]);
  });

  it("leaves a distribution's QEMU, a pty's allocated path and a random source alone (the seed's debian1.xml)", () => {
    const seed = readFileSync(new URL('../../fixtures/native/debian1.xml', import.meta.url), 'utf8');
    // Its disks are rewritten into the image folder by import; the rest of it holds nothing to refuse.
    const imported = seed.replaceAll('/opt/cloud/', `${IMAGES}/`);
    expect(find(imported)).toEqual([]);
    for (const emulator of ['/usr/bin/qemu-system-x86_64', '/usr/bin/qemu-system-aarch64', '/usr/bin/qemu-kvm', '/usr/libexec/qemu-kvm', '/usr/bin/kvm']) {
      expect(find(domain(`\n    <emulator>${emulator}</emulator>`))).toEqual([]);
    }
    expect(find(domain("\n    <rng model='virtio'>\n      <backend model='random'>/dev/urandom</backend>\n    </rng>"))).toEqual([]);
    expect(find(domain("\n    <rng model='virtio'>\n      <backend model='random'>/etc/shadow</backend>\n    </rng>")).map((f) => f.code)).toEqual(['host-path-not-allowed']);
  });

  it("finds libvirt's QEMU namespace by its URI, whatever the prefix, as libvirt does", () => {
    const other = domain('', { attrs: "xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0'", tail: "\n  <q:commandline><q:arg value='-S'/></q:commandline>" });
    expect(find(other).map((f) => [f.code, f.path])).toEqual([['qemu-passthrough', '/domain/q:commandline']]);
    const byDefault = domain('', { tail: "\n  <commandline xmlns='http://libvirt.org/schemas/domain/qemu/1.0'><arg value='-S'/></commandline>" });
    expect(find(byDefault).map((f) => f.code)).toEqual(['qemu-passthrough']);
    // Another namespace under the same prefix is not libvirt's: libvirt ignores it.
    const foreign = domain('', { attrs: "xmlns:qemu='urn:example'", tail: "\n  <qemu:commandline><qemu:arg value='-S'/></qemu:commandline>" });
    expect(find(foreign)).toEqual([]);
  });

  it('refuses a backing file, a script, an unconfined label and a log outside the folders too', () => {
    const backing = domain(
      `\n    <disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n      <source file='${IMAGES}/data.qcow2'/>\n      <backingStore type='file'>\n        <format type='raw'/>\n        <source file='/root/disk.raw'/>\n      </backingStore>\n      <target dev='vdb' bus='virtio'/>\n    </disk>`,
    );
    expect(find(backing).map((f) => [f.code, f.path])).toEqual([['host-path-not-allowed', '/domain/devices/disk[2]/backingStore/source']]);
    const script = domain("\n    <interface type='ethernet'>\n      <script path='/tmp/up.sh'/>\n    </interface>");
    expect(find(script).map((f) => [f.code, f.path])).toEqual([['host-script', '/domain/devices/interface[1]/script']]);
    const label = domain('', { tail: "\n  <seclabel type='static' model='dac' relabel='no'>\n    <label>0:0</label>\n  </seclabel>" });
    expect(find(label).map((f) => f.code)).toEqual(['unconfined-domain']);
    expect(find(domain('', { tail: "\n  <seclabel type='dynamic' model='apparmor'/>" }))).toEqual([]);
    const log = domain("\n    <console type='pty'>\n      <log file='/etc/profile.d/x.sh'/>\n    </console>");
    expect(find(log).map((f) => [f.code, f.path])).toEqual([['host-path-not-allowed', '/domain/devices/console[1]/log']]);
  });

  it('lists its codes in the lint catalogue, each an error by default with a fix', () => {
    for (const code of HOST_ACCESS_CODES) {
      expect(LINTS[code].severity).toBe('error');
      expect(LINTS[code].fix).toMatch(/trustTemplates: true|hostPaths/);
    }
  });
});

describe('hostPathProblem', () => {
  it.each([
    [`${IMAGES}/web-1.qcow2`, undefined],
    [`${IMAGES}//./web-1.qcow2`, undefined],
    [`${LIBVIRT_IMAGE_DIR}/x.iso`, undefined],
    [`${IMAGES}/../../../etc/shadow`, "has a '..' segment"],
    [`${IMAGES}/sub/../web-1.qcow2`, "has a '..' segment"],
    ['vmlinuz', 'is not an absolute path: libvirt would take it from its own working directory'],
    [` ${IMAGES}/web-1.qcow2`, 'is not an absolute path: libvirt would take it from its own working directory'],
    [IMAGES, `is outside the folders this deployment lets libvirt open (${IMAGES}, ${LIBVIRT_IMAGE_DIR})`],
    [`${IMAGES}-old/web-1.qcow2`, `is outside the folders this deployment lets libvirt open (${IMAGES}, ${LIBVIRT_IMAGE_DIR})`],
    ['/etc/shadow', `is outside the folders this deployment lets libvirt open (${IMAGES}, ${LIBVIRT_IMAGE_DIR})`],
  ])('%j: %s', (path, problem) => {
    expect(hostPathProblem(path, [`${IMAGES}/`, LIBVIRT_IMAGE_DIR])).toBe(problem);
  });
});
