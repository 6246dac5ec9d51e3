/**
 * `vmctx destroy`: on every controller the file names, holding the deployment's lock, the domains this deployment
 * owns (recorded in the controller's state file, or carrying the deployment's mark; in both cases found by their
 * UUID with the deployment's mark: ownership.ts) are stopped and undefined and their own files removed; then the
 * base images and context ISOs the deployment uploaded, once no domain there uses them; then the state file.
 * Nothing the deployment did not create is touched: a domain of another owner under a recorded name, a file that
 * is not the one written, a path outside the image folder are kept and reported.
 */
import { posix } from 'node:path';
import type { VmctxError } from '@vmctx/contract';
import { deriveUuid } from '@vmctx/template-renderer';
import type { Deployment } from '../config/types.js';
import { CommandBatch } from '../controller/command-batch.js';
import type { ControllerConnection } from '../controller/connection.js';
import { DEFAULT_LOCK_WAIT_SECONDS, lockDeployment } from '../controller/deployment-lock.js';
import { listDomains } from '../controller/libvirt.js';
import type { DeploymentIdentity } from '../controller/owner-mark.js';
import { ownedDomain } from '../controller/ownership.js';
import { deploymentIdentity } from './deployment-id.js';
import { removeUnusedShared, removeVm, type OwnFile } from './remove.js';
import { forEachController, type SessionOptions } from './session.js';
import { ownFiles, partialFiles, readState, sharedFiles, statePath, uniqueFiles, writeState } from './state.js';

export interface DestroyedController {
  controller: string;
  error?: VmctxError;
  /** Domains removed (or, with --dry-run, that would be). */
  domains: string[];
  /** Files removed (or that would be). */
  files: string[];
  /** Shared files kept, each with why (a domain there still uses it, it is not the file vmctx wrote...). */
  kept: string[];
  /** What could not be removed. */
  left: string[];
}

export interface DestroyReport {
  deployment: string;
  dryRun: boolean;
  controllers: DestroyedController[];
  ok: boolean;
}

export async function runDestroy(deployment: Deployment, options: SessionOptions & { dryRun?: boolean; lockWaitSeconds?: number }): Promise<DestroyReport> {
  const identity = deploymentIdentity(deployment);
  const work = deployment.controllers.map((controller) => ({ controller, vms: [] }));
  const results = await forEachController(work, options, async (connection, w) => {
    const lc = w.controller;
    const lock = options.dryRun
      ? undefined
      : await lockDeployment(connection, deployment.name, {
          waitSeconds: options.lockWaitSeconds ?? DEFAULT_LOCK_WAIT_SECONDS,
          onBusy: (holder) => options.events({ type: 'note', controller: lc.name, message: `${lc.name}: another run of ${deployment.name} holds it (${holder}); waiting` }),
        });
    try {
      return await destroyOn(connection, identity, options);
    } finally {
      lock?.release();
    }
  });
  const controllers = results.map((r) => ('error' in r ? { controller: r.work.controller.name, error: r.error, domains: [], files: [], kept: [], left: [] } : r.result));
  return { deployment: deployment.name, dryRun: options.dryRun ?? false, controllers, ok: controllers.every((c) => !c.error && c.left.length === 0) };
}

async function destroyOn(connection: ControllerConnection, identity: DeploymentIdentity, options: SessionOptions & { dryRun?: boolean }): Promise<DestroyedController> {
  const lc = connection.controller;
  options.events({ type: 'controller', controller: lc.name, phase: 'checking' });
  const reads = new CommandBatch(connection);
  const [recorded, domains] = await Promise.all([readState(reads, identity), listDomains(reads)]);
  // Ours: the recorded VMs, found by their recorded UUID; and domains the record does not know that carry this
  // deployment's mark (with its id) and the UUID the deployment derives for that name.
  const marked = domains.filter((d) => d.owner && !recorded.vms[d.name] && ownedDomain([d], identity, d.name, deriveUuid(identity.name, d.name)) === d).map((d) => d.name);
  const names = [...new Set([...Object.keys(recorded.vms), ...marked])].sort();
  const domainOf = (name: string) => ownedDomain(domains, identity, name, recorded.vms[name]?.uuid ?? deriveUuid(identity.name, name));
  // A marked domain the record does not know: its own files are those vmctx names after it, where it uses them.
  const filesOf = (name: string): OwnFile[] => {
    const record = recorded.vms[name];
    if (record) return [...ownFiles(record), ...partialFiles(record)];
    const d = domainOf(name);
    const uses = new Set([...(d?.files ?? []), ...(d?.consoles ?? [])]);
    return [posix.join(lc.imageDir, `${name}.qcow2`), posix.join(lc.imageDir, `${name}.console.log`)].filter((f) => uses.has(f)).map((path) => ({ path }));
  };
  const shared = uniqueFiles(Object.values(recorded.vms).flatMap(sharedFiles));
  const report: DestroyedController = { controller: lc.name, domains: [], files: [], kept: [], left: [] };
  // A name whose domain is not ours (gone, or replaced by another's) has no domain to remove: only its files go,
  // each by its identity.
  const foreign = names.filter((n) => !domainOf(n) && domains.some((d) => d.name === n));
  for (const n of foreign) options.events({ type: 'note', controller: lc.name, message: `${lc.name}: domain ${n} is not the one this deployment made (UUID or owner mark differ); left untouched` });
  if (options.dryRun) {
    report.domains = names.filter((n) => domainOf(n) !== undefined);
    report.files = [...names.flatMap((n) => filesOf(n).map((f) => f.path)), ...shared.map((f) => f.path), ...(names.length > 0 ? [statePath(lc.imageDir, identity.name)] : [])];
    return report;
  }
  const unfinished = new Set<string>();
  for (const name of names) {
    options.events({ type: 'vm', controller: lc.name, vm: name, phase: 'destroying' });
    const domain = domainOf(name);
    const files = filesOf(name);
    const left = await removeVm(connection, domain, files);
    if (domain && !left.some((l) => l.startsWith('domain '))) report.domains.push(name);
    if (left.length > 0) unfinished.add(name);
    report.left.push(...left);
    report.files.push(...files.map((f) => f.path).filter((f) => !left.some((l) => l === f || l.startsWith(`${f} (`))));
  }
  const { removed, kept } = await removeUnusedShared(connection, shared);
  report.files.push(...removed);
  report.kept = kept.map((k) => `${k.path}: ${k.why}`);
  // The state keeps what could not be removed, so that a second destroy can finish the job.
  const remaining = Object.fromEntries(Object.entries(recorded.vms).filter(([name]) => unfinished.has(name)));
  await writeState(connection, { ...recorded, vms: remaining });
  options.events({ type: 'controller', controller: lc.name, phase: report.left.length === 0 ? 'done' : 'failed' });
  return report;
}
