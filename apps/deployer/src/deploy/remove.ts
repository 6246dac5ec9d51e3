/**
 * Removing what a deployment made on a controller, used by `destroy`, by `deploy --prune`, when a VM is replaced
 * and when a failed VM is undone: a VM's domain (stopped, then undefined) and its own files; then shared files
 * (base images, context ISOs) that the deployment uploaded, only once no domain on that controller, of any owner,
 * still uses them.
 *
 * Nothing is removed on a name alone. A domain is acted on by its UUID, and only once ownedDomain found it to be
 * this deployment's; a file only when it lies directly in the image folder and is still the file vmctx wrote (its
 * identity as recorded, or, where none was recorded, the content vmctx meant to write). Whatever fails a
 * test is kept, and said.
 */
import { posix } from 'node:path';
import type { ControllerConnection } from '../controller/connection.js';
import { fileIdentities, listDomains, stopDomain, undefineDomain, type DomainInfo } from '../controller/libvirt.js';
import type { RemoteCommands } from '../controller/command-batch.js';
import { BackingChain, RemoveAnswer } from '../sh/answers.js';
import { BACKING_CHAINS_SH, REMOVE_FILES_SH } from '../sh/sh.generated.js';

/** A file vmctx may remove: where it is, and what proves it is still the one vmctx wrote. */
export interface OwnFile {
  path: string;
  /** Its identity (sh/common/file-identity.sh) read when vmctx wrote it. */
  identity?: string;
  /** What it held when vmctx wrote it; checked when no identity was recorded. */
  sha256?: string;
  /** A cut upload's kept part (state.ts partialFiles): vmctx's by its name, removed while no upload holds it. */
  partial?: true;
}

/** A file kept, and why. */
export interface KeptFile {
  path: string;
  why: string;
}

/**
 * True when `path` is a file directly inside `imageDir`, written the one way vmctx writes paths (absolute,
 * normalised, no `..`, no control character): what a state file names anywhere else is not acted on.
 */
export function isOwnPath(imageDir: string, path: string): boolean {
  // eslint-disable-next-line no-control-regex
  if (!posix.isAbsolute(path) || posix.normalize(path) !== path || /[\u0000-\u001f\u007f]/.test(path)) return false;
  const name = posix.basename(path);
  return posix.dirname(path) === posix.normalize(imageDir).replace(/\/+$/, '') && name !== '' && name !== '.' && name !== '..';
}

/**
 * Stops and undefines a domain found to be ours (ownership.ts; by its UUID) and removes its own files; returns what
 * is left. `domain` undefined: there is no domain of ours to remove (gone, or the name is another's now). A file with
 * no recorded identity (records of older vmctx) that this very domain uses as its disk or console log is taken as
 * the domain's: its identity is read before the domain goes.
 */
export async function removeVm(connection: ControllerConnection, domain: Pick<DomainInfo, 'name' | 'uuid'> & Partial<Pick<DomainInfo, 'files' | 'consoles'>> | undefined, files: readonly OwnFile[]): Promise<string[]> {
  const left: string[] = [];
  const usedByIt = new Set([...(domain?.files ?? []), ...(domain?.consoles ?? [])]);
  const vouched = files.filter((f) => f.identity === undefined && usedByIt.has(f.path)).map((f) => f.path);
  if (vouched.length > 0) {
    const now = await fileIdentities(connection, vouched).catch(() => new Map<string, string>());
    files = files.map((f) => (now.has(f.path) && vouched.includes(f.path) ? { ...f, identity: now.get(f.path)! } : f));
  }
  if (domain) {
    await stopDomain(connection, domain.uuid).catch(() => left.push(`domain ${domain.name} (running)`));
    if (left.length === 0) await undefineDomain(connection, domain.uuid).catch(() => left.push(`domain ${domain.name} (defined)`));
  }
  // The files of a domain that could not be stopped or undefined stay with it.
  if (left.length > 0) return [...left, ...files.map((f) => f.path)];
  const { kept } = await removeOwnFiles(connection, files);
  return kept.map((k) => `${k.path} (kept: ${k.why})`);
}

/** Removes the files that pass isOwnPath and still are what vmctx wrote; the rest is kept, with why. */
export async function removeOwnFiles(connection: ControllerConnection, files: readonly OwnFile[]): Promise<{ removed: string[]; kept: KeptFile[] }> {
  const imageDir = connection.controller.imageDir;
  const kept: KeptFile[] = files.filter((f) => !isOwnPath(imageDir, f.path)).map((f) => ({ path: f.path, why: `not a file directly in ${imageDir}` }));
  const candidates = files.filter((f) => isOwnPath(imageDir, f.path));
  if (candidates.length === 0) return { removed: [], kept };
  const stdin = candidates.map((f) => `${f.partial ? 'partial' : (f.identity ?? '')}|${f.sha256 ?? ''}|${f.path}\n`).join('');
  // sh/remove-files.sh: a line per file in (identity|sha256|path), a line per file out (removed, gone, kept WHY).
  const result = await connection.exec(['sh', '-c', REMOVE_FILES_SH, 'vmctx-remove'], { stdin });
  const said = result.stdout.split('\n');
  const removed: string[] = [];
  candidates.forEach((f, i) => {
    const answer = RemoveAnswer.safeParse(said[i] ?? '');
    const why = !answer.success ? `removal did not answer (exit ${result.code}${result.stderr.trim() ? `: ${result.stderr.trim()}` : ''})` : answer.data.removed ? undefined : answer.data.why;
    if (why === undefined) removed.push(f.path);
    else kept.push({ path: f.path, why });
  });
  return { removed, kept };
}

/**
 * Every file some domain on the controller uses, as a disk or in a disk's backing chain; undefined when that
 * cannot be known for certain (qemu-img missing, a disk it cannot read, output it did not give as JSON).
 */
export async function filesInUse(connection: RemoteCommands, domains: readonly DomainInfo[]): Promise<Set<string> | undefined> {
  // A domain we could not read may use anything.
  if (domains.some((d) => d.unreadable)) return undefined;
  const used = new Set(domains.flatMap((d) => d.files));
  const disks = [...used];
  if (disks.length === 0) return used;
  // sh/backing-chains.sh: per disk a line `=== vmctx-disk STATUS` (`missing`: it backs nothing), then qemu-img's JSON.
  const result = await connection.exec(['sh', '-c', BACKING_CHAINS_SH, 'vmctx-backing', ...disks]);
  if (result.code !== 0) return undefined;
  const parts = result.stdout.split(/^=== vmctx-disk (\d+|missing)\n/m);
  if (parts.length !== 2 * disks.length + 1) return undefined;
  for (let i = 0; i < disks.length; i++) {
    const status = parts[2 * i + 1];
    if (status === 'missing') continue;
    // A disk that is not a file image (an ISO is raw; it has no chain) still answers; one that qemu-img cannot open
    // (locked beyond -U, not an image it reads) says nothing of what backs it: then nothing counts as unused.
    if (status !== '0') return undefined;
    let json: unknown;
    try {
      json = JSON.parse(parts[2 * i + 2]!);
    } catch {
      return undefined;
    }
    // Not the chain qemu-img gives (a name that is not a string, say): what backs the disk is not known.
    const chain = BackingChain.safeParse(json);
    if (!chain.success) return undefined;
    for (const image of chain.data) {
      for (const name of [image.filename, image['full-backing-filename']]) if (name !== undefined) used.add(name);
    }
  }
  return used;
}

/**
 * Removes the candidates (shared files this deployment wrote: base images, context ISOs) that no domain uses, as a
 * disk or in a disk's backing chain, and that are still what vmctx wrote; when that use cannot be read, all are kept.
 */
export async function removeUnusedShared(connection: ControllerConnection, candidates: readonly OwnFile[]): Promise<{ removed: string[]; kept: KeptFile[] }> {
  if (candidates.length === 0) return { removed: [], kept: [] };
  const used = await filesInUse(connection, await listDomains(connection));
  if (used === undefined) {
    const why = 'which domains use it could not be read for certain';
    return { removed: [], kept: candidates.map((c) => ({ path: c.path, why })) };
  }
  const unused = candidates.filter((c) => !used.has(c.path));
  const { removed, kept } = await removeOwnFiles(connection, unused);
  const inUse = candidates.filter((c) => used.has(c.path)).map((c) => ({ path: c.path, why: 'a domain uses it' }));
  return { removed, kept: [...inUse, ...kept] };
}
