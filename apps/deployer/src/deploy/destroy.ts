/**
 * `vmctx destroy`: on every controller the file names, the domains this deployment owns (recorded in the
 * controller's state file, or carrying the deployment's mark) are stopped and undefined and their own files
 * removed; then the base images and context ISOs the deployment uploaded, once no domain there uses them; then
 * the state file. Nothing the deployment did not create is touched.
 */
import { posix } from 'node:path';
import type { VmctxError } from '@vmctx/contract';
import type { Deployment } from '../config/types.js';
import { CommandBatch } from '../controller/command-batch.js';
import { listDomains } from '../controller/libvirt.js';
import { removeUnusedShared, removeVm } from './remove.js';
import { forEachController, type SessionOptions } from './session.js';
import { readState, statePath, writeState } from './state.js';

export interface DestroyedController {
  controller: string;
  error?: VmctxError;
  /** Domains removed (or, with --dry-run, that would be). */
  domains: string[];
  /** Files removed (or that would be). */
  files: string[];
  /** Shared files kept because a domain there still uses them. */
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

export async function runDestroy(deployment: Deployment, options: SessionOptions & { dryRun?: boolean }): Promise<DestroyReport> {
  const work = deployment.controllers.map((controller) => ({ controller, vms: [] }));
  const results = await forEachController(work, options, async (connection, w) => {
    const lc = w.controller;
    options.events({ type: 'controller', controller: lc.name, phase: 'checking' });
    const reads = new CommandBatch(connection);
    const [recorded, domains] = await Promise.all([readState(reads, deployment.name), listDomains(reads)]);
    const marked = domains.filter((d) => d.owner?.deployment === deployment.name).map((d) => d.name);
    const names = [...new Set([...Object.keys(recorded.vms), ...marked])].sort();
    // A marked domain the state file does not know: its own files are the ones vmctx names after it.
    const ownFiles = (name: string): string[] => {
      const known = recorded.vms[name]?.files;
      if (known) return known;
      const overlay = posix.join(lc.imageDir, `${name}.qcow2`);
      const uses = domains.find((d) => d.name === name)?.files ?? [];
      return [...(uses.includes(overlay) ? [overlay] : []), posix.join(lc.imageDir, `${name}.console.log`)];
    };
    const shared = [...new Set(Object.values(recorded.vms).flatMap((v) => v.shared))].sort();
    const report: DestroyedController = { controller: lc.name, domains: names, files: [], kept: [], left: [] };
    if (options.dryRun) {
      report.files = [...names.flatMap(ownFiles), ...shared, ...(names.length > 0 ? [statePath(lc.imageDir, deployment.name)] : [])];
      return report;
    }
    const unfinished = new Set<string>();
    for (const name of names) {
      options.events({ type: 'vm', controller: lc.name, vm: name, phase: 'destroying' });
      const files = ownFiles(name);
      const left = await removeVm(connection, name, files, domains.some((d) => d.name === name));
      if (left.length > 0) unfinished.add(name);
      report.left.push(...left);
      report.files.push(...files.filter((f) => !left.includes(f)));
    }
    const { removed, kept } = await removeUnusedShared(connection, shared);
    report.files.push(...removed);
    report.kept = kept;
    // The state keeps what could not be removed, so that a second destroy can finish the job.
    const remaining = Object.fromEntries(Object.entries(recorded.vms).filter(([name]) => unfinished.has(name)));
    await writeState(connection, { ...recorded, vms: remaining });
    options.events({ type: 'controller', controller: lc.name, phase: report.left.length === 0 ? 'done' : 'failed' });
    return report;
  });
  const controllers = results.map((r) => ('error' in r ? { controller: r.work.controller.name, error: r.error, domains: [], files: [], kept: [], left: [] } : r.result));
  return { deployment: deployment.name, dryRun: options.dryRun ?? false, controllers, ok: controllers.every((c) => !c.error && c.left.length === 0) };
}
