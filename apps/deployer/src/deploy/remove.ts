/**
 * Removing what a deployment made on a controller, used by `destroy`, by `deploy --prune` and when a VM is
 * replaced: a VM's domain (stopped, then undefined) and its own files; then shared files (base images, context
 * ISOs) that the deployment uploaded, only once no domain on that controller, of any owner, still uses them.
 */
import type { ControllerConnection } from '../controller/connection.js';
import { listDomains, removeFiles, stopDomain, undefineDomain, type DomainInfo } from '../controller/libvirt.js';

/** Stops and undefines a domain and removes its own files; returns what could not be removed. */
export async function removeVm(connection: ControllerConnection, name: string, files: readonly string[], domainExists = true): Promise<string[]> {
  const left: string[] = [];
  if (domainExists) {
    await stopDomain(connection, name).catch(() => left.push(`domain ${name} (running)`));
    await undefineDomain(connection, name).catch(() => left.push(`domain ${name} (defined)`));
  }
  await removeFiles(connection, files).catch(() => left.push(...files));
  return left;
}

// The backing file of every qcow2 a domain uses: a base image is in use while an overlay points at it.
const BACKING_FILES = 'for f in "$@"; do qemu-img info -U --output=json -- "$f" 2>/dev/null | sed -n \'s/^ *"full-backing-filename": "\\(.*\\)",*$/\\1/p\'; done';

/** Removes the candidates that no domain uses (as a disk, or as the backing file of a disk); returns both lists. */
export async function removeUnusedShared(connection: ControllerConnection, candidates: readonly string[]): Promise<{ removed: string[]; kept: string[] }> {
  if (candidates.length === 0) return { removed: [], kept: [] };
  const domains: DomainInfo[] = await listDomains(connection);
  const used = new Set(domains.flatMap((d) => d.files));
  const disks = [...used];
  if (disks.length > 0) {
    const result = await connection.exec(['sh', '-c', BACKING_FILES, 'vmctx-backing', ...disks]);
    // Without qemu-img the chains cannot be read: then every base image counts as used, and is kept.
    if (result.code !== 0 && result.stdout === '') return { removed: [], kept: [...candidates] };
    for (const line of result.stdout.split('\n')) if (line) used.add(line);
  }
  const removed = candidates.filter((c) => !used.has(c));
  await removeFiles(connection, removed);
  return { removed, kept: candidates.filter((c) => used.has(c)) };
}
