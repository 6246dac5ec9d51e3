/**
 * Issue 19, "hostile input and less-trusted templates": a deployment whose template makes the controller's libvirt
 * (root) open a host file outside the allowed folders, or use a root power, is refused before any connection,
 * with a code and exit 2; with `trustTemplates: true` it is built, and each use is printed as a warning.
 */
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVmctxError } from '@vmctx/contract';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { captureIo, failure } from '../cli/capture-io.fixture.js';
import { prepare } from '../commands/deployment-prepare.js';
import { loadDeployment } from '../config/index.js';
import { createProgram } from '../program.js';
import { buildArtifacts } from './build.js';
import { ArtifactCache } from './cache.js';

const dir = mkdtempSync(join(tmpdir(), 'vmctx-host-access-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const LAB_GUEST = readFileSync(new URL('../../../../examples/demo/lab-guest.xml', import.meta.url), 'utf8');
const QEMU_NS = "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'";
writeFileSync(join(dir, 'base.raw'), '');
truncateSync(join(dir, 'base.raw'), 1024 * 1024);

const io = captureIo();
beforeEach(() => io.reset());

/** The lab's template with `devices` added at the end of <devices> (and `edit` applied to the whole). */
function template(name: string, devices: string, edit: (xml: string) => string = (xml) => xml): string {
  const file = join(dir, `${name}.xml`);
  writeFileSync(file, edit(LAB_GUEST.replace('  </devices>', `${devices}\n  </devices>`)));
  return file;
}

/** A deployment of one VM on an unreachable controller (nothing here may connect), as YAML. */
function deployment(name: string, templateFile: string, extra = '', vm = ''): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
controllers:
  - { name: lc1, host: 127.0.0.1, port: 1, user: root, imageDir: /var/lib/vmctx/images }
images:
  - { name: base, path: ./base.raw }
hostPaths: [/var/cache/vmctx/lab]    # the lab template's kernel and initrd
${extra}vms:
  - name: web-1
    controller: lc1
    image: base
    template: ./${templateFile.slice(dir.length + 1)}
    bridge: virbr0
${vm}`,
  );
  return file;
}

// The kinds of issue 19, each in a copy of the demo's own template (which boots the lab kernel: allowed above). The
// VMs have no context, so the template's cdrom goes: the overlay is disk[1], an added disk disk[2].
const KINDS: [what: string, devices: string, edit: ((xml: string) => string) | undefined, code: string, path: string, named: string | undefined][] = [
  [
    '<qemu:commandline>',
    '',
    (xml) => xml.replace("<domain type='qemu'>", `<domain type='qemu' ${QEMU_NS}>`).replace('</domain>', "  <qemu:commandline><qemu:arg value='-S'/></qemu:commandline>\n</domain>"),
    'qemu-passthrough',
    '/domain/qemu:commandline',
    undefined,
  ],
  ['an <emulator> of its own', '', (xml) => xml.replace('/usr/bin/qemu-system-x86_64', '/tmp/qemu'), 'custom-emulator', '/domain/devices/emulator', '/tmp/qemu'],
  ['a floppy on /etc/shadow', "    <disk type='file' device='floppy'><source file='/etc/shadow'/><target dev='fda' bus='fdc'/></disk>", undefined, 'host-path-not-allowed', '/domain/devices/disk[2]/source', '/etc/shadow'],
  ["a <disk device='lun'> on /dev/sda", "    <disk type='block' device='lun'><source dev='/dev/sda'/><target dev='sda' bus='scsi'/></disk>", undefined, 'host-block-device', '/domain/devices/disk[2]', '/dev/sda'],
  ['a <filesystem> passthrough of /', "    <filesystem type='mount' accessmode='passthrough'><source dir='/'/><target dir='host'/></filesystem>", undefined, 'host-filesystem', '/domain/devices/filesystem[1]', '/'],
  ["a <serial type='file'> to /etc/cron.d/x", "    <serial type='file'><source path='/etc/cron.d/x'/><target port='1'/></serial>", undefined, 'host-path-not-allowed', '/domain/devices/serial[2]/source', '/etc/cron.d/x'],
  ['a <kernel> outside the folders', '', (xml) => xml.replace('/var/cache/vmctx/lab/guest/vmlinuz', '/root/vmlinuz'), 'host-path-not-allowed', '/domain/os/kernel', '/root/vmlinuz'],
  ['an <initrd> with ..', '', (xml) => xml.replace('/var/cache/vmctx/lab/guest/initrd.img', '/var/cache/vmctx/lab/../../../etc/shadow'), 'host-path-not-allowed', '/domain/os/initrd', '/var/cache/vmctx/lab/../../../etc/shadow'],
  ['a <loader>', '', (xml) => xml.replace('<kernel>', "<loader readonly='yes' type='pflash'>/etc/shadow</loader>\n    <kernel>"), 'host-path-not-allowed', '/domain/os/loader', '/etc/shadow'],
  ['an <nvram>', '', (xml) => xml.replace('<kernel>', '<nvram>/etc/passwd</nvram>\n    <kernel>'), 'host-path-not-allowed', '/domain/os/nvram', '/etc/passwd'],
  ['<hostdev>', "    <hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/><product id='0xbeef'/></source></hostdev>", undefined, 'host-device', '/domain/devices/hostdev[1]', undefined],
];

describe('a deployment whose template makes libvirt open host files or use root powers', () => {
  it.each(KINDS)('%s: refused at build, naming the VM, the element and the path', async (what, devices, edit, code, path, named) => {
    const name = `kind-${KINDS.findIndex((k) => k[0] === what)}`;
    const deployed = await loadDeployment(deployment(name, template(name, devices, edit)), { homeDir: dir, sshConfigPath: join(dir, 'none') });
    const error = await buildArtifacts(deployed, { cache: new ArtifactCache(join(dir, 'cache')) }).catch((e: unknown) => e);
    expect(isVmctxError(error) && [error.code, error.kind, error.where]).toEqual(['DEPLOY_DOMAIN_REFUSED', 'input', 'vms[0]']);
    const message = (error as Error).message;
    expect(message).toContain(`error ${code}: vms[0] (web-1) ${path}: `);
    if (named !== undefined) expect(message).toContain(JSON.stringify(named));
    expect(message).toContain(`template ${join(dir, `${name}.xml`)}`);
  });

  // libvirt's own lints pass every one of them (what built and defined them before issue 19): only this rule stops them.
  it.each(KINDS)('%s: with trustTemplates: true, built as before, with a warning of the same finding', async (what, devices, edit, code, path) => {
    const name = `trusted-kind-${KINDS.findIndex((k) => k[0] === what)}`;
    const deployed = await loadDeployment(deployment(name, template(name, devices, edit), 'trustTemplates: true\n'), { homeDir: dir, sshConfigPath: join(dir, 'none') });
    const [built] = await buildArtifacts(deployed, { cache: new ArtifactCache(join(dir, 'cache')) });
    expect(built!.notes.filter((n) => /^(error|warning) /.test(n)).map((n) => n.split(': ').slice(0, 2).join(': '))).toEqual([`warning ${code}: vms[0] (web-1) ${path}`]);
  });

  it('vmctx check exits 2 with DEPLOY_DOMAIN_REFUSED before it connects to anything', async () => {
    const file = deployment('refused', template('refused', "    <serial type='file'><source path='/etc/cron.d/x'/><target port='1'/></serial>"));
    const result = await failure(io, createProgram(io).parseAsync(['check', '--file', file, '--cache', join(dir, 'cache')], { from: 'user' }));
    expect(result).toMatchObject({ exitCode: 2, code: 'DEPLOY_DOMAIN_REFUSED' });
    expect(result.message).toContain(
      'error host-path-not-allowed: vms[0] (web-1) /domain/devices/serial[2]/source: serial source path "/etc/cron.d/x" is outside the folders this deployment lets libvirt open (/var/lib/vmctx/images, /var/lib/libvirt/images, /var/cache/vmctx/lab); libvirt opens it as root',
    );
    expect(result.message).toMatch(/set trustTemplates: true to allow it with a warning/);
    // Nothing was tried on the controller (port 1 would have refused the connection).
    expect(io.err).not.toMatch(/lc1: |CHECK_SSH|SSH_/);
  });

  it('with trustTemplates: true, is built and each use printed as a warning', async () => {
    const file = deployment(
      'trusted',
      template('trusted', "    <serial type='file'><source path='/etc/cron.d/x'/><target port='1'/></serial>", (xml) =>
        xml.replace("<domain type='qemu'>", `<domain type='qemu' ${QEMU_NS}>`).replace('</domain>', "  <qemu:commandline><qemu:arg value='-S'/></qemu:commandline>\n</domain>"),
      ),
      'trustTemplates: true\n',
    );
    const { artifacts, progress } = await prepare({ file, cache: join(dir, 'cache') }, io, false);
    progress.stop();
    expect(artifacts.map((a) => a.vm.name)).toEqual(['web-1']);
    expect(artifacts[0]!.xml).toContain('<qemu:commandline>');
    expect(artifacts[0]!.xml).toContain("path=\"/etc/cron.d/x\"");
    expect(io.err).toContain('lc1: warning host-path-not-allowed: vms[0] (web-1) /domain/devices/serial[2]/source: serial source path "/etc/cron.d/x" is outside');
    expect(io.err).toContain('(allowed by trustTemplates: true)');
    expect(io.err).toMatch(/lc1: warning qemu-passthrough: vms\[0\] \(web-1\) \/domain\/qemu:commandline: <qemu:commandline>: hands QEMU arguments/);
  });

  it('an iso: on the controller outside the folders is refused at its line (exit 2), and taken inside hostPaths', async () => {
    const file = deployment('iso', template('iso', ''), '', '    iso: /etc/shadow\n');
    const result = await failure(io, createProgram(io).parseAsync(['check', '--file', file, '--cache', join(dir, 'cache')], { from: 'user' }));
    expect(result).toMatchObject({ exitCode: 2, code: 'CONFIG_INVALID' });
    expect(result.message).toBe(
      `${file}:13: vms[0].iso: /etc/shadow is outside the folders this deployment lets libvirt open (/var/lib/vmctx/images, /var/lib/libvirt/images, /var/cache/vmctx/lab) on controller lc1: libvirt would open it as root for web-1; put the ISO in /var/lib/vmctx/images, or list its folder under hostPaths:, or set trustTemplates: true`,
    );
    const shared = deployment('iso-shared', template('iso-shared', ''), '', '    iso: /var/cache/vmctx/lab/shared/context.iso\n');
    const { artifacts, progress } = await prepare({ file: shared, cache: join(dir, 'cache') }, io, false);
    progress.stop();
    expect(artifacts[0]!.isoPath).toBe('/var/cache/vmctx/lab/shared/context.iso');
  });
});
