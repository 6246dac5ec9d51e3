/**
 * `vmctx deploy` on one controller, after its preflight passed and while this run holds the deployment's lock:
 * 0. record the intent: every VM about to be created or replaced goes into the controller's record as `pending`
 *    before anything is written, so that a run killed at any point leaves what the next deploy or destroy finishes;
 * 1. apply the plan (plan.ts) as it was shown: pruned domains removed; replaced ones (made from other
 *    artifacts) stopped, undefined and their overlay removed, to be created again with the same UUID and MAC;
 *    leftovers of an interrupted run removed; each only where ownership.ts and remove.ts find it is ours;
 * 2. upload what is missing (base images once per controller, shared ISOs once, overlays), a few at a time, and
 *    check by content a shared file that was found there but that this deployment did not write or verify before;
 * 3. per VM, in parallel: define, start (by UUID), check it runs; with `wait`, until the guest says it was
 *    contextualized. A VM that fails is undone in reverse order (domain stopped and undefined, its own files
 *    removed; base images are always kept), and its outcome says what was done and what is left;
 * 4. record what stands in the controller's state file (state.ts), with the identity of each file written.
 */
import { VmctxError } from '@vmctx/contract';
import { deriveUuid } from '@vmctx/template-renderer';
import pLimit from 'p-limit';
import type { RemoteArtifact, VmArtifacts } from '../artifacts/build.js';
import type { ControllerConnection } from '../controller/connection.js';
import { changeMedia, defineDomain, domainState, fileIdentities, setMemoryLive, setVcpusLive, shutDownDomain, startDomain } from '../controller/libvirt.js';
import type { DeploymentIdentity } from '../controller/owner-mark.js';
import { ownedDomain } from '../controller/ownership.js';
import type { ControllerState } from '../controller/preflight.js';
import { fetchOnController } from '../controller/fetch.js';
import { partialPath, remoteSha256 } from '../controller/upload.js';
import type { EventSink } from './events.js';
import type { LiveChange } from './live-apply.js';
import type { ControllerPlan, PlanStep } from './plan.js';
import { removeOwnFiles, removeUnusedShared, removeVm, type OwnFile } from './remove.js';
import { SharedUploads, uploadOrder } from './shared-uploads.js';
import { ownFiles, sharedFiles, uniqueFiles, writeState, type ControllerStateFile, type VmRecord } from './state.js';
import { CLOUD_INIT_ONLY, consoleLogSize, showsCloudInitOnly, waitForContextualized, waitForReapply, type ReapplyResult } from './wait.js';
import { DeployerError } from '../errors.js';

export type VmStatus = 'unchanged' | 'updated' | 'created' | 'replaced' | 'failed';

export interface VmOutcome {
  vm: string;
  controller: string;
  status: VmStatus;
  /** libvirt's state at the end (`running`, `shut off`), when known. */
  state?: string;
  /**
   * True once the guest said it was contextualized (with --wait), or applied a context CD swapped into it live; false
   * when it did not apply that CD live (it applies it at its next boot: restartNeeded says so).
   */
  contextualized?: boolean;
  address?: string;
  /** What went wrong, with the state it left. */
  error?: VmctxError;
  /** What a failed VM left on the controller after its undo ([] when the undo was complete). */
  left?: string[];
  /** Milliseconds from `virsh start` to the guest's "contextualized" line (with --wait). */
  bootMs?: number;
  /** What the operator should know of an outcome that is not a failure (an update a running guest takes later). */
  note?: string;
  /** An updated VM left running (restart: never) whose guest still needs a restart to take all of it: why. */
  restartNeeded?: string[];
}

export interface ApplyOptions {
  events: EventSink;
  /** The deployment whose VMs these are (its name and id, as its marks and record carry them). */
  deployment: DeploymentIdentity;
  /** The controller's state file as it was before this deploy. */
  recorded: ControllerStateFile;
  wait: boolean;
  waitTimeoutMs: number;
  /** Uploads at once on one controller (each is one channel). */
  uploadConcurrency?: number;
  /** VMs defined and started at once on one controller. */
  vmConcurrency?: number;
  /**
   * How long a restart (a step whose `restart` is set: restart: when-needed, --restart-if-needed) lets its guest shut
   * down (ACPI) before it is powered off; default 60 s.
   */
  shutdownGraceMs?: number;
  /** --restart-if-needed: a guest that did not apply its new context CD live is restarted for it (as when-needed). */
  restartIfNeeded?: boolean;
  /**
   * The deploy's one reading of each file for all its controllers (shared-uploads.ts), which this controller has
   * entered; without it, this controller reads its files for itself.
   */
  shared?: SharedUploads;
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
  const before = options.recorded;
  const step = (name: string) => plan.steps.find((s) => s.vm === name)!;
  const acting = vms.filter((v) => step(v.vm.name).action === 'create' || step(v.vm.name).action === 'replace');
  const pruning = plan.steps.filter((x) => x.action === 'prune');

  // 0. The intent, before anything is written: a VM about to be made is pending in the record.
  if (acting.length > 0) {
    const intent: ControllerStateFile = { ...before, vms: { ...before.vms } };
    for (const v of acting) intent.vms[v.vm.name] = { ...vmRecord(v, {}, before.vms[v.vm.name]), pending: true };
    await writeState(connection, intent);
  }

  // 1. Pruned and replaced VMs go first: a replaced VM's old overlay must be gone before the new one is uploaded.
  const pruned: string[] = [];
  for (const s of pruning) {
    events({ type: 'vm', controller: lc, vm: s.vm, phase: 'pruning', message: s.reasons.join('; ') });
    const record = before.vms[s.vm];
    const domain = ownedDomain(state.domains, options.deployment, s.vm, record?.uuid ?? deriveUuid(options.deployment.name, s.vm));
    const left = await removeVm(connection, domain, record ? ownFiles(record) : []);
    if (left.length === 0) pruned.push(s.vm);
  }
  // What keeps a VM from being made: its old domain or overlay, or a leftover, that could not be removed.
  const blocked = new Map<string, VmctxError>();
  for (const v of acting) {
    const name = v.vm.name;
    const record = before.vms[name];
    const leftover = state.leftovers?.get(v.overlay.remotePath);
    if (step(name).action === 'replace') {
      events({ type: 'vm', controller: lc, vm: name, phase: 'replacing', message: step(name).reasons.join('; ') });
      const domain = ownedDomain(state.domains, options.deployment, name, v.uuid);
      const left = await removeVm(connection, domain, record ? ownFiles(record).filter((f) => f.path === v.overlay.remotePath) : []);
      if (left.length > 0) blocked.set(name, new DeployerError('REMOTE_COMMAND_FAILED', `${lc}: ${name} could not be replaced: ${left.join(', ')} could not be removed; nothing of it was changed further`, { where: `${lc}/${name}` }));
      else state.present.delete(v.overlay.remotePath);
    } else if (leftover) {
      const { kept } = await removeOwnFiles(connection, [leftover]);
      if (kept.length > 0) {
        blocked.set(name, new DeployerError('REMOTE_COMMAND_FAILED', `${lc}: ${leftover.path}, left by an interrupted run, was kept (${kept[0]!.why}); ${name} was not made`, { where: `${lc}/${name}` }));
      } else state.present.delete(v.overlay.remotePath);
    }
  }

  // 2. Uploads, then the shared files that were there already.
  const byPath = new Map(vms.flatMap((v) => [v.base, v.overlay, ...(v.iso ? [v.iso] : [])]).map((f) => [f.remotePath, f]));
  const uploads = plan.uploads.filter((u) => !acting.some((v) => blocked.has(v.vm.name) && v.overlay.remotePath === u.path));
  const shared = options.shared ?? new SharedUploads(events);
  if (!options.shared) shared.enter(lc);
  const { uploaded, written, failedFiles } = await uploadPlanned(connection, uploads, byPath, state, events, options.uploadConcurrency ?? 3, shared);
  // A cut upload keeps what arrived for the next deploy to resume: its VMs stay recorded (pending) while it is there,
  // so that destroy finds it.
  const failedUploads = uploads.filter((u) => failedFiles.has(u.path)).map((u) => byPath.get(u.path)!);
  const keptParts = await fileIdentities(connection, failedUploads.map((f) => partialPath(f.remotePath, f.sha256))).catch(() => new Map<string, string>());
  // Files found there for a VM this run makes or redefines are checked before they are used.
  const touching = vms.filter((v) => !['unchanged', 'held', 'orphan', 'prune'].includes(step(v.vm.name).action));
  const verified = await verifyReused(connection, touching, before, state, written, failedFiles);

  // 3. Each VM.
  events({ type: 'controller', controller: lc, phase: 'deploying' });
  const vmLimit = pLimit(options.vmConcurrency ?? 4);
  const outcomes = await Promise.all(
    vms.map((v) =>
      vmLimit(async (): Promise<VmOutcome> => {
        const name = v.vm.name;
        const action = step(name).action;
        if (action === 'unchanged') return unchanged(connection, v, state.domains.find((d) => d.uuid === v.uuid)?.state, options);
        if (action === 'held') return held(lc, v, step(name), options);
        const missing = [v.base, v.overlay, v.iso].find((f) => f && failedFiles.has(f.remotePath));
        if (action === 'update' || action === 'recontextualize') {
          // A new context CD that did not arrive (or is not what its name says): the VM stays as it is.
          if (missing) return { vm: name, controller: lc, status: 'failed', error: failedFiles.get(missing.remotePath)!, left: [`domain ${name} and its disk, as they were`] };
          return update(connection, v, state.domains.find((d) => d.uuid === v.uuid)?.state, step(name), options);
        }
        const error = blocked.get(name) ?? (missing ? failedFiles.get(missing.remotePath) : undefined);
        if (error) {
          events({ type: 'vm', controller: lc, vm: name, phase: 'failed', message: error.message });
          // Nothing of this VM was defined; files that did arrive for it are its own overlay at most, and the parts
          // of its cut uploads, kept to be resumed.
          const parts = [v.base, v.overlay, v.iso].map((f) => f && partialPath(f.remotePath, f.sha256)).filter((p): p is string => p !== undefined && keptParts.has(p));
          const left = [...(await undoOverlay(connection, v, written, state)), ...parts.map((p) => `${p} (kept to resume its upload)`)];
          return { vm: name, controller: lc, status: 'failed', error, left };
        }
        return create(connection, v, action === 'replace' ? 'replaced' : 'created', { overlay: written.get(v.overlay.remotePath), consoleLogNew: !state.identities.has(v.consoleLog) }, options);
      }),
    ),
  );

  // A context ISO uploaded in this run that no standing VM uses any more goes too (its VMs were all undone).
  const standing = new Set(outcomes.filter((o) => o.status !== 'failed' || (o.left?.length ?? 0) > 0).map((o) => o.vm));
  const orphanIsos = [...new Set(vms.flatMap((v) => (v.iso ? [v.iso.remotePath] : [])))]
    .filter((iso) => written.has(iso))
    .filter((iso) => !vms.some((v) => standing.has(v.vm.name) && v.iso?.remotePath === iso));
  if (orphanIsos.length > 0) await removeOwnFiles(connection, orphanIsos.map((path) => ({ path, identity: written.get(path)! }))).catch(() => undefined);

  // 4. Record what stands: VMs that run (or were left), minus pruned ones; failed-and-undone VMs are forgotten.
  const recorded: ControllerStateFile = { ...before, vms: { ...before.vms } };
  for (const name of pruned) delete recorded.vms[name];
  const consoles = await fileIdentities(connection, outcomes.filter((o) => o.status !== 'unchanged' && standing.has(o.vm)).map((o) => vms.find((x) => x.vm.name === o.vm)!.consoleLog)).catch(() => new Map<string, string>());
  const known = new Map([...verified, ...written, ...consoles]);
  // A base image this run uploaded stays (the next deploy needs it) even when every VM that wanted it failed: such a
  // VM stays recorded as pending, so that destroy finds it (issue 24: it was left with no record).
  const standingBases = new Set(vms.filter((v) => standing.has(v.vm.name)).map((v) => v.base.remotePath));
  const leavesShared = (v: VmArtifacts) => written.has(v.base.remotePath) && !standingBases.has(v.base.remotePath);
  for (const o of outcomes) {
    const v = vms.find((x) => x.vm.name === o.vm)!;
    // A held VM was not touched: its record stays the one of the VM that stands.
    if (step(o.vm).action === 'held') continue;
    if (o.status === 'failed' && (o.left?.length ?? 0) === 0 && step(o.vm).action !== 'unchanged' && !leavesShared(v)) delete recorded.vms[o.vm];
    else recorded.vms[o.vm] = { ...vmRecord(v, { address: o.address, known }, before.vms[o.vm]), ...(o.status === 'failed' && step(o.vm).action !== 'unchanged' ? { pending: true as const } : {}), ...restartPending(o, step(o.vm)) };
  }
  // Shared files the previous deploy used and this one no longer does (the old ISO of a replaced VM, the
  // base of a pruned one) go once no domain there uses them.
  const sharedNow = new Set(Object.values(recorded.vms).flatMap((r) => r.shared));
  const stale = uniqueFiles(Object.values(before.vms).flatMap(sharedFiles)).filter((f) => !sharedNow.has(f.path));
  try {
    await removeUnusedShared(connection, stale);
    // Nothing changed, nothing written: a second deploy leaves even the state file as it was.
    if (acting.length > 0 || JSON.stringify(recorded) !== JSON.stringify(before)) await writeState(connection, recorded);
  } catch (error) {
    // The VMs' outcomes stand as they are; what the controller's record says of them is the intent written first.
    const said = `${lc}'s record could not be updated (${(error as Error).message}): these VMs stay pending there; the next deploy or destroy finishes them`;
    for (const o of outcomes) if (step(o.vm).action !== 'unchanged' && step(o.vm).action !== 'held') o.left = [...(o.left ?? []), said];
  }
  return { vms: outcomes, uploaded, pruned };
}

/**
 * Step 2 of applyOnController: the planned uploads, a few at a time, bases first (largest, shared), then ISOs, then
 * overlays; a file other controllers of the deploy need too is read once for all (`shared`). Each file that arrived
 * is added to `state.present`; one that did not is in `failedFiles` with its error.
 */
async function uploadPlanned(
  connection: ControllerConnection,
  uploads: ControllerPlan['uploads'],
  byPath: ReadonlyMap<string, RemoteArtifact>,
  state: ControllerState,
  events: ApplyOptions['events'],
  concurrency: number,
  shared: SharedUploads,
): Promise<{ uploaded: ApplyResult['uploaded']; written: Map<string, string>; failedFiles: Map<string, VmctxError> }> {
  const lc = connection.controller.name;
  const uploaded: ApplyResult['uploaded'] = [];
  const written = new Map<string, string>();
  const failedFiles = new Map<string, VmctxError>();
  if (uploads.length > 0) events({ type: 'controller', controller: lc, phase: 'uploading', message: `${uploads.length} file(s)` });
  const uploadLimit = pLimit(concurrency);
  // The files in the order every controller asks for them (shared-uploads.ts): a file several controllers need is
  // read once for all of them.
  const files = uploads.map(({ path }) => byPath.get(path)!).sort(uploadOrder);
  // An image with `fetch: controller` is fetched by the controller itself (controller/fetch.ts), not read here.
  shared.planned(
    lc,
    files.filter((f) => f.fetchUrl === undefined),
  );
  await Promise.all(
    files.map((file) =>
      uploadLimit(async () => {
        try {
          const identity =
            file.fetchUrl !== undefined
              ? await fetchOnController(connection, file.fetchUrl, file.remotePath, { sha256: file.sha256, size: file.size, mode: file.mode })
              : await shared.upload(lc, connection, file, (sent, total) => events({ type: 'upload', controller: lc, file: file.remotePath, sent, total }));
          events({ type: 'upload', controller: lc, file: file.remotePath, sent: file.size, total: file.size, done: true });
          uploaded.push({ path: file.remotePath, bytes: file.size });
          written.set(file.remotePath, identity);
          state.present.add(file.remotePath);
        } catch (error) {
          failedFiles.set(file.remotePath, error as VmctxError);
        }
      }),
    ),
  );
  shared.leave(lc);
  return { uploaded, written, failedFiles };
}

/**
 * A base image or context ISO found on the controller under the name vmctx gives it (`base-<sha16>.raw`) is used only
 * once it is known to hold those bytes: its identity is one this deployment recorded for it (written or verified
 * before), or its sha256 is computed there now. Returns the identities verified now; a file whose content is other
 * fails the VMs that need it (it is neither used nor replaced).
 */
async function verifyReused(
  connection: ControllerConnection,
  acting: readonly VmArtifacts[],
  before: ControllerStateFile,
  state: ControllerState,
  written: ReadonlyMap<string, string>,
  failedFiles: Map<string, VmctxError>,
): Promise<Map<string, string>> {
  const lc = connection.controller.name;
  const recordedIdentities = new Set(Object.values(before.vms).flatMap((r) => Object.entries(r.identities ?? {}).map(([path, id]) => `${path}\t${id}`)));
  const reused = new Map<string, RemoteArtifact>();
  for (const v of acting) for (const f of [v.base, ...(v.iso ? [v.iso] : [])]) if (!written.has(f.remotePath) && !failedFiles.has(f.remotePath)) reused.set(f.remotePath, f);
  const verified = new Map<string, string>();
  await Promise.all(
    [...reused.values()].map(async (f) => {
      const identity = state.identities.get(f.remotePath);
      if (identity && recordedIdentities.has(`${f.remotePath}\t${identity}`)) return;
      const sum = await remoteSha256(connection, f.remotePath).catch((error: Error) => error);
      if (typeof sum === 'string' && sum === f.sha256 && identity) verified.set(f.remotePath, identity);
      else {
        const why = sum instanceof Error ? sum.message : sum === undefined ? 'it is gone' : `its sha256 is ${sum.slice(0, 16)}, not ${f.sha256.slice(0, 16)}`;
        failedFiles.set(f.remotePath, new DeployerError('REMOTE_FILE_FOREIGN', `${lc}: ${f.remotePath} is there but does not hold what its name says (${why}); vmctx neither uses nor replaces it: move it away`, { where: lc }));
      }
    }),
  );
  return verified;
}

/**
 * A VM left running whose guest still needs a restart, remembered with the id of the domain's start (state.ts
 * restartPending) so that the next plan says it again; without an id to tell a restart since, it is not.
 */
function restartPending(o: VmOutcome, s: PlanStep): Pick<VmRecord, 'restartPending'> {
  const reasons = o.restartNeeded ?? [];
  return reasons.length > 0 && o.state === 'running' && s.domainId !== undefined ? { restartPending: { domainId: s.domainId, reasons } } : {};
}

/** What the controller's state file keeps of a VM; `known`: the identities of files read in this run. */
function vmRecord(v: VmArtifacts, now: { address?: string | undefined; known?: ReadonlyMap<string, string> }, before: VmRecord | undefined): VmRecord {
  // An address the guest said once (DHCP, with --wait) is kept by a later deploy that did not wait, while its
  // context is the same: an edited one (another address, or DHCP instead) makes it stale.
  const address = now.address ?? (before?.artifacts.iso === v.artifacts.iso ? before?.address : undefined);
  const files = [v.overlay.remotePath, v.consoleLog].filter((f) => f.startsWith(`${v.controller.imageDir}/`));
  const shared = [v.base.remotePath, ...(v.iso ? [v.iso.remotePath] : [])];
  const identities: Record<string, string> = {};
  for (const path of [...files, ...shared]) {
    const id = now.known?.get(path) ?? before?.identities?.[path];
    if (id) identities[path] = id;
  }
  return {
    uuid: v.uuid,
    macs: v.macs,
    artifacts: v.artifacts,
    files,
    shared,
    xml: v.renderedXml,
    ...(address ? { address } : {}),
    ...(Object.keys(identities).length > 0 ? { identities } : {}),
  };
}

/**
 * A VM whose change would make its disk anew, which this run was not allowed to do: nothing of it is touched, and its
 * outcome says what would have been lost and how to allow it.
 */
function held(lc: string, v: VmArtifacts, s: PlanStep, options: ApplyOptions): VmOutcome {
  const name = v.vm.name;
  const message = `${name} was not replaced: ${s.reasons.join('; ')}; replacing it makes its disk ${s.lostDisk} anew, and what its guest wrote there is lost. It is left as it was; give --allow-disk-loss (or answer yes on a terminal) to replace it`;
  options.events({ type: 'vm', controller: lc, vm: name, phase: 'failed', message });
  return { vm: name, controller: lc, status: 'failed', error: new DeployerError('DEPLOY_DISK_LOSS', `${lc}: ${message}`, { where: `${lc}/${name}` }), left: [`domain ${name} and its disk ${s.lostDisk}, as they were`] };
}

/**
 * The domain's definition changed, or its context CD, and its disk stays: defined again (same UUID, MACs and disk,
 * virsh define of a persistent domain), then as an unchanged VM (started if it is not running, waited for with
 * --wait). A running guest is given live what libvirt can change live (the plan's `liveChanges`: memory and vCPUs
 * within their maximum, the context CD's medium); what needs a restart (the plan's `restartNeeded`) is done now when
 * the step says so (restart: when-needed, --restart-if-needed), else the outcome says what still waits for one.
 */
async function update(connection: ControllerConnection, v: VmArtifacts, seen: string | undefined, s: PlanStep, options: ApplyOptions): Promise<VmOutcome> {
  const lc = connection.controller.name;
  const name = v.vm.name;
  // A copy: a CD the guest did not take live adds to it, and the plan's step stays as it was shown.
  const needs = [...(s.restartNeeded ?? [])];
  options.events({ type: 'vm', controller: lc, vm: name, phase: 'updating', message: s.reasons.join('; ') });
  let state = seen;
  let restarted: string | undefined;
  let step = 'define';
  // A context CD swapped into the running guest, with --wait: its console log's size before the swap, to wait for
  // what the guest says of it after (waitForReapply).
  let swapFrom: number | undefined;
  // A CD swapped into a guest that showed cloud-init alone: not applied live, known without waiting (wait or not).
  let cloudInitOnly = false;
  try {
    await defineDomain(connection, v.xml);
    if (state === 'running' && s.restart) {
      step = 'restart';
      options.events({ type: 'vm', controller: lc, vm: name, phase: 'restarting', message: needs.join('; ') });
      restarted = await shutDownDomain(connection, v.uuid, options.shutdownGraceMs ?? 60_000);
      state = 'shut off';
    } else if (state === 'running') {
      if ((s.liveChanges ?? []).some((c) => c.kind === 'media')) {
        cloudInitOnly = await showsCloudInitOnly(connection, v.consoleLog);
        if (options.wait && !cloudInitOnly) swapFrom = await consoleLogSize(connection, v.consoleLog);
      }
      for (const change of s.liveChanges ?? []) {
        step = `applying ${change.said} live`;
        await applyLive(connection, v.uuid, change);
      }
    }
  } catch (error) {
    options.events({ type: 'vm', controller: lc, vm: name, phase: 'failed', message: (error as Error).message });
    const stands = step === 'define' ? 'its definition as it was' : 'the new definition (the running guest takes the rest at its next restart)';
    const failure = new DeployerError('REMOTE_COMMAND_FAILED', `${(error as Error).message}\n  ${name} failed at ${step}; it keeps ${stands} and its disk`, { where: `${lc}/${name}`, cause: error });
    return { vm: name, controller: lc, status: 'failed', error: failure, ...(state ? { state } : {}), left: [`domain ${name} and its disk`] };
  }
  // With a swapped CD, what the guest said before (its boot's line) is not an answer: waitForReapply reads what follows.
  const outcome = await unchanged(connection, v, state, swapFrom === undefined && !cloudInitOnly ? options : { ...options, wait: false }, 'updated');
  if (outcome.status === 'failed') return outcome;
  if (swapFrom !== undefined || cloudInitOnly) {
    if (swapFrom !== undefined) options.events({ type: 'vm', controller: lc, vm: name, phase: 'waiting' });
    const reapply = swapFrom === undefined ? CLOUD_INIT_ONLY : await waitForReapply(connection, v.consoleLog, swapFrom, options.waitTimeoutMs);
    if (reapply.applied) {
      options.events({ type: 'vm', controller: lc, vm: name, phase: 'contextualized', message: reapply.line });
      Object.assign(outcome, { contextualized: true }, reapply.address ? { address: reapply.address } : {});
    } else {
      outcome.contextualized = false;
      needs.push(notReapplied(reapply));
      // The deployment allows the restart that gives it the context now (restart: when-needed, --restart-if-needed).
      if (options.restartIfNeeded === true || v.vm.restart === 'when-needed') {
        options.events({ type: 'vm', controller: lc, vm: name, phase: 'restarting', message: needs.join('; ') });
        try {
          restarted = await shutDownDomain(connection, v.uuid, options.shutdownGraceMs ?? 60_000);
        } catch (error) {
          const failure = new DeployerError('REMOTE_COMMAND_FAILED', `${(error as Error).message}\n  ${name} failed at its restart; it keeps the new definition and context CD and its disk`, { where: `${lc}/${name}`, cause: error });
          return { vm: name, controller: lc, status: 'failed', error: failure, left: [`domain ${name} and its disk`] };
        }
        const again = await unchanged(connection, v, 'shut off', options, 'updated');
        if (again.status === 'failed') return again;
        Object.assign(outcome, again);
      }
    }
  }
  const live = seen === 'running' && restarted === undefined && (s.live ?? []).length > 0 ? `applied live: ${s.live!.join('; ')}; ` : '';
  const note =
    restarted !== undefined
      ? `restarted to take ${needs.join('; ') || 'the new definition'} (${restarted === 'shut down' ? 'shut down by its guest' : 'its guest did not shut down in time: powered off'}); its disk is kept`
      : seen === 'running' && needs.length > 0
        ? `${live}still needs a restart for ${needs.join('; ')} (restart: never; restart: when-needed or deploy --restart-if-needed does it); its disk is kept`
        : live
          ? `${live}no restart needed; its disk is kept`
          : undefined;
  const waiting = seen === 'running' && restarted === undefined && needs.length > 0 ? { restartNeeded: needs } : {};
  return { ...outcome, status: 'updated', ...waiting, ...(note ? { note } : {}) };
}

/**
 * Why a running guest still needs a restart after its new context CD was swapped in: it did not apply it live (an
 * image without guest-script's live re-apply, a cloud-init guest, a post-install that failed), and applies it at its
 * next boot. Not a failure of the deploy: the CD is in its drive and in its definition.
 */
function notReapplied(result: Extract<ReapplyResult, { applied: false }>): string {
  return `context: the guest did not apply the new context CD live (${result.why}); it applies it at its next boot`;
}

/** One live change, by the virsh command that makes it (controller/libvirt.ts). */
async function applyLive(connection: ControllerConnection, uuid: string, change: LiveChange): Promise<void> {
  if (change.kind === 'memory') await setMemoryLive(connection, uuid, change.kib);
  else if (change.kind === 'vcpus') await setVcpusLive(connection, uuid, change.count);
  else await changeMedia(connection, uuid, change.target, change.source);
}

/** `seen` is the domain's state as preflight read it a moment ago: no second round trip to ask again. */
async function unchanged(connection: ControllerConnection, v: VmArtifacts, seen: string | undefined, options: ApplyOptions, phase: 'unchanged' | 'updated' = 'unchanged'): Promise<VmOutcome> {
  const lc = connection.controller.name;
  const name = v.vm.name;
  let state = seen;
  options.events({ type: 'vm', controller: lc, vm: name, phase, message: state });
  // An unchanged VM that is not running is started: deploy's promise is "every VM defined and running".
  if (state !== 'running') {
    try {
      await startDomain(connection, v.uuid);
      state = await domainState(connection, v.uuid);
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

/**
 * `made`: what this run made for the VM before its define: the overlay's identity as its upload published it, and
 * whether its console log was absent (then the start made it), which is what its undo may remove.
 */
async function create(connection: ControllerConnection, v: VmArtifacts, status: 'created' | 'replaced', made: { overlay: string | undefined; consoleLogNew: boolean }, options: ApplyOptions): Promise<VmOutcome> {
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
    await startDomain(connection, v.uuid);
    started = true;
    const state = await domainState(connection, v.uuid);
    if (state !== 'running') throw new DeployerError('DEPLOY_NOT_RUNNING', `${lc}: ${name} was started but is ${state ?? 'gone'}`, { where: `${lc}/${name}` });
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
    // Undone in reverse order: stopped, undefined (the domain this run defined, by its UUID; preflight saw no other
    // domain with that UUID, and the lock keeps other runs of this deployment out), its overlay removed (base
    // images are kept).
    const overlay: OwnFile = { path: v.overlay.remotePath, sha256: v.overlay.sha256, ...(made.overlay ? { identity: made.overlay } : {}) };
    // The console log its start made (issue 24: it was left behind, unrecorded), by its identity read now.
    const log = made.consoleLogNew && defined ? (await fileIdentities(connection, [v.consoleLog]).catch(() => new Map<string, string>())).get(v.consoleLog) : undefined;
    // An undo that cannot run (the connection is gone) leaves what it would have removed, said as such.
    const left = await removeVm(connection, defined ? { name, uuid: v.uuid } : undefined, [overlay, ...(log ? [{ path: v.consoleLog, identity: log }] : [])]).catch((e: Error) => [
      ...(defined ? [`domain ${name} (undo not done: ${e.message})`] : []),
      v.overlay.remotePath,
    ]);
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

async function undoOverlay(connection: ControllerConnection, v: VmArtifacts, written: ReadonlyMap<string, string>, state: ControllerState): Promise<string[]> {
  const identity = written.get(v.overlay.remotePath);
  if (identity === undefined) return [];
  const { kept } = await removeOwnFiles(connection, [{ path: v.overlay.remotePath, identity }]).catch(() => ({ kept: [{ path: v.overlay.remotePath, why: 'removal failed' }] }));
  if (kept.length === 0) state.present.delete(v.overlay.remotePath);
  return kept.map((k) => k.path);
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
