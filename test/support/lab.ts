/**
 * What the end-to-end suites need from the lab (tools/lab): its controllers, SSH to them with the lab key and
 * strict host key checking, uploads, and guests booted from artifacts on a controller.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ControllerConnection, type ControllerConfig, uploadFile } from '@vmctx/deployer';
import { sha256File } from '@vmctx/disk-builder';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const LAB_COMMAND = `${REPO_ROOT}tools/lab/lab`;

export interface LabController {
  name: string;
  host: string;
  port: number;
  user: string;
  /** The bridge's name; empty for a controller started with `--no-bridge`. */
  bridge: string;
  netns: string;
  /** The image folder as the controller sees it. */
  images: string;
  /** The controller's state folder on this machine; `${root}/vmctx/images` is its image folder. */
  root: string;
  subnet: string;
  bridgeAddress: string;
}

export interface LabEnv {
  state: string;
  key: string;
  knownHosts: string;
  controllers: LabController[];
  /** The lab's HTTP server: `url` here and on every controller; a file put in `files` is `${url}/NAME`. */
  http: { url: string; files: string };
  guest: {
    kernel: string;
    initrd: string;
    rootfs: string;
    baseImage: string;
    baseImageOnController: string;
    baseFormat: 'raw';
    baseVirtualSize: number;
  };
}

export function labEnv(): LabEnv {
  return JSON.parse(execFileSync(LAB_COMMAND, ['env'], { encoding: 'utf8' })) as LabEnv;
}

export function controller(env: LabEnv, name: string): LabController {
  const found = env.controllers.find((c) => c.name === name);
  if (!found) throw new Error(`lab controller ${name} is not up (lab status; npm test brings it up)`);
  return found;
}

/** Where a file in the controller's image folder lies on this machine (for reading serial logs fast). */
export function hostPath(lc: LabController, remotePath: string): string {
  if (!remotePath.startsWith(`${lc.images}/`)) throw new Error(`${remotePath} is not under ${lc.images}`);
  return `${lc.root}/vmctx/images/${remotePath.slice(lc.images.length + 1)}`;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * The lab controller as the deployer sees one: the suites reach controllers through the product's own SSH
 * module (ssh2, strict host key checking against the lab's known_hosts), so what is tested is what ships.
 */
export function controllerConfig(env: LabEnv, lc: LabController): ControllerConfig {
  return {
    name: lc.name,
    host: lc.host,
    port: lc.port,
    user: lc.user,
    identityFile: env.key,
    knownHosts: env.knownHosts,
    imageDir: lc.images,
    where: `lab ${lc.name}`,
  };
}

const connections = new Map<string, Promise<ControllerConnection>>();

/** One connection per controller for the whole suite file, opened on first use (again if it ended). */
export async function connectionTo(env: LabEnv, lc: LabController): Promise<ControllerConnection> {
  let connection = connections.get(lc.name);
  // A controller restarted by another suite (lab add) ends the old connection: open a new one.
  if (connection && (await connection.catch(() => undefined))?.isClosed) connection = undefined;
  if (!connection) {
    connection = ControllerConnection.open(controllerConfig(env, lc));
    connection.catch(() => connections.delete(lc.name));
    connections.set(lc.name, connection);
  }
  return connection;
}

/** Closes the suite's connection to a controller (before `lab down` of it: its sshd session would survive). */
export async function disconnect(lc: LabController): Promise<void> {
  const connection = connections.get(lc.name);
  connections.delete(lc.name);
  (await connection?.catch(() => undefined))?.close();
}

/** Runs an argument array on a controller; the line is made by the deployer's one quoting function. */
export async function ssh(env: LabEnv, lc: LabController, argv: string[], input?: string | Buffer): Promise<RunResult> {
  const connection = await connectionTo(env, lc);
  return connection.exec(argv, input === undefined ? {} : { stdin: input });
}

/** Like ssh(), but throws with the command's stderr when it fails. */
export async function sshOk(env: LabEnv, lc: LabController, argv: string[], input?: string | Buffer): Promise<string> {
  const connection = await connectionTo(env, lc);
  return connection.run(argv, input === undefined ? {} : { stdin: input });
}

/** The deployer's upload: temporary name, sha256 checked on the controller, rename. */
export async function upload(env: LabEnv, lc: LabController, localPath: string, remotePath: string): Promise<void> {
  const [sha256, size] = await Promise.all([sha256File(localPath), stat(localPath).then((s) => s.size)]);
  await uploadFile(await connectionTo(env, lc), localPath, remotePath, { sha256, size, mode: '0644' });
}

export interface GuestOptions {
  name: string;
  /** The VM's disk on the controller (the qcow2 overlay). */
  disk: string;
  diskFormat?: 'qcow2' | 'raw';
  /** A context ISO on the controller. */
  iso?: string;
  /** How the ISO is attached: a cdrom on ide (`/dev/sr0` in the guest, default) or a read-only virtio disk. */
  isoAs?: 'ide-cdrom' | 'virtio-disk';
  /** More images on the controller, attached as read-only virtio disks `/dev/vdc`, `/dev/vdd`, ... */
  extraDisks?: string[];
  /** Appended to the kernel command line (e.g. `lab.inspect lab.poweroff`). */
  cmdline?: string;
  mac?: string;
  memoryMiB?: number;
}

/**
 * The seed's debian1.xml, corrected for what libvirt and the lab need: `<domain type='qemu'>` (TCG, KVM hangs
 * here), direct kernel boot of the lab kernel, `<clock offset>` instead of the old `sync`, the context CD on
 * ide instead of virtio (refused: "does not support ejectable media"), qemu's real emulator path, and the
 * serial console to a file so that a test can read what the guest printed.
 */
export function referenceDomainXml(env: LabEnv, lc: LabController, options: GuestOptions): string {
  const serial = `${lc.images}/${options.name}.serial.log`;
  const disk = (device: 'disk' | 'cdrom', format: string, file: string, dev: string, bus: string, readonly: boolean) =>
    `    <disk type="file" device="${device}">
      <driver name="qemu" type="${format}"/>
      <source file="${x(file)}"/>
      <target dev="${dev}" bus="${bus}"/>${readonly ? '\n      <readonly/>' : ''}
    </disk>`;
  const disks = [disk('disk', options.diskFormat ?? 'qcow2', options.disk, 'vda', 'virtio', false)];
  if (options.iso) {
    const virtio = options.isoAs === 'virtio-disk';
    disks.push(disk(virtio ? 'disk' : 'cdrom', 'raw', options.iso, virtio ? 'vdb' : 'hdc', virtio ? 'virtio' : 'ide', true));
  }
  (options.extraDisks ?? []).forEach((path, i) => disks.push(disk('disk', 'raw', path, `vd${String.fromCharCode(99 + i)}`, 'virtio', true)));
  const nic = lc.bridge
    ? `    <interface type="bridge">${options.mac ? `\n      <mac address="${x(options.mac)}"/>` : ''}
      <source bridge="${x(lc.bridge)}"/>
      <model type="virtio"/>
    </interface>\n`
    : '';
  // no_timer_check: on a loaded host the kernel's early check of the IO-APIC timer can miss its ticks under TCG and
  // panic ("IO-APIC + timer doesn't work!": a Debian guest's second start in a clean-clone CI run); VMs skip it.
  const cmdline = `console=ttyS0 quiet root=/dev/vda no_timer_check ${options.cmdline ?? ''}`.trim();
  // Without ACPI the guest's `poweroff` never ends the domain.
  return `<domain type="qemu">
  <name>${x(options.name)}</name>
  <memory unit="KiB">${(options.memoryMiB ?? 192) * 1024}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch="x86_64" machine="pc">hvm</type>
    <kernel>${x(env.guest.kernel)}</kernel>
    <initrd>${x(env.guest.initrd)}</initrd>
    <cmdline>${x(cmdline)}</cmdline>
  </os>
  <features>
    <acpi/>
  </features>
  <clock offset="utc"/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
${disks.join('\n')}
${nic}    <serial type="file">
      <source path="${x(serial)}"/>
      <target port="0"/>
    </serial>
    <console type="file">
      <source path="${x(serial)}"/>
      <target type="serial" port="0"/>
    </console>
  </devices>
</domain>
`;
}

/** Text for an XML attribute or element. */
function x(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface Guest {
  name: string;
  lc: LabController;
  /** The serial log on the controller and on this machine. */
  serialPath: string;
  serial(): string;
  waitForSerial(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  waitForShutdown(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

/** Defines and starts a guest on a controller; `xml` overrides the reference domain XML. */
export async function bootGuest(
  env: LabEnv,
  lc: LabController,
  options: GuestOptions,
  xml = referenceDomainXml(env, lc, options),
): Promise<Guest> {
  const serialPath = `${lc.images}/${options.name}.serial.log`;
  const local = hostPath(lc, serialPath);
  // A guest of the same name left by an earlier run goes first.
  await ssh(env, lc, ['sh', '-c', 'virsh destroy "$1"; virsh undefine "$1"; rm -f "$2"', 'x', options.name, serialPath]);
  await sshOk(env, lc, ['virsh', 'define', '/dev/stdin'], xml);
  await sshOk(env, lc, ['virsh', 'start', options.name]);

  const serial = () => (existsSync(local) ? readFileSync(local, 'utf8') : '');
  return {
    name: options.name,
    lc,
    serialPath,
    serial,
    async waitForSerial(pattern, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = serial().match(pattern);
        if (match) return match;
        if (Date.now() > deadline) {
          throw new Error(`${options.name} on ${lc.name}: no ${pattern} in the serial log after ${timeoutMs} ms:\n${serial().slice(-3000)}`);
        }
        await sleep(250);
      }
    },
    async waitForShutdown(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const state = (await sshOk(env, lc, ['virsh', 'domstate', options.name])).trim();
        if (state === 'shut off') return;
        if (Date.now() > deadline) throw new Error(`${options.name} on ${lc.name} still ${state} after ${timeoutMs} ms`);
        await sleep(500);
      }
    },
    async destroy() {
      await ssh(env, lc, ['sh', '-c', 'virsh destroy "$1"; virsh undefine "$1"', 'x', options.name]);
    },
  };
}

/** Makes a raw ext4 base image from a folder, as the lab does (`mke2fs -d`, no mount). */
export function makeBaseImage(rootfsDir: string, outPath: string, size = '64M'): void {
  execFileSync('truncate', ['-s', size, outPath]);
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-E', 'root_owner=0:0', '-d', rootfsDir, outPath]);
}

/**
 * Reads a file from a guest's ext4 disk on a controller, after the guest stopped: a qcow2 overlay is flattened
 * with qemu-img there (where its backing path resolves), then debugfs reads the file without mounting.
 */
export async function readGuestFile(
  env: LabEnv,
  lc: LabController,
  image: string,
  pathInGuest: string,
  format: 'qcow2' | 'raw' = 'qcow2',
): Promise<string> {
  const script = [
    'set -e',
    'img=$1',
    'if [ "$3" = qcow2 ]; then flat=$(mktemp /tmp/vmctx-flat.XXXXXX); trap \'rm -f "$flat"\' EXIT',
    '  qemu-img convert -f qcow2 -O raw "$1" "$flat"; img=$flat; fi',
    'debugfs -R "cat $2" "$img" 2>/dev/null',
  ].join('\n');
  return sshOk(env, lc, ['sh', '-c', script, 'read-guest-file', image, pathInGuest, format]);
}

/** One ping from inside the controller's namespace (through its sshd, which lives there). */
export async function pingFromController(env: LabEnv, lc: LabController, address: string): Promise<RunResult> {
  return ssh(env, lc, ['ping', '-c', '1', '-W', '2', address]);
}

/** The controller's image folder as this machine sees it: files there are read without SSH (fast enough to poll). */
export function imageFolderOnHost(lc: LabController): string {
  return `${lc.root}/vmctx/images`;
}

/** A fault for a test: the controller's libvirtd stopped, or started again once it answers (`lab libvirtd`). */
export function libvirtd(lc: LabController, action: 'stop' | 'start'): void {
  execFileSync(LAB_COMMAND, ['libvirtd', lc.name, action], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The pid of the controller's libvirtd (its pid file, as tools/lab starts it). */
export function libvirtdPid(lc: LabController): number {
  return Number(readFileSync(`${lc.root}/run/libvirtd.pid`, 'utf8').trim());
}

/**
 * The controller's sshd processes: its listener (tools/lab's pid file) and, with `sessions`, the ones serving the
 * connections open now (every sshd in the controller's network namespace). SIGSTOP on all of them is a controller
 * that hangs: connections stay open and nothing answers.
 */
export function sshdPids(lc: LabController, options: { sessions?: boolean } = {}): number[] {
  const listener = Number(readFileSync(`${lc.root}/pids/sshd`, 'utf8').trim());
  if (!options.sessions) return [listener];
  const inNamespace = execFileSync('ip', ['netns', 'pids', lc.netns], { encoding: 'utf8' }).split('\n').filter((l) => l !== '').map(Number);
  const sshd = inNamespace.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sshd';
    } catch {
      return false;
    }
  });
  return [...new Set([listener, ...sshd])];
}

/** Sends a signal to each process that still runs (SIGSTOP and SIGCONT freeze and thaw a daemon). */
export function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}

/** Polls `check` until it returns a value other than undefined or false; throws `what` after `timeoutMs`. */
export async function waitUntil<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string, intervalMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
