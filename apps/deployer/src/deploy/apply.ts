/**
 * `vmctx deploy` on one controller, after its preflight passed:
 * 1. apply the plan (plan.ts) as it was shown: pruned domains removed; replaced ones (made from other
 *    artifacts) stopped, undefined and their overlay removed, to be created again with the same UUID and MAC;
 * 2. upload what is missing (base images once per controller, shared ISOs once, overlays), a few at a time;
 * 3. per VM, in parallel: define, start, check it runs; with `wait`, until the guest says it was
 *    contextualized. A VM that fails is undone in reverse order (domain stopped and undefined, its own files
 *    removed; base images are always kept), and its outcome says what was done and what is left;
 * 4. record what stands in the controller's state file (state.ts).
 */
import { VmctxError } from '@vmctx/contract';
import pLimit from 'p-limit';
import type { VmArtifacts } from '../artifacts/build.js';
import type { ControllerConnection } from '../controller/connection.js';
import { defineDomain, domainState, removeFiles, startDomain } from '../controller/libvirt.js';
import type { ControllerState } from '../controller/preflight.js';
import { uploadFile } from '../controller/upload.js';
import type { EventSink } from './events.js';
import type { ControllerPlan } from './plan.js';
import { removeUnusedShared, removeVm } from './remove.js';
import { writeState, type ControllerStateFile, type VmRecord } from './state.js';
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
  /** The controller's state file as it was before this deploy. */
  recorded: ControllerStateFile;
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
  /** Domains of this deployment removed because the file no longer has them (--prune). */
  pruned: string[];
}

export async function applyOnController(connection: ControllerConnection, state: ControllerState, plan: ControllerPlan, vms: readonly VmArtifacts[], options: ApplyOptions): Promise<ApplyResult> {
  const lc = connection.controller.name;
  const events = options.events;
  const step = (name: string) => plan.steps.find((s) => s.vm === name)!;

  // Pruned and replaced VMs go first: a replaced VM's old overlay must be gone before the new one is uploaded.
  const pruned: string[] = [];
  for (const s of plan.steps.filter((x) => x.action === 'prune')) {
    events({ type: 'vm', controller: lc, vm: s.vm, phase: 'pruning', message: s.reasons.join('; ') });
    const files = options.recorded.vms[s.vm]?.files ?? [];
    const left = await removeVm(connection, s.vm, files, state.domains.some((d) => d.name === s.vm));
    if (left.length === 0) pruned.push(s.vm);
  }
  for (const v of vms.filter((x) => step(x.vm.name).action === 'replace')) {
    events({ type: 'vm', controller: lc, vm: v.vm.name, phase: 'replacing', message: step(v.vm.name).reasons.join('; ') });
    await removeVm(connection, v.vm.name, [v.overlay.remotePath]);
    state.present.delete(v.overlay.remotePath);
  }

  const byPath = new Map(vms.flatMap((v) => [v.base, v.overlay, ...(v.iso ? [v.iso] : [])]).map((f) => [f.remotePath, f]));
  const uploaded: ApplyResult['uploaded'] = [];
  const failedUploads = new Map<string, VmctxError>();
  if (plan.uploads.length > 0) events({ type: 'controller', controller: lc, phase: 'uploading', message: `${plan.uploads.length} file(s)` });
  const uploadLimit = pLimit(options.uploadConcurrency ?? 3);
  // Bases first (largest, shared), then ISOs, then overlays.
  const order = { base: 0, iso: 1, overlay: 2 } as const;
  await Promise.all(
    [...plan.uploads].sort((a, b) => order[a.kind] - order[b.kind]).map(({ path }) =>
      uploadLimit(async () => {
        const file = byPath.get(path)!;
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
    vms.map((v) =>
      vmLimit(async (): Promise<VmOutcome> => {
        const name = v.vm.name;
        const action = step(name).action;
        if (action === 'unchanged') return unchanged(connection, v, state.domains.find((d) => d.name === name)?.state, options);
        const missing = [v.base, v.overlay, v.iso].find((f) => f && failedUploads.has(f.remotePath));
        if (missing) {
          const error = failedUploads.get(missing.remotePath)!;
          events({ type: 'vm', controller: lc, vm: name, phase: 'failed', message: error.message });
          // Nothing of this VM was defined; files that did arrive for it are its own overlay at most.
          const left = await undoFiles(connection, v, uploaded, state);
          return { vm: name, controller: lc, status: 'failed', error, left };
        }
        return create(connection, v, action === 'replace' ? 'replaced' : 'created', options);
      }),
    ),
  );

  // A context ISO uploaded in this run that no standing VM uses any more goes too (its VMs were all undone).
  const standing = new Set(outcomes.filter((o) => o.status !== 'failed' || (o.left?.length ?? 0) > 0).map((o) => o.vm));
  const orphanIsos = [...new Set(vms.flatMap((v) => (v.iso ? [v.iso.remotePath] : [])))]
    .filter((iso) => uploaded.some((u) => u.path === iso))
    .filter((iso) => !vms.some((v) => standing.has(v.vm.name) && v.iso?.remotePath === iso));
  if (orphanIsos.length > 0) await removeFiles(connection, orphanIsos).catch(() => undefined);

  // Record what stands: VMs that run (or were left), minus pruned ones; failed-and-undone VMs are forgotten.
  const recorded: ControllerStateFile = { ...options.recorded, vms: { ...options.recorded.vms } };
  for (const name of pruned) delete recorded.vms[name];
  for (const o of outcomes) {
    const v = vms.find((x) => x.vm.name === o.vm)!;
    if (o.status === 'failed' && (o.left?.length ?? 0) === 0 && step(o.vm).action !== 'unchanged') delete recorded.vms[o.vm];
    else recorded.vms[o.vm] = vmRecord(v, o, options.recorded.vms[o.vm]);
  }
  // Shared files the previous deploy used and this one no longer does (the old ISO of a replaced VM, the
  // base of a pruned one) go once no domain there uses them.
  const sharedNow = new Set(Object.values(recorded.vms).flatMap((r) => r.shared));
  const stale = [...new Set(Object.values(options.recorded.vms).flatMap((r) => r.shared))].filter((f) => !sharedNow.has(f));
  await removeUnusedShared(connection, stale);
  // Nothing changed, nothing written: a second deploy leaves even the state file as it was.
  if (JSON.stringify(recorded.vms) !== JSON.stringify(options.recorded.vms)) await writeState(connection, recorded);
  return { vms: outcomes, uploaded, pruned };
}

/** What the controller's state file keeps of a VM. */
function vmRecord(v: VmArtifacts, o: VmOutcome, before: VmRecord | undefined): VmRecord {
  // An address the guest said once (DHCP, with --wait) is kept by a later deploy that did not wait.
  const address = o.address ?? before?.address;
  return {
    uuid: v.uuid,
    macs: v.macs,
    artifacts: v.artifacts,
    files: [v.overlay.remotePath, v.consoleLog].filter((f) => f.startsWith(`${v.controller.imageDir}/`)),
    shared: [v.base.remotePath, ...(v.iso ? [v.iso.remotePath] : [])],
    xml: v.renderedXml,
    ...(address ? { address } : {}),
  };
}

/** `seen` is the domain's state as preflight read it a moment ago: no second round trip to ask again. */
async function unchanged(connection: ControllerConnection, v: VmArtifacts, seen: string | undefined, options: ApplyOptions): Promise<VmOutcome> {
  const lc = connection.controller.name;
  const name = v.vm.name;
  let state = seen;
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
    // Undone in reverse order: stopped, undefined, its overlay removed (base images are kept).
    const left = await removeVm(connection, name, [v.overlay.remotePath], defined);
    const undone = left.length === 0 ? 'undone' : `undo incomplete, left: ${left.join(', ')}`;
    const said = error instanceof VmctxError ? error.message : String(error);
    const [code, kind] = error instanceof VmctxError ? [error.code, error.kind] : ['DEPLOY_UNEXPECTED', 'internal' as const];
    const failure = new VmctxError(code, kind, `${said}\n  ${name} failed at ${step}${defined ? ' (it was defined)' : ''}; ${undone}`, {
      where: `${lc}/${name}`,
      cause: error,
    });
    events({ type: 'vm', controller: lc, vm: name, phase: 'undone', message: undone });
    return { vm: name, controller: lc, status: 'failed', error: failure, left };
  }
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
