/**
 * What a deployment created on a controller, recorded there beside the images
 * (`<imageDir>/.vmctx/<deployment>.json`), so that `plan`, `status` and `destroy` work from any machine with the
 * same deployment file. Written atomically (a temporary file created exclusively, then renamed over the record
 * without following a link) before a deploy acts (its VMs `pending`: the intent) and after it (what stands).
 * Nothing is removed on the record's word alone: a domain must carry the deployment's mark and the recorded UUID,
 * a file must lie directly in the image folder and still be the file written (remove.ts).
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { z } from 'zod';
import type { ControllerConnection } from '../controller/connection.js';
import type { RemoteCommands } from '../controller/command-batch.js';
import { DEPLOYMENT_ID_SUFFIX } from './deployment-id.js';
import type { DeploymentIdentity } from '../controller/owner-mark.js';
import { partialPath } from '../controller/upload.js';
import type { OwnFile } from './remove.js';
import { DeployerError } from '../errors.js';
import { STATE_READ_SH, STATE_REMOVE_SH, STATE_WRITE_SH } from '../sh/sh.generated.js';

const VmRecord = z.object({
  uuid: z.string(),
  macs: z.array(z.string()),
  /** sha256 of each artifact the domain was made from (base, overlay, iso, domain). */
  artifacts: z.record(z.string(), z.string()),
  /** Files of this VM alone: its overlay and console log. */
  files: z.array(z.string()),
  /** Shared files it uses: its base image and context ISO (removed when no domain uses them any more). */
  shared: z.array(z.string()),
  /** The domain XML as vmctx rendered it (before libvirt's defaults), for field-level plans. */
  xml: z.string(),
  address: z.string().optional(),
  /** The identity (sh/common/file-identity.sh) of each file vmctx wrote or adopted for this VM (its own and shared ones), read when it landed. */
  identities: z.record(z.string(), z.string()).optional(),
  /**
   * Recorded before a deploy acted on the VM and not yet settled: a run stopped half-way (killed, cut off) left
   * it. The next deploy finishes it, destroy removes it; its files count as ours only by their content.
   */
  pending: z.literal(true).optional(),
  /**
   * A deploy left the VM running (restart: never, or a guest that did not take its new context CD live) while its
   * guest still needs a restart to take all of it: why, and the id libvirt gave the running domain (`id='N'` on the
   * live definition's <domain>). The reasons cannot be read back from the controller later: after the update the
   * persistent definition is the wanted one, and a CD that was swapped in is in the live definition too while the
   * guest may still run the old context, so comparing definitions would see nothing. libvirt gives a domain a new id
   * at every start, so another id means it was restarted since (by anyone), and the record is dropped.
   */
  restartPending: z.object({ domainId: z.string(), reasons: z.array(z.string()) }).optional(),
});

const StateFile = z.object({
  version: z.literal(1),
  deployment: z.string(),
  /** The deployment's id (deployment-id.ts); absent in records written before deployments had ids. */
  id: z.string().optional(),
  controller: z.string(),
  updatedAt: z.string(),
  vms: z.record(z.string(), VmRecord),
});

export type VmRecord = z.infer<typeof VmRecord>;
export type ControllerStateFile = z.infer<typeof StateFile>;

/**
 * A VM's own files (overlay, console log) as removal may take them: by the identity recorded when they landed; a
 * pending VM's also by the content it was meant to get (its overlay had not been used yet).
 */
export function ownFiles(record: VmRecord): OwnFile[] {
  return record.files.map((path) => fileOf(record, path, path.endsWith('.qcow2') ? record.artifacts.overlay : undefined));
}

/** The shared files (base image, context ISO) a VM's record names, as removal may take them. */
export function sharedFiles(record: VmRecord): OwnFile[] {
  return record.shared.map((path, i) => fileOf(record, path, i === 0 ? record.artifacts.base : record.artifacts.iso));
}

/**
 * What cut uploads of a VM's files left at their temporary names (controller/upload.ts partialPath): removed by
 * destroy by that name, which only vmctx gives (dot, file name, `vmctx-part`, the content's digest), and only
 * while no upload writes it (its flock).
 */
export function partialFiles(record: VmRecord): OwnFile[] {
  const digests: Record<string, string | undefined> = Object.fromEntries([...record.files, ...record.shared].map((path) => [path, undefined]));
  if (record.shared[0]) digests[record.shared[0]] = record.artifacts.base;
  if (record.shared[1]) digests[record.shared[1]] = record.artifacts.iso;
  const overlay = record.files.find((f) => f.endsWith('.qcow2'));
  if (overlay) digests[overlay] = record.artifacts.overlay;
  return Object.entries(digests).flatMap(([path, sha256]) => (sha256 ? [{ path: partialPath(path, sha256), partial: true as const }] : []));
}

/** One entry per path (the files of several VMs' records), by path; one that carries an identity wins. */
export function uniqueFiles(files: readonly OwnFile[]): OwnFile[] {
  const seen = new Map<string, OwnFile>();
  for (const f of files) if (!seen.has(f.path) || (f.identity && !seen.get(f.path)!.identity)) seen.set(f.path, f);
  return [...seen.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
}

function fileOf(record: VmRecord, path: string, sha256: string | undefined): OwnFile {
  const identity = record.identities?.[path];
  // A settled VM's overlay has changed since it was written: only its identity can prove it. Shared files keep
  // their content, so their digest proves them too.
  const bySum = sha256 !== undefined && (record.pending === true || !record.files.includes(path));
  return { path, ...(identity ? { identity } : {}), ...(bySum ? { sha256 } : {}) };
}

export function statePath(imageDir: string, deployment: string): string {
  return posix.join(imageDir, '.vmctx', `${deployment}.json`);
}

export function emptyState(deployment: DeploymentIdentity, controller: string): ControllerStateFile {
  return { version: 1, deployment: deployment.name, ...(deployment.id ? { id: deployment.id } : {}), controller, updatedAt: new Date(0).toISOString(), vms: {} };
}

/**
 * The controller's record of this deployment. A record written by another deployment file of the same name (its id
 * is not this file's) is refused whole (DEPLOY_RECORD_CLASH): acting on it would plan, prune or destroy the other
 * deployment's VMs. A record without an id (older vmctx) is this deployment's; the next deploy writes the id in.
 */
export async function readState(connection: RemoteCommands, deployment: DeploymentIdentity): Promise<ControllerStateFile> {
  const lc = connection.controller;
  const path = statePath(lc.imageDir, deployment.name);
  const result = await connection.exec(['sh', '-c', STATE_READ_SH, 'vmctx-state', path]);
  if (result.code === 9) return emptyState(deployment, lc.name);
  if (result.code !== 0) throw new DeployerError('REMOTE_STATE_UNREADABLE', `${lc.name}: cannot read ${path}: ${result.stderr.trim()}`, { where: lc.name });
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.stdout);
  } catch (error) {
    throw new DeployerError('REMOTE_STATE_CORRUPT', `${lc.name}: ${path} is not JSON (${(error as Error).message}); move it away to start over`, { where: lc.name });
  }
  const state = StateFile.safeParse(parsed);
  if (!state.success) throw new DeployerError('REMOTE_STATE_CORRUPT', `${lc.name}: ${path} is not a vmctx state file (${state.error.issues[0]?.message}); move it away to start over`, { where: lc.name });
  if (state.data.id !== undefined && state.data.id !== deployment.id) {
    throw new DeployerError(
      'DEPLOY_RECORD_CLASH',
      `${lc.name}: ${path} belongs to another deployment named ${deployment.name} (id ${state.data.id}; this file's is ${deployment.id ?? 'not made yet'}); nothing there is read or changed. ` +
        `Give this deployment a name of its own (name:), or, if it is the same deployment, use that deployment's id file (${DEPLOYMENT_ID_SUFFIX})`,
      { where: lc.name },
    );
  }
  return { ...state.data, ...(deployment.id ? { id: deployment.id } : {}) };
}

export async function writeState(connection: ControllerConnection, state: ControllerStateFile): Promise<void> {
  const lc = connection.controller;
  const path = statePath(lc.imageDir, state.deployment);
  if (Object.keys(state.vms).length === 0) {
    await connection.run(['sh', '-c', STATE_REMOVE_SH, 'vmctx-state', posix.dirname(path), path]);
    return;
  }
  const text = `${JSON.stringify({ ...state, updatedAt: new Date().toISOString() }, null, 2)}\n`;
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  // sh/state-write.sh: a temporary file of this write's own (noclobber), then mv -T onto the record's name.
  await connection.run(['sh', '-c', STATE_WRITE_SH, 'vmctx-state', posix.dirname(path), temp, path], { stdin: text });
}
