/**
 * `vmctx deploy` on one controller, after its preflight passed:
 * 1. decide per VM: unchanged (its domain is ours and was made from the same artifacts), replace (ours, made
 *    from others: stopped, undefined and its overlay removed, then created again with the same UUID and MAC),
 *    or create;
 * 2. upload what is missing (base images once per controller, shared ISOs once, overlays), a few at a time;
 * 3. per VM, in parallel: define, start, check it runs; with `wait`, until the guest says it was
 *    contextualized. A VM that fails is undone in reverse order (domain stopped and undefined, its own files
 *    removed; base images are always kept), and its outcome says what was done and what is left.
 */
import { VmctxError } from '@vmctx/contract';
import pLimit from 'p-limit';
import type { RemoteArtifact, VmArtifacts } from '../artifacts/build.js';
import type { ControllerConnection } from '../controller/connection.js';
import { defineDomain, domainState, removeFiles, startDomain, stopDomain, undefineDomain, type DomainInfo } from '../controller/libvirt.js';
import type { ControllerState } from '../controller/preflight.js';
import { uploadFile } from '../controller/upload.js';
import type { EventSink } from './events.js';
import { waitForContextualized } from './wait.js';

export type VmStatus = 'unchanged' | 'created' | 'replaced' | 'failed';

export interface VmOutcome {
  vm: string;
  controller: string;
  status: VmStatus;
  /** libvirt's state at the end (`running`, `shut off`), when known. */
  state?: string;
  /** True once the guest said it was contextualized (with --wait). */
  contextualized?: boolean;
  address?: string;
  /** What went wrong, with the state it left. */
  error?: VmctxError;
  /** What a failed VM left on the controller after its undo ([] when the undo was complete). */
  left?: string[];
  /** Milliseconds from `virsh start` to the guest's "contextualized" line (with --wait). */
  bootMs?: number;
}

export interface ApplyOptions {
  events: EventSink;
  wait: boolean;
  waitTimeoutMs: number;
  /** Uploads at once on one controller (each is one channel). */
  uploadConcurrency?: number;
  /** VMs defined and started at once on one controller. */
  vmConcurrency?: number;
}

export interface ApplyResult {
  vms: VmOutcome[];
  uploaded: { path: string; bytes: number }[];
}

export async function applyOnController(connection: ControllerConnection, state: ControllerState, deployment: string, vms: readonly VmArtifacts[], options: ApplyOptions): Promise<ApplyResult> {
  const lc = connection.controller.name;
  const events = options.events;
  const ours = (v: VmArtifacts) => state.domains.find((d) => d.name === v.vm.name && d.owner?.deployment === deployment);
  const decisions = vms.map((v) => ({ v, existing: ours(v), action: decide(v, ours(v)) }));

  // Replaced VMs go first: their old overlay must be gone before the new one is uploaded under the same name.
  const replaced = new Set<string>();
  for (const d of decisions.filter((x) => x.action === 'replace')) {
    events({ type: 'vm', controller: lc, vm: d.v.vm.name, phase: 'replacing', message: changedArtifacts(d.v, d.existing!).join(', ') });
    await stopDomain(connection, d.v.vm.name);
    await undefineDomain(connection, d.v.vm.name);
    await removeFiles(connection, [d.v.overlay.remotePath]);
    state.present.delete(d.v.overlay.remotePath);
    replaced.add(d.v.vm.name);
  }

  const toCreate = decisions.filter((d) => d.action !== 'unchanged').map((d) => d.v);
  const needed = uniqueFiles(toCreate.flatMap((v) => [v.base, v.overlay, ...(v.iso ? [v.iso] : [])])).filter((f) => !state.present.has(f.remotePath));
  const uploaded: ApplyResult['uploaded'] = [];
  const failedUploads = new Map<string, VmctxError>();
  if (needed.length > 0) events({ type: 'controller', controller: lc, phase: 'uploading', message: `${needed.length} file(s)` });
  const uploadLimit = pLimit(options.uploadConcurrency ?? 3);
  // Bases first (largest, shared), then ISOs, then overlays.
  const order = { base: 0, iso: 1, overlay: 2 } as const;
  await Promise.all(
    [...needed].sort((a, b) => order[a.kind] - order[b.kind]).map((file) =>
      uploadLimit(async () => {
        try {
          await uploadFile(connection, file.localPath, file.remotePath, {
            sha256: file.sha256,
            size: file.size,
            mode: file.mode,
            onProgress: (sent, total) => events({ type: 'upload', controller: lc, file: file.remotePath, sent, total }),
          });
          events({ type: 'upload', controller: lc, file: file.remotePath, sent: file.size, total: file.size, done: true });
          uploaded.push({ path: file.remotePath, bytes: file.size });
          state.present.add(file.remotePath);
        } catch (error) {
          failedUploads.set(file.remotePath, error as VmctxError);
        }
      }),
    ),
  );

  events({ type: 'controller', controller: lc, phase: 'deploying' });
  const vmLimit = pLimit(options.vmConcurrency ?? 4);
  const outcomes = await Promise.all(
    decisions.map((d) =>
      vmLimit(async (): Promise<VmOutcome> => {
        const name = d.v.vm.name;
        if (d.action === 'unchanged') return unchanged(connection, d.v, options);
        const missing = [d.v.base, d.v.overlay, d.v.iso].find((f) => f && failedUploads.has(f.remotePath));
        if (missing) {
          const error = failedUploads.get(missing.remotePath)!;
          events({ type: 'vm', controller: lc, vm: name, phase: 'failed', message: error.message });
          // Nothing of this VM was defined; files that did arrive for it are its own overlay at most.
          const left = await undoFiles(connection, d.v, uploaded, state);
          return { vm: name, controller: lc, status: 'failed', error, left };
        }
        return create(connection, d.v, replaced.has(name) ? 'replaced' : 'created', options);
      }),
    ),
  );

  // A context ISO uploaded in this run that no standing VM uses any more goes too (its VMs were all undone).
  const standing = new Set(outcomes.filter((o) => o.status !== 'failed').map((o) => o.vm));
  const orphanIsos = uniqueFiles(toCreate.flatMap((v) => (v.iso ? [v.iso] : [])))
    .filter((iso) => uploaded.some((u) => u.path === iso.remotePath))
    .filter((iso) => !vms.some((v) => standing.has(v.vm.name) && v.iso?.remotePath === iso.remotePath));
  if (orphanIsos.length > 0) await removeFiles(connection, orphanIsos.map((i) => i.remotePath)).catch(() => undefined);
  return { vms: outcomes, uploaded };
}

type Action = 'unchanged' | 'replace' | 'create';

function decide(v: VmArtifacts, existing: DomainInfo | undefined): Action {
  if (!existing) return 'create';
  return changedArtifacts(v, existing).length === 0 ? 'unchanged' : 'replace';
}

/** Which artifacts of an existing domain of ours differ from the ones just built (`iso`, `domain`, ...). */
export function changedArtifacts(v: VmArtifacts, existing: DomainInfo): string[] {
  const recorded = existing.owner?.artifacts ?? {};
  const wanted = ownerArtifacts(v);
  const kinds = [...new Set([...Object.keys(recorded), ...Object.keys(wanted)])].sort();
  return kinds.filter((k) => recorded[k] !== wanted[k]);
}

/** The artifact digests the built domain carries in its owner mark. */
function ownerArtifacts(v: VmArtifacts): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of v.xml.matchAll(/<vmctx:artifact kind="([^"]+)" sha256="([0-9a-f]+)"\/>/g)) out[m[1]!] = m[2]!;
  return out;
}

async function unchanged(connection: ControllerConnection, v: VmArtifacts, options: ApplyOptions): Promise<VmOutcome> {
  const lc = connection.controller.name;
  const name = v.vm.name;
  let state = await domainState(connection, name);
  options.events({ type: 'vm', controller: lc, vm: name, phase: 'unchanged', message: state });
  // An unchanged VM that is not running is started: deploy's promise is "every VM defined and running".
  if (state !== 'running') {
    try {
      await startDomain(connection, name);
      state = await domainState(connection, name);
    } catch (error) {
      return { vm: name, controller: lc, status: 'failed', error: error as VmctxError, ...(state ? { state } : {}), left: [`domain ${name} (unchanged, ${state})`] };
    }
  }
  const outcome: VmOutcome = { vm: name, controller: lc, status: 'unchanged', ...(state ? { state } : {}), ...staticAddress(v) };
  if (!options.wait) return outcome;
  try {
    const said = await waitForContextualized(connection, name, v.consoleLog, options.waitTimeoutMs);
    return { ...outcome, contextualized: true, ...(said.address ? { address: said.address } : {}) };
  } catch (error) {
    return { ...outcome, status: 'failed', error: error as VmctxError, left: [`domain ${name} (running)`] };
  }
}

async function create(connection: ControllerConnection, v: VmArtifacts, status: 'created' | 'replaced', options: ApplyOptions): Promise<VmOutcome> {
  const lc = connection.controller.name;
  const name = v.vm.name;
  const events = options.events;
  let defined = false;
  let started = false;
  try {
    events({ type: 'vm', controller: lc, vm: name, phase: 'defining' });
    await defineDomain(connection, v.xml);
    defined = true;
    events({ type: 'vm', controller: lc, vm: name, phase: 'starting' });
    const startedAt = Date.now();
    await startDomain(connection, name);
    started = true;
    const state = await domainState(connection, name);
    if (state !== 'running') throw new VmctxError('DEPLOY_NOT_RUNNING', 'remote', `${lc}: ${name} was started but is ${state ?? 'gone'}`, { where: `${lc}/${name}` });
    events({ type: 'vm', controller: lc, vm: name, phase: 'running' });
    const outcome: VmOutcome = { vm: name, controller: lc, status, state, ...staticAddress(v) };
    if (!options.wait) return outcome;
    events({ type: 'vm', controller: lc, vm: name, phase: 'waiting' });
    try {
      const said = await waitForContextualized(connection, name, v.consoleLog, options.waitTimeoutMs);
      events({ type: 'vm', controller: lc, vm: name, phase: 'contextualized', message: said.line });
      return { ...outcome, contextualized: true, bootMs: Date.now() - startedAt, ...(said.address ? { address: said.address } : {}) };
    } catch (error) {
      // The domain runs; only the guest's answer is missing. It is left running for the operator to look at.
      events({ type: 'vm', controller: lc, vm: name, phase: 'failed', message: (error as Error).message });
      return { ...outcome, status: 'failed', error: error as VmctxError, left: [`domain ${name} (running)`, v.overlay.remotePath] };
    }
  } catch (error) {
    const step = !defined ? 'define' : !started ? 'start' : 'the check that it runs';
    events({ type: 'vm', controller: lc, vm: name, phase: 'failed', message: (error as Error).message });
    const left = await undoVm(connection, v, defined);
    const undone = left.length === 0 ? 'undone' : `undo incomplete, left: ${left.join(', ')}`;
    const said = error instanceof VmctxError ? error.message : String(error);
    const failure = new VmctxError(error instanceof VmctxError ? error.code : 'DEPLOY_UNEXPECTED', 'remote', `${said}\n  ${name} failed at ${step}${defined ? ' (it was defined)' : ''}; ${undone}`, {
      where: `${lc}/${name}`,
      cause: error,
    });
    events({ type: 'vm', controller: lc, vm: name, phase: 'undone', message: undone });
    return { vm: name, controller: lc, status: 'failed', error: failure, left };
  }
}

/** Undoes one VM in reverse order: stop, undefine, remove its overlay. Returns what could not be undone. */
async function undoVm(connection: ControllerConnection, v: VmArtifacts, defined: boolean): Promise<string[]> {
  const left: string[] = [];
  if (defined) {
    await stopDomain(connection, v.vm.name).catch(() => left.push(`domain ${v.vm.name} (running)`));
    await undefineDomain(connection, v.vm.name).catch(() => left.push(`domain ${v.vm.name} (defined)`));
  }
  await removeFiles(connection, [v.overlay.remotePath]).catch(() => left.push(v.overlay.remotePath));
  return left;
}

async function undoFiles(connection: ControllerConnection, v: VmArtifacts, uploaded: ApplyResult['uploaded'], state: ControllerState): Promise<string[]> {
  if (!uploaded.some((u) => u.path === v.overlay.remotePath)) return [];
  try {
    await removeFiles(connection, [v.overlay.remotePath]);
    state.present.delete(v.overlay.remotePath);
    return [];
  } catch {
    return [v.overlay.remotePath];
  }
}

/** The address the deployment gives the VM, when it gives one (static, or IP-from-MAC). */
function staticAddress(v: VmArtifacts): { address?: string } {
  if (v.vm.address) return { address: v.vm.address };
  if (v.vm.context.kind === 'context') {
    const network = (v.vm.context.context as { network?: { method?: string; address?: string } }).network;
    if (network?.method === 'static' && network.address) return { address: network.address.split('/')[0]! };
  }
  return {};
}

function uniqueFiles(files: readonly RemoteArtifact[]): RemoteArtifact[] {
  const seen = new Map<string, RemoteArtifact>();
  for (const f of files) if (!seen.has(f.remotePath)) seen.set(f.remotePath, f);
  return [...seen.values()];
}
