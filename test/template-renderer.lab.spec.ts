/**
 * template-renderer on a lab controller (tools/lab): what it imports is really defined and started by libvirt's
 * QEMU driver, and what the lints say the QEMU driver refuses, it refuses, in the same words. That rendered specs
 * and the seed's imported debian1.xml boot, and that the guest finds its context CD where the renderer said
 * (/dev/sr0 on sata or ide, /dev/vdb as a read-only virtio disk), is checked on the boots of busybox-guest.lab.spec.ts.
 *
 * Guests are named template-renderer-*; each suite run removes its own guests and files.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  importNativeTemplate,
  lintDomainXml,
  parseDomainSpec,
  renderDomainXml,
  type DomainSpecInput,
} from '@vmctx/template-renderer';
import { controller, labEnv, ssh, sshOk, upload, type LabController, type LabEnv } from './support/lab.js';

const run = promisify(execFile);
const fixtures = new URL('../packages/template-renderer/fixtures/native/', import.meta.url).pathname;
const PREFIX = 'template-renderer';
const MARK = 'TEMPLATE-RENDERER-POST-INSTALL-RAN';

let env: LabEnv;
let lc: LabController;
let local: string;
const files: string[] = [];
const domains: string[] = [];

const path = (name: string) => `${lc.images}/${PREFIX}-${name}`;

/** A qcow2 overlay on the lab's raw base image, made on the controller (backing format recorded). */
async function overlay(name: string): Promise<string> {
  const file = path(`${name}.qcow2`);
  files.push(file);
  await sshOk(env, lc, ['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', env.guest.baseFormat, '-b', env.guest.baseImageOnController, file]);
  return file;
}

/** Defines and starts `xml`; returns virsh's error output, or '' when the domain runs. */
async function defineAndStart(name: string, xml: string): Promise<string> {
  domains.push(name);
  await ssh(env, lc, ['sh', '-c', 'virsh destroy "$1"; virsh undefine "$1"', 'x', name]);
  const defined = await ssh(env, lc, ['virsh', 'define', '/dev/stdin'], xml);
  if (defined.code !== 0) return defined.stderr;
  const started = await ssh(env, lc, ['virsh', 'start', name]);
  if (started.code !== 0) return started.stderr;
  const state = (await sshOk(env, lc, ['virsh', 'domstate', name])).trim();
  return state === 'running' ? '' : `state ${state}`;
}

function labSpec(name: string, disk: string, extra: Partial<DomainSpecInput> & { machine?: string; context?: 'cdrom' | 'disk' }): DomainSpecInput {
  return {
    type: 'qemu',
    name: `${PREFIX}-${name}`,
    memory: { value: 192, unit: 'MiB' },
    os: {
      ...(extra.machine ? { machine: extra.machine } : {}),
      kernel: env.guest.kernel,
      initrd: env.guest.initrd,
      cmdline: 'console=ttyS0 quiet root=/dev/vda no_timer_check lab.inspect lab.poweroff',
    },
    devices: {
      disks: [{ driver: { type: 'qcow2' }, source: { file: disk }, target: { dev: 'vda', bus: 'virtio' }, backing: { file: env.guest.baseImageOnController, format: 'raw' } }],
      context: { source: { file: path('context.iso') }, mode: extra.context ?? 'cdrom' },
      interfaces: [{ type: 'bridge', source: { bridge: lc.bridge }, model: { type: 'virtio' } }],
      serials: [{ type: 'file', source: { path: `${lc.images}/${PREFIX}-${name}.serial.log` }, target: { port: 0 } }],
    },
  };
}

beforeAll(async () => {
  env = labEnv();
  lc = controller(env, 'lc1');
  local = await mkdtemp(join(tmpdir(), `${PREFIX}-lab-`));
  // The seed's context CD: a post-install that the guest's contextualization script runs from the CD.
  await run('mkdir', ['-p', join(local, 'context')]);
  await writeFile(join(local, 'context', 'post-install'), `echo ${MARK} >/dev/console\n`, { mode: 0o755 });
  await run('genisoimage', ['-quiet', '-R', '-J', '-o', join(local, 'context.iso'), join(local, 'context')]);
  files.push(path('context.iso'));
  await upload(env, lc, join(local, 'context.iso'), path('context.iso'));
});

afterAll(async () => {
  if (lc) {
    for (const name of domains) await ssh(env, lc, ['sh', '-c', 'virsh destroy "$1"; virsh undefine "$1"', 'x', name]);
    await ssh(env, lc, ['rm', '-f', ...files, ...domains.map((d) => `${lc.images}/${d}.serial.log`)]);
  }
  if (local) await rm(local, { recursive: true, force: true });
});

describe('native templates define and start', () => {
  it.each([
    ['q35-sata-cdrom.xml', (s: string) => s],
    ['i440fx-ide-cdrom.xml', (s: string) => s],
    // Its kernel is the one the template names; on the lab it is the lab's.
    ['multi-nic-disk.xml', (s: string) => s.replace('/var/lib/vmctx/boot/vmlinuz', env.guest.kernel).replace('/var/lib/vmctx/boot/initrd.img', env.guest.initrd)],
  ])('%s', async (file, adapt) => {
    const short = file.replace('.xml', '');
    const source = adapt(await readFile(join(fixtures, file), 'utf8'));
    const diskCount = (source.match(/device=["']disk["']/g) ?? []).length;
    const disks = [];
    for (let i = 0; i < diskCount; i++) disks.push(await overlay(`${short}-${i}`));
    const { xml } = importNativeTemplate(source, {
      name: `${PREFIX}-${short}`,
      deployment: 'lab',
      disks,
      iso: path('context.iso'),
      bridge: lc.bridge,
      domainType: 'qemu',
    }, file);
    expect(lintDomainXml(xml).filter((f) => f.severity === 'error')).toEqual([]);
    expect(await defineAndStart(`${PREFIX}-${short}`, xml)).toBe('');
    await ssh(env, lc, ['virsh', 'destroy', `${PREFIX}-${short}`]);
  });
});

describe("what the lints say the QEMU driver refuses, it refuses in the lints' words", () => {
  it('a cdrom on virtio (the seed as given): refused at define', async () => {
    const name = `${PREFIX}-seed-as-given`;
    const xml = (await readFile(join(fixtures, 'debian1.xml'), 'utf8'))
      .replace('<name>debian1</name>', `<name>${name}</name>`)
      .replace("type='kvm'", "type='qemu'")
      .replace('/opt/cloud/debian1.qcow2', await overlay('as-given'))
      .replace('/opt/cloud/context.iso', path('context.iso'));
    const lint = lintDomainXml(xml).find((f) => f.code === 'cdrom-on-virtio')!;
    const refused = await defineAndStart(name, xml);
    expect(refused).toContain(`error: ${lint.libvirt}`);
  });

  it('host-passthrough under TCG: refused at start', async () => {
    const name = `${PREFIX}-passthrough`;
    const source = await readFile(join(fixtures, 'q35-sata-cdrom.xml'), 'utf8');
    // Imported as kvm (so the cpu is not repaired), then made TCG by hand.
    const imported = importNativeTemplate(source, { name, deployment: 'lab', disks: [await overlay('passthrough')], iso: path('context.iso'), bridge: lc.bridge });
    const xml = imported.xml.replace('<domain type="kvm">', '<domain type="qemu">');
    const lint = lintDomainXml(xml).find((f) => f.code === 'cpu-needs-kvm')!;
    expect(lint.when).toBe('start');
    expect(await defineAndStart(name, xml)).toContain(`error: ${lint.libvirt}`);
  });

  it('an empty bridge: defined, then refused at start', async () => {
    const name = `${PREFIX}-empty-bridge`;
    const spec = parseDomainSpec(labSpec('empty-bridge', await overlay('empty-bridge'), {}));
    const xml = renderDomainXml(spec).replace(`bridge="${lc.bridge}"`, 'bridge=""');
    expect(lintDomainXml(xml)).toMatchObject([{ code: 'empty-bridge', when: 'start' }]);
    domains.push(name);
    await ssh(env, lc, ['sh', '-c', 'virsh destroy "$1"; virsh undefine "$1"', 'x', name]);
    await sshOk(env, lc, ['virsh', 'define', '/dev/stdin'], xml);
    const started = await ssh(env, lc, ['virsh', 'start', name]);
    expect(started.code).not.toBe(0);
  });
});
