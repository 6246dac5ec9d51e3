/**
 * Builds every VM's artifacts locally, before any connection is opened (a build is CPU and disk work that
 * would starve the keepalives of open SSH sessions): the context ISO (guest-script + iso-builder), the qcow2
 * overlay (disk-builder, backing = the base image's path on the controller) and the domain XML
 * (template-renderer, with the owner mark and a console log). Files go into the content-addressed cache; the
 * same context or overlay is built once however many VMs share it (an IP-from-MAC group shares one ISO).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { DEFAULT_CONTEXT_LABEL, isVmctxError, NOCLOUD_LABEL } from '@vmctx/contract';
import { inspectImage, writeOverlayTo, type ImageInfo } from '@vmctx/disk-builder';
import { buildCdTree, parseContext, readOperatorFiles, type ContextInput } from '@vmctx/guest-script';
import { writeIsoFromDirectory, writeIsoFromFiles } from '@vmctx/iso-builder';
import {
  childAttr,
  elements,
  firstElement,
  formatFinding,
  getAttr,
  hasErrors,
  hostAccessFindings,
  importNativeTemplate,
  lintDomainXml,
  parseDomainSpec,
  parseXml,
  readTemplateFile,
  renderDomainXml,
  serializeXml,
  type DomainSpecInput,
  type XmlElement,
} from '@vmctx/template-renderer';
import { allowedHostFolders } from '../config/host-paths.js';
import type { ControllerConfig, Deployment, ImageConfig, VmConfig } from '../config/types.js';
import { domainInfo } from '../controller/libvirt.js';
import { addOwnerMark } from '../controller/owner-mark.js';
import { ArtifactCache } from './cache.js';
import { ensureConsoleLog } from './console-log.js';
import { cachedImagePath, fetchImage } from './fetch-image.js';
import { probeImage } from './probe-image.js';
import { DeployerError } from '../errors.js';

/** One file a VM needs on its controller. */
export interface RemoteArtifact {
  kind: 'base' | 'iso' | 'overlay';
  localPath: string;
  sha256: string;
  size: number;
  remotePath: string;
  /** Octal mode of the file on the controller. */
  mode: string;
  /** A base image each controller fetches itself from this URL (`fetch: controller`); `localPath` is then not there. */
  fetchUrl?: string;
  /**
   * Its sparse digest (controller/sparse-digest.ts), known from the local cache for a local base image; the upload
   * reads the file for it otherwise (an ISO or an overlay: small; a fetched image: checked against its sha256 then).
   */
  sparseSha256?: string;
  /**
   * Bytes the file holds on the local disk (st_blocks x 512, at most `size`): an upload sends only data, so the
   * controller's disk needs no more than this for it, not `size` (a sparse base image: issue 22).
   */
  allocated?: number;
}

export interface VmArtifacts {
  vm: VmConfig;
  controller: ControllerConfig;
  uuid: string;
  macs: string[];
  base: RemoteArtifact;
  overlay: RemoteArtifact;
  /** The context ISO vmctx built; absent for a VM with a controller-side ISO or none. */
  iso?: RemoteArtifact;
  /** The ISO the domain uses on the controller: built, or given with `iso:` (checked, not built). */
  isoPath?: string;
  /** Where the guest's console is logged on the controller. */
  consoleLog: string;
  /** Bridges and libvirt networks the domain's interfaces use. */
  bridges: string[];
  networks: string[];
  xml: string;
  /** The domain XML before the owner mark went in: what `plan` compares field by field with the last deploy's. */
  renderedXml: string;
  /** sha256 of what the domain is made from (base, overlay, iso, domain), as its owner mark records them. */
  artifacts: Record<string, string>;
  /** What template-renderer repaired or noticed while importing a native template. */
  notes: string[];
}

export interface BuildOptions {
  cache: ArtifactCache;
  /**
   * What is done with a base image given by URL that is not in the cache yet: `fetch` (the default) downloads and
   * verifies it, as a deploy that uploads must; `probe` reads only its header (probe-image.ts), which is all that
   * check, plan and status need. The artifacts are the same either way; with `probe`, the base's `localPath` is
   * where the image will be once fetched, and nothing is there yet.
   */
  images?: 'fetch' | 'probe';
  /** Seconds since 1970 written as every date of the context ISO: the same context gives the same bytes. */
  isoEpoch?: number;
}

/**
 * What the ISO writer is: a digest of iso-builder's own files as they are installed. A version number is not
 * enough: a rebuilt writer with the same version may lay out other bytes, and a cache entry keyed by the old
 * one would then be taken for the new. Read once per process (a few hundred KiB).
 */
let writerDigest: string | undefined;
function isoWriterDigest(): string {
  if (writerDigest === undefined) {
    const entry = createRequire(import.meta.url).resolve('@vmctx/iso-builder');
    const root = dirname(entry);
    const hash = createHash('sha256');
    const walk = (dir: string) => {
      for (const name of readdirSync(dir).sort()) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.js')) hash.update(`${path.slice(root.length)}\0`).update(readFileSync(path));
      }
    };
    walk(root);
    writerDigest = hash.digest('hex');
  }
  return writerDigest;
}

/** 2000-01-01T00:00:00Z: a fixed date for context ISOs (SOURCE_DATE_EPOCH overrides it). */
export const DEFAULT_ISO_EPOCH = 946_684_800;

export async function buildArtifacts(deployment: Deployment, options: BuildOptions): Promise<VmArtifacts[]> {
  const builder = new Builder(deployment, options);
  return Promise.all(deployment.vms.map((vm) => builder.vm(vm)));
}

class Builder {
  private readonly images = new Map<string, Promise<{ info: ImageInfo; sha256: string; size: number; path: string; allocated?: number; sparseSha256?: string; fetchUrl?: string }>>();
  private readonly isos = new Map<string, Promise<{ sha256: string; path: string; size: number }>>();
  private readonly overlays = new Map<string, Promise<{ sha256: string; path: string; size: number }>>();
  private readonly templates = new Map<string, Promise<string>>();
  private readonly epoch: number;

  constructor(
    private readonly deployment: Deployment,
    private readonly options: BuildOptions,
  ) {
    const fromEnv = process.env.SOURCE_DATE_EPOCH;
    this.epoch = options.isoEpoch ?? (fromEnv && /^\d+$/.test(fromEnv) ? Number(fromEnv) : DEFAULT_ISO_EPOCH);
  }

  async vm(vm: VmConfig): Promise<VmArtifacts> {
    const controller = this.deployment.controllers.find((c) => c.name === vm.controller);
    const image = this.deployment.images.find((i) => i.name === vm.image);
    if (!controller || !image) throw new DeployerError('DEPLOY_INTERNAL', `${vm.where}: controller or image missing after the file was checked`);
    const dir = controller.imageDir;

    const baseImage = await this.image(image);
    const base: RemoteArtifact = {
      kind: 'base',
      localPath: baseImage.path,
      sha256: baseImage.sha256,
      size: baseImage.size,
      remotePath: posix.join(dir, `${await this.baseName(baseImage.sha256)}-${baseImage.sha256.slice(0, 16)}.${baseImage.info.format}`),
      mode: '0644',
      ...(baseImage.allocated !== undefined ? { allocated: baseImage.allocated } : {}),
      ...(baseImage.sparseSha256 !== undefined ? { sparseSha256: baseImage.sparseSha256 } : {}),
      ...(baseImage.fetchUrl !== undefined ? { fetchUrl: baseImage.fetchUrl } : {}),
    };
    const overlayObject = await this.overlay(base.remotePath, baseImage.info);
    const overlay: RemoteArtifact = { kind: 'overlay', ...overlayObject, localPath: overlayObject.path, remotePath: posix.join(dir, `${vm.name}.qcow2`), mode: '0600' };

    let iso: RemoteArtifact | undefined;
    if (vm.context.kind === 'context' || vm.context.kind === 'folder') {
      const built = await this.iso(vm);
      iso = { kind: 'iso', ...built, localPath: built.path, remotePath: posix.join(dir, `context-${built.sha256.slice(0, 16)}.iso`), mode: '0600' };
    }
    const isoPath = iso?.remotePath ?? (vm.context.kind === 'remote-iso' ? vm.context.path : undefined);

    const { tree, notes } = await this.domainTree(vm, overlay.remotePath, isoPath);
    const consoleLog = ensureConsoleLog(tree, posix.join(dir, `${vm.name}.console.log`));
    // The mark records what the domain was made from, its own XML included (taken before the mark goes in),
    // so that a later run can tell an unchanged VM from one to replace without a semantic diff.
    const renderedXml = serializeXml(tree);
    const artifacts = { base: base.sha256, overlay: overlay.sha256, domain: createHash('sha256').update(renderedXml).digest('hex'), ...(iso ? { iso: iso.sha256 } : {}) };
    addOwnerMark(tree, { deployment: this.deployment.name, ...(this.deployment.id ? { id: this.deployment.id } : {}), vm: vm.name, artifacts });
    const xml = serializeXml(tree);
    const findings = lintDomainXml(xml, `${vm.where} (${vm.name})`);
    if (hasErrors(findings)) {
      throw new DeployerError('DEPLOY_DOMAIN_REFUSED', `${vm.where}: libvirt would refuse the domain of ${vm.name}:\n${findings.filter((f) => f.severity === 'error').map(formatFinding).join('\n')}`, {
        where: vm.where,
      });
    }
    // What the domain makes libvirt do as root on the controller: host paths outside the allowed folders and
    // root powers are refused, or with trustTemplates: true reported as warnings (the notes below).
    const access = hostAccessFindings(
      tree,
      { allowed: allowedHostFolders(this.deployment, controller), trusted: this.deployment.trustTemplates },
      `${vm.where} (${vm.name})`,
    );
    if (hasErrors(access)) {
      const from = vm.template.kind === 'native' ? `template ${vm.template.path}` : `spec of ${vm.where}`;
      throw new DeployerError(
        'DEPLOY_DOMAIN_REFUSED',
        `${vm.where}: the domain of ${vm.name} (${from}) would have the controller's libvirt, running as root, open host paths outside ${allowedHostFolders(this.deployment, controller).join(', ')} or give the guest root powers; refused (list a folder under hostPaths:, or set trustTemplates: true to allow it with a warning):\n${access.map(formatFinding).join('\n')}`,
        { where: vm.where },
      );
    }
    const info = domainInfo(xml, 'planned');
    return {
      vm,
      controller,
      uuid: info.uuid,
      macs: info.macs,
      base,
      overlay,
      ...(iso ? { iso } : {}),
      ...(isoPath ? { isoPath } : {}),
      consoleLog,
      bridges: interfaceSources(tree, 'bridge'),
      networks: interfaceSources(tree, 'network'),
      xml,
      renderedXml,
      artifacts,
      notes: [...notes, ...[...findings, ...access].filter((f) => f.severity !== 'error').map(formatFinding)],
    };
  }

  /** An image is its bytes: two entries with the same sha256 (by URL, or local files alike) are one image. */
  private image(image: ImageConfig) {
    return memo(this.images, image.url ? `sha256:${image.sha256!.toLowerCase()}${image.fetch === 'controller' ? ':controller' : ''}` : image.path, async () => {
      if (image.url) {
        const where = `${image.where}.url`;
        const sha256 = image.sha256!.toLowerCase();
        // Fetched into the cache first (once; verified against its sha256), or only its header read (probe-image.ts):
        // for a plan, and for an image each controller fetches itself (`fetch: controller`, controller/fetch.ts).
        if (this.options.images === 'probe' || image.fetch === 'controller') {
          const info = await probeImage(image.url, sha256, this.options.cache, { where });
          return { info, sha256, size: info.fileSize, path: cachedImagePath(this.options.cache, sha256), ...(image.fetch === 'controller' ? { fetchUrl: image.url } : {}) };
        }
        const path = await fetchImage(image.url, sha256, this.options.cache, { where });
        const st = await stat(path);
        return { info: await inspectImage(path), sha256, size: st.size, path, allocated: Math.min(st.size, st.blocks * 512) };
      }
      const info = await inspectImage(image.path);
      const { sha256, sparseSha256, size } = await this.options.cache.digestOf(image.path);
      const blocks = (await stat(image.path)).blocks;
      return { info, sha256, sparseSha256, size, path: image.path, allocated: Math.min(size, blocks * 512) };
    });
  }

  /**
   * The name the base image of `sha256` has on a controller (`NAME-<sha256:16>.FORMAT`): that of the first image in the
   * file, among those its VMs use, with these bytes. Two entries with the same bytes (another name, another URL) are
   * one file there, on which every overlay backs (issue 24: lc3 held both, 64 MiB more). A file with one entry per
   * image names its bases as before, so existing deployments keep theirs.
   */
  private async baseName(sha256: string): Promise<string> {
    const used = this.deployment.images.filter((i) => this.deployment.vms.some((v) => v.image === i.name));
    for (const image of used) {
      const known = image.url ? image.sha256!.toLowerCase() : (await this.image(image)).sha256;
      if (known === sha256) return image.name;
    }
    throw new DeployerError('DEPLOY_INTERNAL', `no image of the file has sha256 ${sha256}`);
  }

  private overlay(backingFile: string, base: ImageInfo) {
    const key = `${backingFile}|${base.format}|${base.virtualSize}`;
    return memo(this.overlays, key, async () => {
      return this.options.cache.build('qcow2', undefined, (out) => writeOverlayTo({ backingFile, backingFormat: base.format, virtualSize: base.virtualSize }, out));
    });
  }

  /**
   * The context CD of a VM: built once per distinct context, layouts and label, however many VMs share it (an
   * IP-from-MAC group shares one). By default the CD both readers read (@vmctx/guest-script cd-layouts.ts, as
   * `vmctx context iso`): cloud-init's NoCloud seed beside Snooze's layout, labelled cidata, so that a stock cloud
   * image is configured by it as an image with vmctx's script is; `isoFormat`/`isoLabel` choose otherwise.
   */
  private iso(vm: VmConfig) {
    const context = vm.context;
    const label = vm.isoLabel ?? (vm.isoFormat === 'snooze' ? DEFAULT_CONTEXT_LABEL : NOCLOUD_LABEL);
    const key = isoKeyOf(vm);
    return memo(this.isos, key, async () => {
      const cache = this.options.cache;
      if (context.kind === 'folder') return cache.build('iso', undefined, (out) => writeIsoFromDirectory(context.path, out, { epoch: this.epoch, label }));
      if (context.kind !== 'context') throw new DeployerError('DEPLOY_INTERNAL', `${vm.where}: no context to build an ISO from`);
      const parsed = parseContext(withGroupMembers(context.context, this.groupMacs(key)));
      // The operator's cloud-config files (cloudInit) are found beside the context file, or beside the
      // deployment file for an inline context.
      const contextFile = context.source.startsWith(`${this.deployment.file}:`) ? this.deployment.file : context.source;
      const operator = vm.isoFormat === 'snooze' ? {} : await readOperatorFiles(parsed, contextFile);
      const tree = buildCdTree(parsed, vm.isoFormat, operator);
      // The ISO's bytes depend only on the tree, the label, the epoch and the writer: a digest of those finds it again.
      return cache.build('iso', treeKey(tree, this.epoch, label), (out) => writeIsoFromFiles(tree, out, { epoch: this.epoch, label }));
    });
  }

  /**
   * The MACs the deployment gives the VMs that share the CD of `key` (those of an IP-from-MAC group: each MAC
   * encodes its VM's address), in the file's order: cloud-init cannot read an address from a MAC, so the seed's
   * network-config lists each member's (network.members).
   */
  private groupMacs(key: string): string[] {
    return this.deployment.vms.filter((v) => v.mac !== undefined && (v.context.kind === 'context' || v.context.kind === 'folder') && isoKeyOf(v) === key).map((v) => v.mac!);
  }

  private async domainTree(vm: VmConfig, overlay: string, iso: string | undefined): Promise<{ tree: XmlElement; notes: string[] }> {
    if (vm.template.kind === 'native') {
      const path = vm.template.path;
      // Refused by its size before it is read, as vmctx template import does (template-renderer readTemplateFile).
      const text = await memo(this.templates, path, () =>
        readTemplateFile(path).catch((error: NodeJS.ErrnoException) => {
          if (isVmctxError(error)) throw error;
          // Loading the file found it; it went (or became unreadable) since.
          throw new DeployerError('CONFIG_TEMPLATE_NOT_FOUND', `${vm.where}.template: cannot read ${path}: ${error.message}`, { where: `${vm.where}.template`, cause: error });
        }),
      );
      if (vm.network) {
        throw new DeployerError('DEPLOY_NETWORK_WITH_NATIVE', `${vm.where}.network: a native template keeps its own interfaces; set the network in ${path}, or use bridge:`, {
          where: `${vm.where}.network`,
        });
      }
      const imported = importNativeTemplate(
        text,
        {
          name: vm.name,
          deployment: this.deployment.name,
          ...(vm.mac ? { macs: [vm.mac] } : {}),
          disks: [overlay],
          // No context CD: the template's cdrom goes too, so that the guest falls back to DHCP.
          ...(iso ? { iso, isoMode: vm.isoMode } : { iso: null }),
          ...(vm.bridge ? { bridge: vm.bridge } : {}),
          ...(vm.domainType ? { domainType: vm.domainType } : {}),
        },
        path,
      );
      return { tree: imported.tree, notes: imported.warnings.map((w) => `${vm.name}: ${w.message}`) };
    }
    const spec = specFor(vm, vm.template.spec, overlay, iso);
    const xml = renderDomainXml(parseDomainSpec(spec, `${vm.where}.spec`, this.deployment.file), { deployment: this.deployment.name });
    return { tree: parseXml(xml, vm.name), notes: [] };
  }
}

/** The VM's spec with what the deployment decides filled in: name, overlay, context ISO, bridge, MAC. */
function specFor(vm: VmConfig, given: DomainSpecInput, overlay: string, iso: string | undefined): DomainSpecInput {
  const spec = structuredClone(given) as DomainSpecInput & { devices?: NonNullable<DomainSpecInput['devices']> };
  spec.name = vm.name;
  if (vm.domainType) spec.type = vm.domainType;
  const devices = (spec.devices ??= {});
  const disks = (devices.disks ??= []);
  const overlayDisk = { driver: { type: 'qcow2' as const }, source: { file: overlay } };
  if (disks[0]) disks[0] = { ...disks[0], ...overlayDisk };
  else disks.push({ ...overlayDisk, target: { dev: 'vda', bus: 'virtio' } });
  if (iso) devices.context = { ...devices.context, source: { file: iso }, mode: vm.isoMode };
  else delete devices.context;
  const interfaces = (devices.interfaces ??= []);
  const source = vm.network ? ({ type: 'network', source: { network: vm.network } } as const) : vm.bridge ? ({ type: 'bridge', source: { bridge: vm.bridge } } as const) : undefined;
  if (source && interfaces.length === 0) interfaces.push({ ...source, model: { type: 'virtio' } });
  else if (source) interfaces.forEach((nic, i) => (interfaces[i] = { ...nic, ...source }));
  if (vm.mac && interfaces[0]) interfaces[0] = { ...interfaces[0], mac: { address: vm.mac } };
  return spec;
}

function interfaceSources(domain: XmlElement, type: 'bridge' | 'network'): string[] {
  const devices = firstElement(domain, 'devices');
  const names = new Set<string>();
  for (const nic of devices ? elements(devices, 'interface') : []) {
    if (getAttr(nic, 'type') !== type) continue;
    const name = childAttr(nic, 'source', type);
    if (name) names.add(name);
  }
  return [...names];
}

/** A digest of a context tree as the ISO writer sees it (paths, modes, bytes), its label, the epoch and the writer's code. */
function treeKey(tree: Record<string, { data: string | Uint8Array; mode: number }>, epoch: number, label: string): string {
  const hash = createHash('sha256').update(`vmctx-context-iso\0${isoWriterDigest()}\0${epoch}\0${label}\0`);
  for (const path of Object.keys(tree).sort()) {
    const entry = tree[path]!;
    hash.update(`${path}\0${entry.mode}\0${Buffer.byteLength(entry.data)}\0`).update(entry.data);
  }
  return hash.digest('hex');
}

/** Which VMs share one context CD: the same context (or folder), layouts and label. */
function isoKeyOf(vm: VmConfig): string {
  const context = vm.context;
  const source = context.kind === 'folder' ? `folder:${context.path}` : JSON.stringify(context.kind === 'context' ? context.context : null);
  return JSON.stringify([source, vm.isoFormat, vm.isoLabel ?? null]);
}

/**
 * An IP-from-MAC context with the group's MACs added to its network.members (the operator's own first, each once):
 * a context of another method, or a group without MACs, as it is.
 */
function withGroupMembers(context: ContextInput, macs: string[]): ContextInput {
  const network = context.network;
  if (network?.method !== 'ip-from-mac' || macs.length === 0) return context;
  const members = [...new Set([...(network.members ?? []), ...macs].map((m) => m.toLowerCase()))];
  return { ...context, network: { ...network, members } };
}

function memo<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let value = map.get(key);
  if (!value) {
    value = make();
    map.set(key, value);
  }
  return value;
}
