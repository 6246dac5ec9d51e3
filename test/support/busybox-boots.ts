/**
 * The boots of the lab's busybox guest that busybox-guest.lab.spec.ts checks: one boot per distinct artifact set,
 * each answering the claims of several packages (reference flow, guest-script, iso-builder, disk-builder,
 * template-renderer, nx-context-iso). A boot records what a test needs afterwards: its console, pings from the
 * controller's namespace, files read back from its disk after it stopped, and facts gathered on the way
 * (lints, qemu-img's view of its overlay, the base image's sha256 before and after).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createOverlay, inspectImage } from '@vmctx/disk-builder';
import { buildContextTree, parseContext, type ContextInput, type FileMap } from '@vmctx/guest-script';
import { writeIsoFromDirectory, writeIsoFromFiles } from '@vmctx/iso-builder';
import { importNativeTemplate, lintDomainXml, parseDomainSpec, renderDomainXml } from '@vmctx/template-renderer';
import { bootGuest, type Guest, type GuestOptions, type LabController, type LabEnv, pingFromController, readGuestFile, type RunResult, sshOk, upload } from './lab.js';

/** What one guest's boots left for the tests. */
export interface BootRecord {
  /** The console of each boot, in order. */
  serials: string[];
  pings: Record<string, RunResult>;
  /** Files read back from the guest's disk after it stopped (path in the guest, or `base:PATH` from its base image). */
  files: Record<string, string>;
  facts: Record<string, unknown>;
  error?: unknown;
}

export interface BootContext {
  env: LabEnv;
  work: string;
  record: BootRecord;
  /** Guests started, for the suite's cleanup. */
  guests: Guest[];
}

export const BOOT_TIMEOUT_MS = 400_000;
export const REFERENCE_IP = '198.51.100.10';

/** A qcow2 overlay written by disk-builder on `backingFile` (a path on the controller), uploaded as `name.qcow2`. */
export async function overlayFor(
  ctx: BootContext,
  lc: LabController,
  name: string,
  backingFile: string,
  options: { virtualSize?: number; clusterBits?: number } = {},
): Promise<string> {
  const local = join(ctx.work, `${name}.qcow2`);
  const virtualSize = options.virtualSize ?? ctx.env.guest.baseVirtualSize;
  await createOverlay({ path: local, backingFile, backingFormat: 'raw', virtualSize, ...(options.clusterBits ? { clusterBits: options.clusterBits } : {}) });
  ctx.record.facts.overlayInfo = await inspectImage(local);
  const remote = `${lc.images}/${name}.qcow2`;
  await upload(ctx.env, lc, local, remote);
  return remote;
}

/** A context ISO written by iso-builder from a file map (or raw bytes, for a "CD" that is no ISO), uploaded. */
export async function isoFor(ctx: BootContext, lc: LabController, name: string, cd: FileMap | Buffer): Promise<string> {
  const local = join(ctx.work, `${name}.iso`);
  if (Buffer.isBuffer(cd)) writeFileSync(local, cd);
  else await writeIsoFromFiles(cd, local, { epoch: 1_700_000_000 });
  const remote = `${lc.images}/${name}.iso`;
  await upload(ctx.env, lc, local, remote);
  return remote;
}

/** A context's CD tree, as guest-script builds it. */
export const contextCd = (input: ContextInput): FileMap => buildContextTree(parseContext(input));

/** The domain XML template-renderer renders for the lab guest: i440fx ('pc') or q35, the context as a cdrom or a read-only virtio disk. */
export function renderedXml(
  ctx: BootContext,
  lc: LabController,
  vm: { name: string; disk: string; mac: string; machine: 'pc' | 'q35'; iso?: string; contextMode?: 'cdrom' | 'disk'; cmdline?: string },
): string {
  const spec = parseDomainSpec({
    type: 'qemu',
    name: vm.name,
    memory: { value: 192, unit: 'MiB' },
    os: { machine: vm.machine, kernel: ctx.env.guest.kernel, initrd: ctx.env.guest.initrd, cmdline: `console=ttyS0 quiet root=/dev/vda no_timer_check ${vm.cmdline ?? ''}`.trim() },
    devices: {
      emulator: '/usr/bin/qemu-system-x86_64',
      disks: [{ driver: { type: 'qcow2' }, source: { file: vm.disk }, target: { dev: 'vda', bus: 'virtio' } }],
      ...(vm.iso ? { context: { source: { file: vm.iso }, mode: vm.contextMode ?? 'cdrom' } } : {}),
      interfaces: [{ type: 'bridge', source: { bridge: lc.bridge }, mac: { address: vm.mac }, model: { type: 'virtio' } }],
      serials: [{ type: 'file', source: { path: `${lc.images}/${vm.name}.serial.log` } }],
    },
  });
  const xml = renderDomainXml(spec, { deployment: 'busybox-guest-test' });
  ctx.record.facts.lint = lintDomainXml(xml);
  return xml;
}

/** The seed's debian1.xml imported by template-renderer, given the lab kernel and a serial file (its image has no boot loader). */
export function importedSeedXml(ctx: BootContext, lc: LabController, name: string, disk: string, iso: string, cmdline: string): string {
  const fixtures = new URL('../../packages/template-renderer/fixtures/native/', import.meta.url).pathname;
  const { env } = ctx;
  const seed = readFileSync(join(fixtures, 'debian1.xml'), 'utf8')
    .replace('</os>', `   <kernel>${env.guest.kernel}</kernel>\n   <initrd>${env.guest.initrd}</initrd>\n   <cmdline>console=ttyS0 quiet root=/dev/vda no_timer_check ${cmdline}</cmdline>\n</os>`)
    .replace(/<serial type='pty'>\s*<source path='\/dev\/ttyS0'\/>/, `<serial type='file'>\n     <source path='${lc.images}/${name}.serial.log'/>`);
  const { xml, warnings } = importNativeTemplate(seed, { name, deployment: 'lab', disks: [disk], iso, bridge: lc.bridge, domainType: 'qemu' });
  ctx.record.facts.importWarnings = warnings.map((w) => w.code);
  return xml;
}

/** Starts a guest (reference XML from `options`, or `xml`), waits for `until` on its console, and records that console. */
export async function bootUntil(ctx: BootContext, lc: LabController, options: GuestOptions, until: RegExp, xml?: string): Promise<Guest> {
  const guest = await bootGuest(ctx.env, lc, options, xml);
  ctx.guests.push(guest);
  const index = ctx.record.serials.push('') - 1;
  try {
    await guest.waitForSerial(until, BOOT_TIMEOUT_MS);
  } finally {
    ctx.record.serials[index] = guest.serial();
  }
  return guest;
}

/** Pings `address` from the controller's namespace and records the answer under `as`. */
export async function pingAs(ctx: BootContext, lc: LabController, as: string, address: string): Promise<void> {
  ctx.record.pings[as] = await pingFromController(ctx.env, lc, address);
}

/** After the guest stopped: reads `paths` from its overlay (`base:PATH` from `base`, raw) into the record. */
export async function readBack(ctx: BootContext, lc: LabController, overlay: string, base: string, paths: string[]): Promise<void> {
  for (const path of paths) {
    ctx.record.files[path] = path.startsWith('base:')
      ? await readGuestFile(ctx.env, lc, base, path.slice('base:'.length), 'raw')
      : await readGuestFile(ctx.env, lc, overlay, path);
  }
}

/** qemu-img's view of an overlay on the controller (check, and the backing chain), recorded under `key`. */
export async function qemuImgFacts(ctx: BootContext, lc: LabController, overlay: string, key: string): Promise<void> {
  const check = JSON.parse(await sshOk(ctx.env, lc, ['qemu-img', 'check', '--output=json', overlay])) as Record<string, number>;
  const chain = JSON.parse(await sshOk(ctx.env, lc, ['qemu-img', 'info', '--output=json', '--backing-chain', overlay])) as Array<Record<string, unknown>>;
  ctx.record.facts[key] = { check, chain };
}

export async function sha256On(ctx: BootContext, lc: LabController, path: string): Promise<string> {
  return (await sshOk(ctx.env, lc, ['sha256sum', path])).split(' ')[0]!;
}

/** An ISO of a folder on this machine, written by iso-builder (deep directories allowed when asked). */
export async function isoOfFolder(ctx: BootContext, lc: LabController, name: string, folder: string, deep = false): Promise<string> {
  const local = join(ctx.work, `${name}.iso`);
  await writeIsoFromDirectory(folder, local, { epoch: 1_700_000_000, deepDirectories: deep ? 'allow' : 'error' });
  const remote = `${lc.images}/${name}.iso`;
  await upload(ctx.env, lc, local, remote);
  return remote;
}
