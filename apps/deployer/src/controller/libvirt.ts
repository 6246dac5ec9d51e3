/**
 * What vmctx asks of a controller's libvirt and system, each as one argument array, and the typed value read
 * back from its output. Nothing here decides; preflight and deploy do.
 */
import { VmctxError } from '@vmctx/contract';
import { elements, firstElement, getAttr, parseXml, textOf, type XmlElement } from '@vmctx/template-renderer';
import { remoteCommandError, type ControllerConnection } from './connection.js';
import type { RemoteCommands } from './command-batch.js';
import { readOwnerMark, type OwnerMark } from './owner-mark.js';
import { DeployerError } from '../errors.js';
import { AccessAndBytes, FileIdentity, IpLinks, readAnswer } from '../sh/answers.js';
import { DIR_STATE_SH, FILE_IDENTITIES_SH, FILE_STATE_SH, LIST_DOMAINS_SH } from '../sh/sh.generated.js';

export interface LibvirtInfo {
  /** `9.0.0` */
  library: string;
  /** `QEMU 7.2.0` */
  hypervisor: string;
  /** Domain types the host can run for its own architecture: `qemu`, `kvm`. */
  domainTypes: string[];
}

export interface DomainInfo {
  name: string;
  uuid: string;
  macs: string[];
  /** Files the domain's disks use (overlays, ISOs). */
  files: string[];
  /** Files its serial ports and consoles write (the console log). */
  consoles: string[];
  /** `running`, `shut off`, ... as `virsh domstate` says. */
  state: string;
  owner?: OwnerMark;
  /** The inactive definition, as libvirt stores it. */
  xml: string;
  /**
   * Why the definition could not be read (deeper than our parser goes, say): such a domain is foreign whatever it
   * says, its name and UUID are taken from the text, and nothing else of it is known.
   */
  unreadable?: string;
}

// The version, then the capabilities: `virsh version; capabilities` with a mark between them and after.
const CAPABILITIES_MARK = '=== vmctx-capabilities';
// sh/list-domains.sh prints this line before the domains (its own copy: list-domains.spec checks the script's, the
// fake-controller specs that listDomains finds it).
const DOMAINS_MARK = '=== vmctx-domains';
const INFO_BATCH = `version; echo ${CAPABILITIES_MARK}; capabilities;`;

function parseLibvirtInfo(out: string): LibvirtInfo {
  const version = out.slice(0, Math.max(0, out.indexOf(`${CAPABILITIES_MARK}\n`)));
  const capabilities = out.slice(version.length + CAPABILITIES_MARK.length + 1, Math.max(0, out.indexOf(`${DOMAINS_MARK}\n`)));
  const library = /Using library: libvirt ([\d.]+)/.exec(version)?.[1] ?? 'unknown';
  const hypervisor = /Running hypervisor: (.+)/.exec(version)?.[1]?.trim() ?? 'unknown';
  const caps = parseXml(capabilities.trim(), 'virsh capabilities');
  // <capabilities><host><cpu><arch>x86_64</arch>: the domain types offered for the host's own architecture.
  const host = firstElement(caps, 'host');
  const cpu = host && firstElement(host, 'cpu');
  const archEl = cpu && firstElement(cpu, 'arch');
  const hostArch = archEl ? textOf(archEl).trim() : '';
  const types = new Set<string>();
  for (const guest of elements(caps, 'guest')) {
    const arch = firstElement(guest, 'arch');
    if (!arch || (hostArch && getAttr(arch, 'name') !== hostArch)) continue;
    for (const d of elements(arch, 'domain')) types.add(getAttr(d, 'type') ?? '');
  }
  types.delete('');
  return { library, hypervisor, domainTypes: [...types].sort() };
}

/**
 * How long a virsh command may take on a controller. libvirtd that hangs (frozen, deadlocked) keeps virsh waiting on
 * its socket for ever, and with it check, plan, deploy and destroy, on every controller (issue 19, deployer-safety's
 * frozen libvirtd): each virsh runs under timeout(1), and a controller whose libvirt does not answer is reported.
 * Reads are quick (~70 ms a virsh on the lab); a start launches qemu, which a loaded host makes slow.
 */
const VIRSH_READ_SECONDS = 30;
const VIRSH_BATCH_SECONDS = 60;
const VIRSH_CHANGE_SECONDS = 120;

/** A virsh command under timeout(1): TERM after `seconds`, KILL 5 s later; exit 124 says it was ended. */
function virsh(seconds: number, ...args: string[]): string[] {
  return ['timeout', '-k', '5', String(seconds), 'virsh', ...args];
}

export async function listDomains(connection: RemoteCommands): Promise<DomainInfo[]> {
  return parseDomains(await runListDomains(connection, ''));
}

async function runListDomains(connection: RemoteCommands, before: string): Promise<string> {
  // sh/list-domains.sh: the UUIDs, then one virsh a 200 domains for their state and inactive XML, after `before`.
  const result = await connection.exec(['sh', '-c', LIST_DOMAINS_SH, 'vmctx-list-domains', before, String(VIRSH_READ_SECONDS), String(VIRSH_BATCH_SECONDS)]);
  // Only the listing can fail the script (the batch's failures are not errors): say it as that command.
  if (result.code === 124) throw commandFailed(connection, `virsh list --all --uuid (no answer within ${VIRSH_READ_SECONDS} s: libvirtd hangs?)`, result.stderr);
  if (result.code !== 0) throw commandFailed(connection, `virsh list --all --uuid (exit ${result.code})`, result.stderr);
  return result.stdout;
}

/**
 * libvirt's version and capabilities, and every domain as listDomains reads them, answered by the same virsh
 * processes (what preflight reads: each virsh costs the controller ~70 ms of CPU on the lab).
 */
export async function libvirtAndDomains(connection: RemoteCommands): Promise<{ info: LibvirtInfo; domains: DomainInfo[] }> {
  const out = await runListDomains(connection, INFO_BATCH);
  return { info: parseLibvirtInfo(out), domains: parseDomains(out) };
}

function parseDomains(out: string): DomainInfo[] {
  const domains: DomainInfo[] = [];
  // After the mark (absent when there is no domain), each part: the state line, a blank line, the XML.
  const start = out.indexOf(`${DOMAINS_MARK}\n`);
  for (const part of out.slice(start < 0 ? out.length : start).split(/^=== vmctx-domain \S+\n/m).slice(1)) {
    const newline = part.indexOf('\n');
    const xml = part.slice(newline + 1).trim();
    if (newline < 0 || !xml.startsWith('<domain')) continue;
    domains.push(readableOrNot(xml, part.slice(0, newline).trim()));
  }
  return domains;
}

/**
 * A foreign domain is read only for what vmctx needs: one whose XML our parser refuses (libvirt accepts 150 levels
 * of nesting, template-renderer's parser 128) must not stop check, deploy or destroy on its controller.
 */
function readableOrNot(xml: string, state: string): DomainInfo {
  try {
    return domainInfo(xml, state);
  } catch (error) {
    // libvirt writes <name> and <uuid> first, as direct children of <domain> (formatdomain "General metadata").
    const name = /<name>([^<]*)<\/name>/.exec(xml)?.[1]?.trim() ?? '';
    const uuid = /<uuid>([^<]*)<\/uuid>/.exec(xml)?.[1]?.trim().toLowerCase() ?? '';
    return { name, uuid, macs: [], files: [], consoles: [], state, xml, unreadable: (error as Error).message };
  }
}

export function domainInfo(xml: string, state: string): DomainInfo {
  const root = parseXml(xml, 'virsh dumpxml');
  const devices = firstElement(root, 'devices');
  const macs = devices
    ? elements(devices, 'interface')
        .map((i) => firstElement(i, 'mac'))
        .map((m) => (m ? getAttr(m, 'address')?.toLowerCase() : undefined))
        .filter((m): m is string => m !== undefined)
    : [];
  const files = devices
    ? elements(devices, 'disk')
        .map((d) => firstElement(d, 'source'))
        .map((s) => (s ? (getAttr(s, 'file') ?? getAttr(s, 'dev')) : undefined))
        .filter((f): f is string => f !== undefined)
    : [];
  // A file serial's source, and a pty serial's <log file> (formatdomain "Logging"): where artifacts/console-log.ts
  // puts the console log.
  const consoles = devices
    ? [...elements(devices, 'serial'), ...elements(devices, 'console')]
        .flatMap((c) => [getAttr(c, 'type') === 'file' ? firstElement(c, 'source') : undefined, firstElement(c, 'log')].map((e) => (e ? (getAttr(e, 'path') ?? getAttr(e, 'file')) : undefined)))
        .filter((f): f is string => f !== undefined)
    : [];
  const owner = readOwnerMark(root);
  return {
    name: text(root, 'name'),
    uuid: text(root, 'uuid').toLowerCase(),
    macs,
    files,
    consoles,
    state,
    ...(owner ? { owner } : {}),
    xml,
  };
}

function text(root: XmlElement, name: string): string {
  const el = firstElement(root, name);
  return el ? textOf(el).trim() : '';
}

export interface BridgeState {
  exists: boolean;
  isBridge: boolean;
  up: boolean;
}

export async function bridgeState(connection: RemoteCommands, name: string): Promise<BridgeState> {
  const result = await connection.exec(['ip', '-j', '-d', 'link', 'show', 'dev', name]);
  if (result.code !== 0) return { exists: false, isBridge: false, up: false };
  let json: unknown;
  try {
    json = JSON.parse(result.stdout);
  } catch (error) {
    throw commandFailed(connection, `ip -j link show dev ${name}`, `it printed no JSON (${(error as Error).message})`);
  }
  const links = IpLinks.safeParse(json);
  if (!links.success) throw commandFailed(connection, `ip -j link show dev ${name}`, `it printed JSON that is not a list of links (${links.error.issues[0]?.message})`);
  const [link] = links.data;
  return { exists: true, isBridge: link?.linkinfo?.info_kind === 'bridge', up: link?.flags?.includes('UP') ?? false };
}

export interface NetworkState {
  exists: boolean;
  active: boolean;
}

export async function networkState(connection: RemoteCommands, name: string): Promise<NetworkState> {
  const result = await connection.exec(virsh(VIRSH_READ_SECONDS, 'net-info', name));
  if (result.code !== 0) return { exists: false, active: false };
  return { exists: true, active: /^Active:\s+yes/m.test(result.stdout) };
}

export interface DirectoryState {
  exists: boolean;
  writable: boolean;
  /** Bytes the connecting user may still write there (df's Available). */
  freeBytes: number;
}

export async function directoryState(connection: RemoteCommands, dir: string): Promise<DirectoryState> {
  const result = await connection.exec(['sh', '-c', DIR_STATE_SH, 'vmctx-dir', dir]);
  if (result.code === 9) return { exists: false, writable: false, freeBytes: 0 };
  if (result.code !== 0) throw commandFailed(connection, `df ${dir}`, result.stderr);
  const answer = readAnswer(AccessAndBytes, result.stdout.trim());
  if (!answer.ok) throw commandFailed(connection, `df ${dir}`, `it printed ${answer.why}`);
  return { exists: true, writable: answer.value.yes, freeBytes: answer.value.bytes };
}

export interface FileState {
  exists: boolean;
  readable: boolean;
  size: number;
}

export async function fileState(connection: RemoteCommands, path: string): Promise<FileState> {
  const result = await connection.exec(['sh', '-c', FILE_STATE_SH, 'vmctx-file', path]);
  if (result.code === 9) return { exists: false, readable: false, size: 0 };
  if (result.code !== 0) throw commandFailed(connection, `stat ${path}`, result.stderr);
  const answer = readAnswer(AccessAndBytes, result.stdout.trim());
  if (!answer.ok) throw commandFailed(connection, `stat ${path}`, `it printed ${answer.why}${result.stderr.trim() ? `; ${result.stderr.trim()}` : ''}`);
  return { exists: true, readable: answer.value.yes, size: answer.value.bytes };
}

/** Which of these files exist on the controller. */
export async function existingFiles(connection: RemoteCommands, paths: readonly string[]): Promise<Set<string>> {
  return new Set((await fileIdentities(connection, paths)).keys());
}

/**
 * Which of these files exist on the controller (a link counts, and is not followed), each with its identity
 * (sh/file-identities.sh, sh/common/file-identity.sh):
 * what says later that a file is still the one vmctx wrote or verified (deploy/remove.ts).
 */
export async function fileIdentities(connection: RemoteCommands, paths: readonly string[]): Promise<Map<string, string>> {
  if (paths.length === 0) return new Map();
  const out = await connection.run(['sh', '-c', FILE_IDENTITIES_SH, 'vmctx-exists', ...paths]);
  const found = new Map<string, string>();
  // `IDENTITY PATH` a line; a path whose identity stat could not read (the line starts with a space) is not proven.
  for (const line of out.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const identity = readAnswer(FileIdentity, line.slice(0, space));
    if (!identity.ok) throw commandFailed(connection, `the identity of ${line.slice(space + 1)}`, `stat printed ${identity.why}`);
    found.set(line.slice(space + 1), identity.value);
  }
  return found;
}

// Every domain of this deployment is addressed by its UUID, and as the value of `--domain`: virsh reads a bare
// argument that starts with '-' as an option, and looks a domain up by id, then by UUID, then by name, so a name
// such as `+1` or another domain's UUID would reach that other domain (libvirt 9.0's virshLookupDomainBy).
// A UUID is never an id (it is not a number) and no name can be taken for it: config refuses UUID-shaped names.

export async function defineDomain(connection: ControllerConnection, xml: string): Promise<void> {
  await connection.run(virsh(VIRSH_CHANGE_SECONDS, 'define', '/dev/stdin'), { stdin: xml });
}

export async function startDomain(connection: ControllerConnection, uuid: string): Promise<void> {
  await connection.run(virsh(VIRSH_CHANGE_SECONDS, 'start', '--domain', uuid));
}

export async function domainState(connection: ControllerConnection, uuid: string): Promise<string | undefined> {
  const result = await connection.exec(virsh(VIRSH_READ_SECONDS, 'domstate', '--domain', uuid));
  // A virsh that did not answer says nothing of the domain: not "gone" (its files would be removed under it).
  if (result.code === 124) throw commandFailed(connection, `virsh domstate --domain ${uuid} (no answer within ${VIRSH_READ_SECONDS} s: libvirtd hangs?)`, result.stderr);
  return result.code === 0 ? result.stdout.trim() : undefined;
}

/** Stops a domain at once (virsh destroy: pulls the plug; the disk is an overlay we are about to remove). */
export async function stopDomain(connection: ControllerConnection, uuid: string): Promise<void> {
  const state = await domainState(connection, uuid);
  if (state === undefined || state === 'shut off') return;
  await connection.run(virsh(VIRSH_CHANGE_SECONDS, 'destroy', '--domain', uuid));
}

/**
 * Powers a running domain off as its guest agrees to (virsh shutdown: ACPI), waiting up to `graceMs` for it to be
 * shut off, and pulls the plug (virsh destroy) only past that: a guest without ACPI handling (no acpid) ignores
 * the request. Returns how it went off.
 */
export async function shutDownDomain(connection: ControllerConnection, uuid: string, graceMs: number): Promise<'shut down' | 'powered off'> {
  await connection.run(virsh(VIRSH_CHANGE_SECONDS, 'shutdown', '--domain', uuid));
  const until = Date.now() + graceMs;
  for (;;) {
    const state = await domainState(connection, uuid);
    if (state === undefined || state === 'shut off') return 'shut down';
    if (Date.now() >= until) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, Math.max(0, until - Date.now()))));
  }
  await connection.run(virsh(VIRSH_CHANGE_SECONDS, 'destroy', '--domain', uuid));
  return 'powered off';
}

/**
 * The IPv4 address a libvirt network's own dnsmasq leased to a running domain (virsh domifaddr --source lease);
 * undefined when none did (a bridge that libvirt does not manage: see controller/arp-table.ts).
 */
export async function leasedAddress(connection: RemoteCommands, uuid: string): Promise<string | undefined> {
  const result = await connection.exec(virsh(VIRSH_READ_SECONDS, 'domifaddr', '--domain', uuid, '--source', 'lease'));
  // Rows under a header: " vnet0      52:54:00:4b:73:6e    ipv4         192.168.122.171/24".
  return result.code === 0 ? /\sipv4\s+(\d{1,3}(?:\.\d{1,3}){3})\/\d+/.exec(result.stdout)?.[1] : undefined;
}

/**
 * The live definitions of running domains (`virsh dumpxml` without --inactive: what the guest runs with now, its
 * memory balloon and online vCPUs included), one virsh batch for all; a domain gone meanwhile is left out.
 */
export async function liveDefinitions(connection: RemoteCommands, uuids: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (uuids.length === 0) return found;
  const batch = uuids.map((u) => `echo ${LIVE_MARK} ${u}; dumpxml --domain ${u};`).join(' ');
  const result = await connection.exec(virsh(VIRSH_BATCH_SECONDS, batch));
  if (result.code === 124) throw commandFailed(connection, `virsh dumpxml (no answer within ${VIRSH_BATCH_SECONDS} s: libvirtd hangs?)`, result.stderr);
  for (const part of result.stdout.split(new RegExp(`^${LIVE_MARK} `, 'm')).slice(1)) {
    const newline = part.indexOf('\n');
    const xml = part.slice(newline + 1).trim();
    if (newline > 0 && xml.startsWith('<domain')) found.set(part.slice(0, newline).trim(), xml);
  }
  return found;
}
// UUIDs are the only words of this batch besides virsh's own: no quoting needed (config refuses nothing else here).
const LIVE_MARK = '=== vmctx-live';

/** The running domain's memory balloon, to `kib` KiB (virsh setmem --live: within its maximum, no restart). */
export async function setMemoryLive(connection: ControllerConnection, uuid: string, kib: number): Promise<void> {
  await connection.run(virsh(VIRSH_CHANGE_SECONDS, 'setmem', '--domain', uuid, '--size', `${kib}KiB`, '--live'));
}

/** The running domain's online vCPUs, to `count` (virsh setvcpus --live: within its maximum, by hotplug). */
export async function setVcpusLive(connection: ControllerConnection, uuid: string, count: number): Promise<void> {
  await connection.run(virsh(VIRSH_CHANGE_SECONDS, 'setvcpus', '--domain', uuid, '--count', String(count), '--live'));
}

/**
 * Puts `source` in the CD drive `target` of a running domain, live and in its persistent definition (virsh
 * change-media --update: eject, then insert; the guest sees a media change, as when a CD is swapped by hand).
 */
export async function changeMedia(connection: ControllerConnection, uuid: string, target: string, source: string): Promise<void> {
  const argv = virsh(VIRSH_CHANGE_SECONDS, 'change-media', '--domain', uuid, '--path', target, '--source', source, '--update', '--live', '--config');
  // A guest holds its CD's tray locked while something there has the drive open (udev probing it after a boot, a
  // mount): libvirt then gives up with "timed out waiting to open tray" (seen on a lab guest 6 s after its boot's
  // last line). The lock is the guest's, and passing: asked again after each of TRAY_PAUSES_MS, before it is an
  // error. Short pauses first, since most such locks are a probe's moment; 15 s of patience in all.
  for (let attempt = 0; ; attempt++) {
    const result = await connection.exec(argv);
    if (result.code === 0) return;
    if (attempt >= TRAY_PAUSES_MS.length || !/waiting to open tray/.test(result.stderr)) {
      throw remoteCommandError(connection.controller, argv, result);
    }
    await new Promise((resolve) => setTimeout(resolve, TRAY_PAUSES_MS[attempt]));
  }
}
const TRAY_PAUSES_MS = [1000, 2000, 4000, 8000];

export async function undefineDomain(connection: ControllerConnection, uuid: string): Promise<void> {
  if ((await domainState(connection, uuid)) === undefined) return;
  await connection.run(virsh(VIRSH_CHANGE_SECONDS, 'undefine', '--domain', uuid));
}

function commandFailed(connection: RemoteCommands, what: string, stderr: string): VmctxError {
  const lc = connection.controller.name;
  return new DeployerError('REMOTE_COMMAND_FAILED', `${lc}: ${what} failed: ${stderr.trim()}`, { where: lc });
}
