/**
 * What a domain makes the controller's libvirt do as root: open host files (a kernel, a disk, a serial log),
 * hand host devices, folders or scripts to the guest, or run QEMU past libvirt. libvirtd runs as root, so a
 * template that names `/etc/shadow` as a floppy, `/etc/cron.d/x` as a serial log or `/` as a shared folder gets
 * it done; a deployment must not do that by accident.
 *
 * The rule (one pure function of the domain tree and the allow-list):
 * - every host path the domain names must lie inside one of the allowed folders (for the deployer: the
 *   controller's image folder, /var/lib/libvirt/images and the deployment's `hostPaths`), be absolute and have
 *   no `..` segment (it is normalised first: `//` and `/./` are no way out, and `..` is refused rather than
 *   resolved);
 * - what gives root powers without a path to hold against the list is refused whatever it names:
 *   `<qemu:commandline>`, `<qemu:capabilities>`, `<qemu:override>`, an `<emulator>` that is not a
 *   distribution's QEMU, host devices (`<hostdev>`, `<interface type='hostdev'>`, `<disk type='nvme'>`, a TPM
 *   or input device passed through), host block devices (`<disk type='block'>`, `<disk device='lun'>`),
 *   host folders (`<filesystem>` of type mount, bind or block), interface scripts, and a domain `<seclabel>`
 *   that turns confinement off or sets QEMU's user;
 * - a trusted domain (`trusted`: the deployment's `trustTemplates: true`) gets each of these as a warning
 *   instead of an error: still said, never silent.
 *
 * Symlinks are not followed: the check reads the XML, not the controller. A symlink inside an allowed folder
 * that points elsewhere was put there by someone who can write that folder, and is the operator's own business.
 */
import { posix } from 'node:path';
import { LINTS, type LintCode, type LintFinding } from './lint/catalogue.js';
import { elements, firstElement, getAttr, textOf, type XmlElement } from './xml-tree.js';

/** libvirt's default storage pool: the folder images live in on a host set up by hand or by virt-install. */
export const LIBVIRT_IMAGE_DIR = '/var/lib/libvirt/images';

/** libvirt's QEMU namespace (`xmlns:qemu`); libvirt matches it by URI, whatever the prefix. */
export const QEMU_NAMESPACE = 'http://libvirt.org/schemas/domain/qemu/1.0';

/** The QEMU binaries distributions install, which libvirt would pick itself: any other is a program run as root. */
const DISTRIBUTION_EMULATOR = /^\/usr\/(?:bin\/(?:qemu-system-[a-z0-9_]+|qemu-kvm|kvm)|libexec\/qemu-kvm)$/;

/** The host's random sources a `<rng>` reads: harmless, and in nearly every template. */
const RANDOM_SOURCES = new Set(['/dev/random', '/dev/urandom', '/dev/hwrng']);

/** The findings of this module, in the lint catalogue (lint.ts LINTS). */
export const HOST_ACCESS_CODES = [
  'host-path-not-allowed',
  'qemu-passthrough',
  'custom-emulator',
  'host-device',
  'host-block-device',
  'host-filesystem',
  'host-script',
  'unconfined-domain',
] as const satisfies readonly LintCode[];

export type HostAccessCode = (typeof HOST_ACCESS_CODES)[number];

export interface HostAccessPolicy {
  /** Absolute folders on the controller inside which the domain may name files. */
  allowed: readonly string[];
  /** The deployment trusts its templates (`trustTemplates: true`): each use is a warning, not an error. */
  trusted?: boolean;
}

/**
 * Why `value` may not be opened by libvirt under `allowed`, or undefined when it lies inside one of the folders
 * (strictly: a folder itself is not a file in it).
 */
export function hostPathProblem(value: string, allowed: readonly string[]): string | undefined {
  if (!value.startsWith('/')) return 'is not an absolute path: libvirt would take it from its own working directory';
  if (value.split('/').includes('..')) return "has a '..' segment";
  const path = posix.normalize(value);
  const folders = allowedFolders(allowed);
  if (folders.some((folder) => path.startsWith(folder === '/' ? '/' : `${folder}/`) && path !== folder)) return undefined;
  return `is outside the folders this deployment lets libvirt open (${folders.length > 0 ? folders.join(', ') : 'none'})`;
}

/** The allow-list as compared: normalised, without a trailing slash, each once. */
function allowedFolders(allowed: readonly string[]): string[] {
  return [...new Set(allowed.map((folder) => posix.normalize(folder).replace(/(?<=.)\/+$/, '')))];
}

/** One thing the domain makes libvirt do: open a host path, or use a root power (with the path it names, if any). */
interface Use {
  /** Where in the domain XML. */
  path: string;
  /** What it is, in words: `kernel`, `serial source path`. */
  what: string;
  /** The host path named, if any. */
  value?: string;
  /** Set for a root power: refused whatever the path. */
  power?: Exclude<HostAccessCode, 'host-path-not-allowed'>;
}

/** Findings for every host path outside `policy.allowed` and every root power in `domain`. */
export function hostAccessFindings(domain: XmlElement, policy: HostAccessPolicy, label = 'template'): LintFinding[] {
  const findings: LintFinding[] = [];
  const folders = allowedFolders(policy.allowed);
  const emit = (code: HostAccessCode, use: Use, message: string) => {
    findings.push({
      code,
      severity: policy.trusted ? 'warning' : LINTS[code].severity,
      label,
      path: use.path,
      message: policy.trusted ? `${message} (allowed by trustTemplates: true)` : message,
      when: 'never',
      fix: LINTS[code].fix,
    });
  };
  for (const use of usesOf(domain)) {
    if (use.power !== undefined) {
      emit(use.power, use, `${use.what}${use.value !== undefined ? ` ${JSON.stringify(use.value)}` : ''}: ${POWER[use.power]}`);
      continue;
    }
    const problem = hostPathProblem(use.value!, folders);
    if (problem !== undefined) emit('host-path-not-allowed', use, `${use.what} ${JSON.stringify(use.value)} ${problem}; libvirt opens it as root`);
  }
  return findings;
}

/** What each root power lets the domain do, for its message. */
const POWER: Record<Exclude<HostAccessCode, 'host-path-not-allowed'>, string> = {
  'qemu-passthrough': 'hands QEMU arguments, capabilities or properties past libvirt, which checks none of them (any file, device or program QEMU can reach)',
  'custom-emulator': "libvirt runs this program in place of the host's QEMU, to probe it and to run the guest, with QEMU's access to every image of the controller",
  'host-device': "gives the guest one of the controller's own devices",
  'host-block-device': "gives the guest a block device of the controller, read and written raw (a lun also takes SCSI commands)",
  'host-filesystem': "shares the controller's folder or device with the guest",
  'host-script': 'libvirt runs this script as root when the interface comes up or goes down',
  'unconfined-domain': "turns off QEMU's confinement or chooses the user QEMU runs as (0:0 is root)",
};

/** Every host path and root power of the domain, in document order. */
function usesOf(domain: XmlElement): Use[] {
  const uses: Use[] = [];
  const path = (at: string, what: string, value: string | undefined) => {
    // An empty path is the empty-path lint's: libvirt refuses it or opens nothing.
    if (value !== undefined && value.trim() !== '') uses.push({ path: at, what, value });
  };
  const os = firstElement(domain, 'os');
  if (os) {
    for (const name of ['loader', 'nvram', 'kernel', 'initrd', 'dtb', 'shim']) {
      elements(os, name).forEach((el, i) => path(`/domain/os/${indexed(os, el, name, i)}`, name, textOf(el)));
    }
    elements(os, 'nvram').forEach((nvram, i) => {
      const at = `/domain/os/${indexed(os, nvram, 'nvram', i)}`;
      path(at, 'nvram template', getAttr(nvram, 'template'));
      elements(nvram, 'source').forEach((source) => path(`${at}/source`, 'nvram source file', getAttr(source, 'file')));
    });
    const acpi = firstElement(os, 'acpi');
    if (acpi) elements(acpi, 'table').forEach((table, i) => path(`/domain/os/acpi/table[${i + 1}]`, 'ACPI table', textOf(table)));
  }
  elements(domain, 'sysinfo').forEach((sysinfo, i) => {
    elements(sysinfo, 'entry').forEach((entry, j) => path(`/domain/sysinfo[${i + 1}]/entry[${j + 1}]`, 'firmware config file', getAttr(entry, 'file')));
  });
  elements(domain, 'seclabel').forEach((label, i) => {
    const type = getAttr(label, 'type') ?? 'dynamic';
    if (type === 'none' || type === 'static') uses.push({ path: `/domain/seclabel[${i + 1}]`, what: `<seclabel type='${type}'${getAttr(label, 'model') ? ` model='${getAttr(label, 'model')}'` : ''}>`, power: 'unconfined-domain' });
  });
  for (const child of elements(domain)) {
    const name = qemuElement(domain, child);
    if (name === 'commandline' || name === 'capabilities' || name === 'override') uses.push({ path: `/domain/${child.name}`, what: `<${child.name}>`, power: 'qemu-passthrough' });
  }
  const devices = firstElement(domain, 'devices');
  if (devices) usesOfDevices(devices, uses, path);
  return uses;
}

type PathUse = (at: string, what: string, value: string | undefined) => void;

function usesOfDevices(devices: XmlElement, uses: Use[], path: PathUse): void {
  const at = (el: XmlElement, i: number) => `/domain/devices/${el.name}[${i + 1}]`;
  const emulator = firstElement(devices, 'emulator');
  if (emulator && textOf(emulator).trim() !== '' && !DISTRIBUTION_EMULATOR.test(textOf(emulator))) {
    uses.push({ path: '/domain/devices/emulator', what: 'emulator', value: textOf(emulator), power: 'custom-emulator' });
  }
  elements(devices, 'disk').forEach((disk, i) => {
    const type = getAttr(disk, 'type') ?? 'file';
    const device = getAttr(disk, 'device') ?? 'disk';
    const source = firstElement(disk, 'source');
    const named = source && (getAttr(source, 'dev') ?? getAttr(source, 'file'));
    let power: Use['power'];
    if (type === 'block' || device === 'lun') power = 'host-block-device';
    else if (type === 'nvme') power = 'host-device';
    if (power) uses.push({ path: at(disk, i), what: `<disk type='${type}' device='${device}'>`, ...(named ? { value: named } : {}), power });
    // Every source the disk names, its backing chain's too: the one a power finding named is not said twice.
    sourcesOf(disk, at(disk, i), device, path, power ? source : undefined);
  });
  elements(devices, 'filesystem').forEach((fs, i) => {
    const type = getAttr(fs, 'type') ?? 'mount';
    const source = firstElement(fs, 'source');
    if (type === 'mount' || type === 'bind' || type === 'block') {
      const named = source && (getAttr(source, 'dir') ?? getAttr(source, 'dev') ?? getAttr(source, 'socket'));
      uses.push({ path: at(fs, i), what: `<filesystem type='${type}'>`, ...(named ? { value: named } : {}), power: 'host-filesystem' });
    } else if (source) {
      path(`${at(fs, i)}/source`, 'filesystem source file', getAttr(source, 'file'));
    }
  });
  elements(devices, 'hostdev').forEach((hostdev, i) => uses.push({ path: at(hostdev, i), what: `<hostdev type='${getAttr(hostdev, 'type') ?? ''}'>`, power: 'host-device' }));
  elements(devices, 'interface').forEach((nic, i) => {
    if (getAttr(nic, 'type') === 'hostdev') uses.push({ path: at(nic, i), what: "<interface type='hostdev'>", power: 'host-device' });
    for (const name of ['script', 'downscript']) {
      const script = firstElement(nic, name);
      if (script) uses.push({ path: `${at(nic, i)}/${name}`, what: `interface ${name}`, ...(getAttr(script, 'path') ? { value: getAttr(script, 'path')! } : {}), power: 'host-script' });
    }
    const backend = firstElement(nic, 'backend');
    if (backend) {
      path(`${at(nic, i)}/backend`, 'interface tap device', getAttr(backend, 'tap'));
      path(`${at(nic, i)}/backend`, 'interface vhost device', getAttr(backend, 'vhost'));
    }
    if (getAttr(nic, 'type') === 'vhostuser') elements(nic, 'source').forEach((s) => path(`${at(nic, i)}/source`, 'vhost-user socket', getAttr(s, 'path')));
  });
  for (const kind of ['serial', 'parallel', 'console', 'channel', 'redirdev', 'smartcard']) {
    elements(devices, kind).forEach((chr, i) => chardev(chr, at(chr, i), kind, path));
  }
  elements(devices, 'smartcard').forEach((card, i) => {
    elements(card, 'certificate').forEach((cert, j) => path(`${at(card, i)}/certificate[${j + 1}]`, 'smartcard certificate', textOf(cert)));
    elements(card, 'database').forEach((db) => path(`${at(card, i)}/database`, 'smartcard database', textOf(db)));
  });
  elements(devices, 'rng').forEach((rng, i) => {
    const backend = firstElement(rng, 'backend');
    if (!backend) return;
    if ((getAttr(backend, 'model') ?? 'random') === 'random') {
      const file = textOf(backend);
      if (!RANDOM_SOURCES.has(file)) path(`${at(rng, i)}/backend`, 'random source', file);
    } else {
      chardev(backend, `${at(rng, i)}/backend`, 'rng backend', path);
    }
  });
  elements(devices, 'tpm').forEach((tpm, i) => {
    const backend = firstElement(tpm, 'backend');
    if (!backend) return;
    if (getAttr(backend, 'type') === 'passthrough') {
      const device = firstElement(backend, 'device');
      uses.push({ path: `${at(tpm, i)}/backend`, what: "<tpm> backend type='passthrough'", ...(device && getAttr(device, 'path') ? { value: getAttr(device, 'path')! } : {}), power: 'host-device' });
    } else {
      elements(backend, 'source').forEach((s) => path(`${at(tpm, i)}/backend/source`, 'TPM socket', getAttr(s, 'path')));
    }
  });
  elements(devices, 'input').forEach((input, i) => {
    const source = firstElement(input, 'source');
    const evdev = source && getAttr(source, 'evdev');
    if (evdev !== undefined || getAttr(input, 'type') === 'passthrough') uses.push({ path: at(input, i), what: `<input type='${getAttr(input, 'type') ?? ''}'>`, ...(evdev ? { value: evdev } : {}), power: 'host-device' });
  });
  elements(devices, 'graphics').forEach((graphics, i) => {
    path(at(graphics, i), 'graphics socket', getAttr(graphics, 'socket'));
    elements(graphics, 'listen').forEach((listen, j) => path(`${at(graphics, i)}/listen[${j + 1}]`, 'graphics socket', getAttr(listen, 'socket')));
    elements(graphics, 'gl').forEach((gl) => path(`${at(graphics, i)}/gl`, 'render node', getAttr(gl, 'rendernode')));
  });
  elements(devices, 'audio').forEach((audio, i) => {
    path(at(audio, i), 'audio file', getAttr(audio, 'path'));
    for (const end of ['input', 'output']) elements(audio, end).forEach((e) => path(`${at(audio, i)}/${end}`, `audio ${end} device`, getAttr(e, 'dev')));
  });
  elements(devices, 'memory').forEach((memory, i) => {
    const source = firstElement(memory, 'source');
    if (source) elements(source, 'path').forEach((p) => path(`${at(memory, i)}/source/path`, 'memory backing file', textOf(p)));
  });
  elements(devices, 'shmem').forEach((shmem, i) => elements(shmem, 'server').forEach((s) => path(`${at(shmem, i)}/server`, 'shared memory socket', getAttr(s, 'path'))));
}

/**
 * A disk's sources at any depth (its own, a backing chain's, a mirror's, a data store's, a reservations
 * socket) and the unix sockets of its network hosts; `<target>` names the guest's side and is left out.
 */
function sourcesOf(el: XmlElement, at: string, device: string, path: PathUse, skip: XmlElement | undefined): void {
  const counts = new Map<string, number>();
  for (const child of elements(el)) {
    const n = (counts.get(child.name) ?? 0) + 1;
    counts.set(child.name, n);
    const childAt = `${at}/${child.name}${elements(el, child.name).length > 1 ? `[${n}]` : ''}`;
    if (child.name === 'target') continue;
    if (child.name === 'source' && child !== skip) {
      for (const attr of ['file', 'dev', 'dir', 'path', 'socket']) path(childAt, `${device} source ${attr}`, getAttr(child, attr));
    }
    if (child.name === 'host') path(childAt, `${device} host socket`, getAttr(child, 'socket'));
    sourcesOf(child, childAt, device, path, skip);
  }
}

/** A character device's host side: a file, pipe, socket or device it opens, and its log file. */
function chardev(chr: XmlElement, at: string, kind: string, path: PathUse): void {
  const type = getAttr(chr, 'type');
  // A pty's source path is what libvirt allocated (in live XML), not something it opens on request.
  if (type === 'file' || type === 'pipe' || type === 'unix' || type === 'dev') {
    elements(chr, 'source').forEach((source) => path(`${at}/source`, `${kind} source path`, getAttr(source, 'path')));
  }
  elements(chr, 'log').forEach((log) => path(`${at}/log`, `${kind} log file`, getAttr(log, 'file')));
}

/** `name[2]` when `el` is not its parent's only `name`, else `name`. */
function indexed(parent: XmlElement, el: XmlElement, name: string, i: number): string {
  return elements(parent, name).length > 1 ? `${name}[${i + 1}]` : name;
}

/**
 * The local name of a child of `<domain>` when it is in libvirt's QEMU namespace, by URI as libvirt matches it:
 * `<qemu:commandline>` under `xmlns:qemu=...`, any other prefix bound to that URI, or a default namespace.
 */
function qemuElement(domain: XmlElement, child: XmlElement): string | undefined {
  const colon = child.name.indexOf(':');
  const prefix = colon < 0 ? '' : child.name.slice(0, colon);
  const attr = prefix === '' ? 'xmlns' : `xmlns:${prefix}`;
  const uri = getAttr(child, attr) ?? getAttr(domain, attr);
  return uri === QEMU_NAMESPACE ? child.name.slice(colon + 1) : undefined;
}
