/**
 * Preflight: what the seed leaves to luck, checked on one controller before anything is written there. Each
 * finding names the controller, the object, what is wrong and the fix, in the shape of template-renderer's
 * lint catalogue (stable code, severity). A controller with an error finding gets nothing written.
 */
import { getAttr, parseXml } from '@vmctx/template-renderer';
import type { RemoteCommands } from './command-batch.js';
import { bridgeState, directoryState, fileIdentities, fileState, libvirtAndDomains, networkState, type DomainInfo, type LibvirtInfo } from './libvirt.js';
import type { DeploymentIdentity } from './owner-mark.js';
import type { Finding, FindingCode } from './finding.js';
import { uploadTools, uploadToolsFinding } from './upload-tools.js';
import { ownedDomain } from './ownership.js';
import { byteSize } from '../util/byte-size.js';
import { uniqueBy } from '../util/unique-by.js';

export type { Finding, FindingCode } from './finding.js';

export interface ControllerState {
  controller: string;
  findings: Finding[];
  libvirt?: LibvirtInfo;
  domains: DomainInfo[];
  /** Which of the deployment's remote files already exist there. */
  present: Set<string>;
  /** The identity (sh/common/file-identity.sh) of each of them, and of the VMs' console logs there (a link is not followed). */
  identities: Map<string, string>;
  /** Overlays left by an interrupted run of this deployment, to remove before the VM is made (plan.ts settleLeftovers). */
  leftovers?: Map<string, { path: string; identity?: string; sha256?: string }>;
  /** Bytes that would be uploaded there. */
  uploadBytes: number;
}

export function hasErrorFindings(state: Pick<ControllerState, 'findings'>): boolean {
  return state.findings.some((f) => f.severity === 'error');
}

/** Reads the controller and checks it against the VMs the deployment puts there. Writes nothing. */
/** A file a VM needs on the controller: where, and how many bytes an upload of it would take. */
interface NeededFile {
  remotePath: string;
  size: number;
  /** Bytes of data it holds (a sparse file's, less than `size`): what its upload writes there. */
  allocated?: number;
  /** The URL the controller fetches it from itself (`fetch: controller`), instead of an upload from here. */
  fetchUrl?: string;
}

/**
 * What preflight reads of a VM, and no more (artifacts/build.ts's VmArtifacts is one): its name and identity, the
 * files and devices it needs on the controller, and its domain XML for the domain type.
 */
export interface PreflightVm {
  vm: { name: string; context: { kind: string } };
  uuid: string;
  macs: readonly string[];
  base: NeededFile;
  overlay: NeededFile;
  iso?: NeededFile;
  isoPath?: string;
  consoleLog: string;
  bridges: readonly string[];
  networks: readonly string[];
  xml: string;
}

export async function preflight(connection: RemoteCommands, deployment: DeploymentIdentity, vms: readonly PreflightVm[]): Promise<ControllerState> {
  const lc = connection.controller;
  const findings: Finding[] = [];
  const add = (object: string, code: FindingCode, severity: Finding['severity'], message: string, fix?: string) =>
    findings.push({ controller: lc.name, object, code, severity, message, ...(fix ? { fix } : {}) });

  const bridges = unique(vms.flatMap((v) => v.bridges));
  const networks = unique(vms.flatMap((v) => v.networks));
  const remoteIsos = unique(vms.filter((v) => v.vm.context.kind === 'remote-iso').map((v) => v.isoPath!));
  const files = uniqueBy(vms.flatMap((v) => [v.base, v.overlay, ...(v.iso ? [v.iso] : [])]), (f) => f.remotePath);

  const [seen, bridgeStates, networkStates, dir, isoStates, identities, tools] = await Promise.all([
    libvirtAndDomains(connection).catch((error: Error) => error),
    Promise.all(bridges.map((b) => bridgeState(connection, b))),
    Promise.all(networks.map((n) => networkState(connection, n))),
    directoryState(connection, lc.imageDir),
    Promise.all(remoteIsos.map((p) => fileState(connection, p))),
    // The console logs too: one that was not there before a VM's start was made by that start (its undo removes it).
    fileIdentities(connection, [...files.map((f) => f.remotePath), ...vms.map((v) => v.consoleLog)]),
    uploadTools(connection).catch((error: Error) => error),
  ]);
  const present = new Set(files.map((f) => f.remotePath).filter((p) => identities.has(p)));

  if (seen instanceof Error) {
    add('libvirt', 'CHECK_LIBVIRT', 'error', `libvirt does not answer: ${seen.message}`, 'start libvirtd on the controller and check that the SSH user may run virsh (group libvirt)');
  } else {
    const libvirt = seen.info;
    add('libvirt', 'CHECK_LIBVIRT', 'ok', `libvirt ${libvirt.library}, ${libvirt.hypervisor}, domain types ${libvirt.domainTypes.join(', ') || 'none'}`);
    for (const type of unique(vms.map((v) => domainType(v.xml)))) {
      if (!libvirt.domainTypes.includes(type)) {
        add(`domain type ${type}`, 'CHECK_DOMAIN_TYPE', 'error', `libvirt here cannot run <domain type='${type}'> (it offers ${libvirt.domainTypes.join(', ') || 'none'})`, type === 'kvm' ? 'load kvm on the controller, or set domainType: qemu (TCG) for these VMs' : undefined);
      }
    }
  }

  bridges.forEach((name, i) => {
    const s = bridgeStates[i]!;
    const users = vms.filter((v) => v.bridges.includes(name)).map((v) => v.vm.name).join(', ');
    if (!s.exists) add(`bridge ${name}`, 'CHECK_BRIDGE', 'error', `bridge ${name} does not exist (used by ${users})`, `create it (ip link add ${name} type bridge; ip link set ${name} up) or change bridge: in the deployment`);
    else if (!s.isBridge) add(`bridge ${name}`, 'CHECK_BRIDGE', 'error', `${name} exists but is not a bridge (used by ${users})`, 'give the VMs a bridge device, or use network: for a libvirt network');
    else if (!s.up) add(`bridge ${name}`, 'CHECK_BRIDGE', 'error', `bridge ${name} is down (used by ${users})`, `ip link set ${name} up`);
    else add(`bridge ${name}`, 'CHECK_BRIDGE', 'ok', `bridge ${name} is up`);
  });
  networks.forEach((name, i) => {
    const s = networkStates[i]!;
    if (!s.exists) add(`network ${name}`, 'CHECK_NETWORK', 'error', `libvirt network ${name} does not exist`, `virsh net-define and net-start it, or change network: in the deployment`);
    else if (!s.active) add(`network ${name}`, 'CHECK_NETWORK', 'error', `libvirt network ${name} is not active`, `virsh net-start ${name}`);
    else add(`network ${name}`, 'CHECK_NETWORK', 'ok', `libvirt network ${name} is active`);
  });

  const missing = files.filter((f) => !present.has(f.remotePath));
  // Only data travels and is written (holes stay holes there): a sparse base image needs its data's room, not its size.
  const uploadBytes = missing.reduce((sum, f) => sum + Math.min(f.size, f.allocated ?? f.size), 0);
  const fetches = missing.filter((f) => f.fetchUrl !== undefined).length;
  if (!dir.exists) add(lc.imageDir, 'CHECK_IMAGE_DIR', 'error', `image folder ${lc.imageDir} does not exist`, `mkdir -p ${lc.imageDir} on the controller, or change imageDir`);
  else if (!dir.writable) add(lc.imageDir, 'CHECK_IMAGE_DIR', 'error', `image folder ${lc.imageDir} is not writable by ${lc.user}`, `chown or chmod it for ${lc.user}, or change imageDir`);
  else if (dir.freeBytes < uploadBytes) add(lc.imageDir, 'CHECK_SPACE', 'error', `${lc.imageDir} has ${byteSize(dir.freeBytes)} free; ${byteSize(uploadBytes)} would be uploaded`, 'free space there, or choose another imageDir');
  else add(lc.imageDir, 'CHECK_IMAGE_DIR', 'ok', `${lc.imageDir} writable, ${byteSize(dir.freeBytes)} free, ${byteSize(uploadBytes)} to upload (${missing.length} of ${files.length} files${fetches > 0 ? `, ${fetches} fetched by the controller` : ''})`);

  findings.push(uploadToolsFinding(lc.name, tools, missing.length - fetches, fetches));

  remoteIsos.forEach((path, i) => {
    const s = isoStates[i]!;
    const users = vms.filter((v) => v.isoPath === path).map((v) => v.vm.name).join(', ');
    if (!s.exists) add(path, 'CHECK_ISO', 'error', `ISO ${path} does not exist on ${lc.name} (iso: of ${users})`, `put the ISO there, or build it with context: instead of iso:`);
    else if (!s.readable) add(path, 'CHECK_ISO', 'error', `ISO ${path} is not readable by ${lc.user} (iso: of ${users})`, `chmod a+r ${path}`);
    else add(path, 'CHECK_ISO', 'ok', `ISO ${path} is there (${byteSize(s.size)})`);
  });

  if (!(seen instanceof Error)) {
    for (const v of vms) findings.push(...identityFindings(lc.name, deployment, v, seen.domains, present));
    const unreadable = seen.domains.filter((d) => d.unreadable);
    for (const d of unreadable) add(`domain ${d.name || d.uuid}`, 'CHECK_NAME_HELD', 'warning', `the definition of domain ${d.name || d.uuid} could not be read (${d.unreadable}); it is foreign to every deployment, left untouched, and base images are kept while it exists`);
  }
  return { controller: lc.name, findings, ...(seen instanceof Error ? {} : { libvirt: seen.info }), domains: seen instanceof Error ? [] : seen.domains, present, identities, uploadBytes };
}

/** No foreign domain may hold the VM's name, UUID or MAC, and no foreign file its overlay's path. */
function identityFindings(controller: string, deployment: DeploymentIdentity, v: PreflightVm, domains: readonly DomainInfo[], present: ReadonlySet<string>): Finding[] {
  const out: Finding[] = [];
  const object = `domain ${v.vm.name}`;
  const mine = ownedDomain(domains, deployment, v.vm.name, v.uuid);
  const ours = (d: DomainInfo) => d === mine;
  const owner = (d: DomainInfo) =>
    d.unreadable ? 'unknown: its definition could not be read' : d.owner ? `deployment ${d.owner.deployment}${d.owner.id && d.owner.id !== deployment.id ? ` of another file (id ${d.owner.id})` : ''}` : 'no vmctx deployment';
  const sameName = domains.find((d) => d.name === v.vm.name);
  if (sameName && !ours(sameName)) {
    out.push({ controller, object, code: 'CHECK_NAME_HELD', severity: 'error', message: `a domain named ${v.vm.name} already exists (${sameName.state}, owned by ${owner(sameName)}); it is left untouched`, fix: 'rename the VM in the deployment, or remove that domain yourself' });
  }
  for (const d of domains) {
    if (d.name === v.vm.name) continue;
    if (d.uuid === v.uuid) out.push({ controller, object, code: 'CHECK_UUID_HELD', severity: 'error', message: `domain ${d.name} already has UUID ${v.uuid}, which ${v.vm.name} needs`, fix: `undefine ${d.name}, or change the deployment's name` });
    for (const mac of v.macs) {
      if (d.macs.includes(mac)) out.push({ controller, object, code: 'CHECK_MAC_HELD', severity: 'error', message: `domain ${d.name} already uses MAC ${mac}, which ${v.vm.name} needs`, fix: `give ${v.vm.name} another mac: or address:, or change ${d.name}` });
    }
  }
  if (present.has(v.overlay.remotePath) && !(sameName && ours(sameName))) {
    out.push({ controller, object, code: 'CHECK_FILE_HELD', severity: 'error', message: `${v.overlay.remotePath} exists but no domain of this deployment uses it; vmctx will not overwrite it`, fix: `move or remove ${v.overlay.remotePath} if it is a leftover`, file: v.overlay.remotePath });
  }
  if (out.length === 0) out.push({ controller, object, code: 'CHECK_NAME_HELD', severity: 'ok', message: sameName ? `${v.vm.name} exists and belongs to this deployment` : `name, UUID and MAC of ${v.vm.name} are free` });
  return out;
}

function domainType(xml: string): string {
  return getAttr(parseXml(xml, 'domain'), 'type') ?? 'kvm';
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
