/**
 * Test support: one VM's artifacts as buildArtifacts gives them, made by hand (small local files, their real
 * sha256, a domain XML carrying the owner mark), for preflight and apply. Named `*.test.ts`: excluded from the
 * lib build and not collected by vitest.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { deriveUuid, parseXml, serializeXml } from '@vmctx/template-renderer';
import type { ControllerConfig, VmContext } from '../config/types.js';
import { addOwnerMark, type DeploymentIdentity } from '../controller/owner-mark.js';
import type { RemoteArtifact, VmArtifacts } from './build.js';

export interface VmSketch {
  name: string;
  /** Local folder the artifact files are written into. */
  local: string;
  controller: ControllerConfig;
  deployment?: string;
  /** The deployment's id in the mark; default DEMO's. */
  id?: string;
  uuid?: string;
  mac?: string;
  bridge?: string;
  /** Contents of the files; the same contents give the same sha256 and remote name. */
  base?: string;
  overlay?: string;
  /** A context ISO built by vmctx (its contents), or `{ remote }` for an `iso:` path on the controller. */
  iso?: string | { remote: string };
  /** Bytes the base image is said to have (preflight sums these). */
  baseSize?: number;
  domainType?: 'kvm' | 'qemu';
}

function artifact(kind: RemoteArtifact['kind'], local: string, contents: string, remotePath: string, mode: string): RemoteArtifact {
  const localPath = join(local, `${kind}-${createHash('sha256').update(contents).digest('hex').slice(0, 12)}`);
  writeFileSync(localPath, contents);
  return { kind, localPath, sha256: createHash('sha256').update(contents).digest('hex'), size: Buffer.byteLength(contents), remotePath, mode };
}

/** A stable UUID and MAC from a name (for foreign domains and MACs; the way does not matter here). */
function derived(name: string): { uuid: string; mac: string } {
  const h = createHash('sha256').update(name).digest('hex');
  const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  const mac = `52:54:00:${h.slice(32, 34)}:${h.slice(34, 36)}:${h.slice(36, 38)}`;
  return { uuid, mac };
}

/** The deployment the sketches belong to by default: `demo`, with an id. */
export const DEMO: DeploymentIdentity = { name: 'demo', id: '0f2d7a4e-6c1b-4f53-9a8e-3d5b2c1e7f60' };

export function vmArtifacts(s: VmSketch): VmArtifacts {
  const dir = s.controller.imageDir;
  // The UUID the deployer derives (destroy finds a marked domain the record does not list by it); the MAC by hand.
  const { uuid, mac } = { uuid: deriveUuid(s.deployment ?? DEMO.name, s.name), mac: derived(s.name).mac, ...(s.uuid ? { uuid: s.uuid } : {}), ...(s.mac ? { mac: s.mac } : {}) };
  const bridge = s.bridge ?? 'br0';
  const baseText = s.base ?? 'base image';
  const baseSha = createHash('sha256').update(baseText).digest('hex');
  const base = artifact('base', s.local, baseText, posix.join(dir, `debian-${baseSha.slice(0, 16)}.raw`), '0644');
  if (s.baseSize !== undefined) base.size = s.baseSize;
  const overlay = artifact('overlay', s.local, s.overlay ?? `overlay on ${base.remotePath}`, posix.join(dir, `${s.name}.qcow2`), '0600');
  let iso: RemoteArtifact | undefined;
  let isoPath: string | undefined;
  let context: VmContext = { kind: 'none' };
  if (typeof s.iso === 'string') {
    const sha = createHash('sha256').update(s.iso).digest('hex');
    iso = artifact('iso', s.local, s.iso, posix.join(dir, `context-${sha.slice(0, 16)}.iso`), '0600');
    isoPath = iso.remotePath;
    context = { kind: 'context', context: { hostname: s.name }, source: 'inline' };
  } else if (s.iso) {
    isoPath = s.iso.remote;
    context = { kind: 'remote-iso', path: s.iso.remote };
  }
  const consoleLog = posix.join(dir, `${s.name}.console.log`);
  const tree = parseXml(
    `<domain type="${s.domainType ?? 'kvm'}">
  <name>${s.name}</name>
  <uuid>${uuid}</uuid>
  <memory unit="MiB">256</memory>
  <devices>
    <disk type="file" device="disk"><driver name="qemu" type="qcow2"/><source file="${overlay.remotePath}"/><target dev="vda" bus="virtio"/></disk>
${isoPath ? `    <disk type="file" device="cdrom"><source file="${isoPath}"/><target dev="sda" bus="sata"/><readonly/></disk>\n` : ''}    <interface type="bridge"><mac address="${mac}"/><source bridge="${bridge}"/><model type="virtio"/></interface>
    <serial type="pty"><log file="${consoleLog}" append="off"/><target port="0"/></serial>
  </devices>
</domain>
`,
    s.name,
  );
  const renderedXml = serializeXml(tree);
  const artifacts = { base: base.sha256, overlay: overlay.sha256, domain: createHash('sha256').update(renderedXml).digest('hex'), ...(iso ? { iso: iso.sha256 } : {}) };
  addOwnerMark(tree, { deployment: s.deployment ?? DEMO.name, id: s.id ?? DEMO.id!, vm: s.name, artifacts });
  return {
    vm: {
      name: s.name,
      controller: s.controller.name,
      image: 'debian',
      template: { kind: 'native', path: join(s.local, 'template.xml') },
      bridge,
      context,
      isoMode: 'cdrom',
      isoFormat: 'both',
      where: `vms[${s.name}]`,
    },
    controller: s.controller,
    uuid,
    macs: [mac],
    base,
    overlay,
    ...(iso ? { iso } : {}),
    ...(isoPath ? { isoPath } : {}),
    consoleLog,
    bridges: [bridge],
    networks: [],
    xml: serializeXml(tree),
    renderedXml,
    artifacts,
    notes: [],
  };
}

/** A domain that no deployment of ours owns (or another deployment's, with `owner`), as libvirt would list it. */
export function foreignDomainXml(name: string, options: { uuid?: string; mac?: string; file?: string; owner?: string } = {}): string {
  const { uuid, mac } = { ...derived(`foreign ${name}`), ...(options.uuid ? { uuid: options.uuid } : {}), ...(options.mac ? { mac: options.mac } : {}) };
  const tree = parseXml(
    `<domain type="kvm">
  <name>${name}</name>
  <uuid>${uuid}</uuid>
  <memory unit="KiB">262144</memory>
  <devices>
    <disk type="file" device="disk"><source file="${options.file ?? `/var/lib/libvirt/images/${name}.qcow2`}"/><target dev="vda" bus="virtio"/></disk>
    <interface type="bridge"><mac address="${mac}"/><source bridge="br0"/></interface>
  </devices>
</domain>
`,
    name,
  );
  if (options.owner) addOwnerMark(tree, { deployment: options.owner, vm: name, artifacts: {} });
  return serializeXml(tree);
}
