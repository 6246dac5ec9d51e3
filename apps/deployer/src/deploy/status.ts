/**
 * `vmctx status`: per VM of the file, its controller, libvirt's state, its address when known, and whether what
 * is on the controller matches what the file builds now (drift): the domain's mark against the local artifacts,
 * the context ISO's sha256 computed on the controller, the base image and overlay present.
 */
import type { VmArtifacts } from '../artifacts/build.js';
import type { Deployment } from '../config/types.js';
import { CommandBatch } from '../controller/command-batch.js';
import { connectionFix } from '../controller/connection.js';
import { arpTable } from '../controller/arp-table.js';
import { existingFiles, leasedAddress, listDomains } from '../controller/libvirt.js';
import { remoteSha256 } from '../controller/upload.js';
import { ownedDomain } from '../controller/ownership.js';
import { deploymentIdentity } from './deployment-id.js';
import { replaceReasons } from './plan.js';
import { controllersInUse, forEachController, type SessionOptions } from './session.js';
import { readState } from './state.js';

export interface VmStatusRow {
  vm: string;
  controller: string;
  /** libvirt's state (`running`, `shut off`...), `absent`, or `unknown` when the controller did not answer. */
  state: string;
  address?: string;
  /** What differs from the file; [] when in sync. */
  drift: string[];
}

export interface StatusReport {
  deployment: string;
  vms: VmStatusRow[];
  /** Controllers that could not be read, with why (and what to do, when it could not be reached). */
  errors: { controller: string; message: string; code: string; fix?: string }[];
  inSync: boolean;
}

export async function runStatus(deployment: Deployment, artifacts: readonly VmArtifacts[], options: SessionOptions): Promise<StatusReport> {
  const results = await forEachController(controllersInUse(deployment, artifacts), options, async (connection, work) => {
    // Each round of reads goes to the controller as one batch (one channel, one shell).
    const reads = new CommandBatch(connection);
    const identity = deploymentIdentity(deployment);
    const [domains, recorded] = await Promise.all([listDomains(reads), readState(reads, identity)]);
    const isos = [...new Set(work.vms.flatMap((v) => (v.iso ? [v.iso.remotePath] : [])))];
    const [present, isoSums] = await Promise.all([
      existingFiles(reads, work.vms.flatMap((v) => [v.base.remotePath, v.overlay.remotePath])),
      Promise.all(isos.map(async (p) => [p, await remoteSha256(reads, p)] as const)).then((pairs) => new Map(pairs)),
    ]);
    const ours = new Set<string>();
    const rows = work.vms.map((v): VmStatusRow => {
      const domain = domains.find((d) => d.name === v.vm.name);
      const row = { vm: v.vm.name, controller: work.controller.name };
      if (!domain) return { ...row, state: 'absent', drift: ['not deployed'] };
      if (domain !== ownedDomain(domains, identity, v.vm.name, v.uuid)) return { ...row, state: domain.state, drift: [`a domain of ${domain.owner ? `deployment ${domain.owner.deployment}` : 'no vmctx deployment'} holds the name`] };
      ours.add(v.vm.name);
      const drift = replaceReasons(v, domain, recorded);
      if (!present.has(v.base.remotePath)) drift.push(`base image ${v.base.remotePath} missing`);
      if (!present.has(v.overlay.remotePath)) drift.push(`overlay ${v.overlay.remotePath} missing`);
      if (v.iso) {
        const sum = isoSums.get(v.iso.remotePath);
        if (sum === undefined) drift.push(`context ISO ${v.iso.remotePath} missing`);
        else if (sum !== v.iso.sha256) drift.push(`context ISO ${v.iso.remotePath} altered on the controller (sha256 ${sum.slice(0, 12)})`);
      }
      const address = recorded.vms[v.vm.name]?.address ?? v.vm.address;
      return { ...row, state: domain.state, ...(address ? { address } : {}), drift };
    });
    // A running VM of ours without an address from its context or its guest (DHCP): a libvirt network's lease,
    // else the controller's ARP table for its MACs. Not for a domain of another that holds the name.
    const unknown = rows.map((row, i) => [row, work.vms[i]!] as const).filter(([row]) => ours.has(row.vm) && row.address === undefined && row.state === 'running');
    if (unknown.length > 0) {
      const [leases, neighbours] = await Promise.all([Promise.all(unknown.map(([, v]) => leasedAddress(reads, v.uuid))), arpTable(reads)]);
      unknown.forEach(([row, v], i) => {
        const address = leases[i] ?? v.macs.map((mac) => neighbours.get(mac.toLowerCase())).find((a) => a !== undefined);
        if (address) row.address = address;
      });
    }
    return rows;
  });
  const vms: VmStatusRow[] = [];
  const errors: StatusReport['errors'] = [];
  for (const r of results) {
    if ('error' in r) {
      const fix = connectionFix(r.error);
      errors.push({ controller: r.work.controller.name, message: r.error.message, code: r.error.code, ...(fix === undefined ? {} : { fix }) });
      vms.push(...r.work.vms.map((v) => ({ vm: v.vm.name, controller: r.work.controller.name, state: 'unknown', drift: ['controller not reachable'] })));
    } else vms.push(...r.result);
  }
  return { deployment: deployment.name, vms, errors, inSync: errors.length === 0 && vms.every((v) => v.drift.length === 0) };
}
