/**
 * A plan is a value: per controller, one step per VM with its reason (create, replace and why, unchanged),
 * the domains of this deployment that the file no longer has (left alone, or pruned with --prune), and the
 * files to upload. `plan` prints it; `deploy` applies exactly it; nothing is decided twice.
 */
import type { RemoteArtifact, VmArtifacts } from '../artifacts/build.js';
import type { DomainInfo } from '../controller/libvirt.js';
import type { ControllerState } from '../controller/preflight.js';
import type { DeploymentIdentity } from '../controller/owner-mark.js';
import { ownedDomain } from '../controller/ownership.js';
import { ownFiles, type ControllerStateFile } from './state.js';
import { uniqueBy } from '../util/unique-by.js';
import { domainDrift } from './domain-drift.js';
import { domainXmlChanges } from './xml-diff.js';
import { liveVerdict, runningDomainId, type LiveChange } from './live-apply.js';

/**
 * `update`: only the domain's definition changed (the file's, or a hand edit on the controller): it is defined again
 * with the same UUID, MACs and disk, and a running guest takes it at its next restart; nothing of its disk is lost.
 * `recontextualize`: the context changed (a new context CD), the disk did not: the new CD is uploaded and put in the
 * domain's definition, and the guest applies it at its next boot (its instance id changed).
 * `held`: a replace that deploy did not do, because it makes the VM's disk anew and that was not allowed
 * (--allow-disk-loss, or yes on the terminal): the VM stays as it is, and the run says so and fails.
 */
export type StepAction = 'create' | 'update' | 'recontextualize' | 'replace' | 'unchanged' | 'orphan' | 'prune' | 'held';

export interface PlanStep {
  vm: string;
  action: StepAction;
  /** Why: which artifact or field changed, or why an orphan is kept. */
  reasons: string[];
  /** True for a replace (or held one): the VM's disk is made anew, losing what its guest wrote there. */
  diskLoss: boolean;
  /** The disk made anew, when diskLoss. */
  lostDisk?: string;
  /** An update or recontextualize of a running domain: what is applied to it live (live-apply.ts), in words. */
  live?: string[];
  /** What the running guest takes only at a restart, and why; absent or [] when it needs none. */
  restartNeeded?: string[];
  /** True when deploy restarts it for that (restart: when-needed, or --restart-if-needed). */
  restart?: boolean;
  /** The changes applied live, for apply (not printed: `live` says them). */
  liveChanges?: LiveChange[];
  /**
   * The id libvirt gave the running domain (`id='N'` of its live definition), for the record of a restart left
   * pending (state.ts restartPending): another id later means it was restarted since.
   */
  domainId?: string;
}

export interface ControllerPlan {
  controller: string;
  steps: PlanStep[];
  /** Files that are missing on the controller and would be uploaded. */
  /** Files to send; one with `from` is fetched by the controller from that URL (`fetch: controller`). */
  uploads: { path: string; bytes: number; kind: RemoteArtifact['kind']; from?: string }[];
}

/** Steps that change nothing on the controller. */
const STILL: ReadonlySet<StepAction> = new Set(['unchanged', 'orphan', 'held']);

/** True when applying the plan changes something on the controller. */
export function hasChanges(plan: ControllerPlan): boolean {
  return plan.uploads.length > 0 || plan.steps.some((s) => !STILL.has(s.action));
}

export interface PlanOptions {
  prune?: boolean;
  /**
   * Which VMs may be replaced, which makes their disks anew (deploy: --allow-disk-loss, or the names confirmed on the
   * terminal); the others are held. Absent (plan, --dry-run): every replace is shown as it would be done.
   */
  mayLoseDisk?: (vm: string) => boolean;
  /**
   * The live definitions of the running domains that an update or recontextualize touches (by UUID): what they take
   * live, and what needs a restart, is judged against them. Absent: not judged (nothing is applied live).
   */
  live?: ReadonlyMap<string, string>;
  /** --restart-if-needed: every VM restarts when its change needs it (restart: when-needed for all). */
  restartIfNeeded?: boolean;
  /** --replace: VMs made anew whatever changed, as a replace is (held unless they may lose their disks). */
  replace?: ReadonlySet<string>;
}

export function planController(deployment: DeploymentIdentity, vms: readonly VmArtifacts[], state: ControllerState, recorded: ControllerStateFile, options: PlanOptions = {}): ControllerPlan {
  const steps: PlanStep[] = vms.map((v) => {
    const existing = ownedDomain(state.domains, deployment, v.vm.name, v.uuid);
    if (!existing) return { vm: v.vm.name, action: 'create', reasons: ['no domain of this deployment by that name'], diskLoss: false };
    const reasons = replaceReasons(v, existing, recorded);
    const forced = options.replace?.has(v.vm.name) ?? false;
    if (forced) reasons.push('--replace');
    if (reasons.length === 0) return pendingRestart(v, existing, recorded, options) ?? { vm: v.vm.name, action: 'unchanged', reasons: [], diskLoss: false };
    const kept = forced ? undefined : keptDisk(v, existing);
    if (kept) return { vm: v.vm.name, action: kept, reasons, diskLoss: false, ...liveStep(v, existing, recorded, options, kept) };
    const action = options.mayLoseDisk === undefined || options.mayLoseDisk(v.vm.name) ? 'replace' : 'held';
    return { vm: v.vm.name, action, reasons, diskLoss: true, lostDisk: v.overlay.remotePath };
  });
  const wanted = new Set(vms.map((v) => v.vm.name));
  // Ours beyond the file: what the record lists, and domains marked as this deployment's (with its id, or none).
  const marked = state.domains.filter((d) => d.owner && ownedDomain([d], deployment, d.name, d.uuid) === d);
  const owned = new Set([...marked.map((d) => d.name), ...Object.keys(recorded.vms)]);
  for (const name of [...owned].filter((n) => !wanted.has(n)).sort()) {
    steps.push(
      options.prune
        ? { vm: name, action: 'prune', reasons: ['no longer in the deployment file (--prune)'], diskLoss: false }
        : { vm: name, action: 'orphan', reasons: ['no longer in the deployment file; left alone (--prune removes it)'], diskLoss: false },
    );
  }
  // A replaced VM gets a fresh overlay: its file is there now but will be removed first.
  const replaced = new Set(steps.filter((s) => s.action === 'replace').map((s) => s.vm));
  const needed = uniqueBy(
    vms.filter((v) => !['unchanged', 'held'].includes(steps.find((s) => s.vm === v.vm.name)!.action)).flatMap((v) => [v.base, v.overlay, ...(v.iso ? [v.iso] : [])]),
    (f) => f.remotePath,
  );
  const uploads = needed
    .filter((f) => !state.present.has(f.remotePath) || (f.kind === 'overlay' && vms.some((v) => replaced.has(v.vm.name) && v.overlay.remotePath === f.remotePath)))
    .map((f) => ({ path: f.remotePath, bytes: f.size, kind: f.kind, ...(f.fetchUrl !== undefined ? { from: f.fetchUrl } : {}) }));
  return { controller: state.controller, steps, uploads };
}

/**
 * A VM whose files and definition are as wanted, but which an earlier deploy left running while its guest still needs
 * a restart (restart: never; a context CD its guest did not take live): an `update` with nothing to define anew, whose
 * restartNeeded are the recorded reasons, restarted as any update is (restart: when-needed, --restart-if-needed). Only
 * while the domain runs with the id it had then: a restart since (by anyone) gave it another id, and it took all.
 */
function pendingRestart(v: VmArtifacts, existing: DomainInfo, recorded: ControllerStateFile, options: PlanOptions): PlanStep | undefined {
  const pending = recorded.vms[v.vm.name]?.restartPending;
  const running = options.live?.get(existing.uuid);
  if (!pending || existing.state !== 'running' || running === undefined || runningDomainId(running) !== pending.domainId) return undefined;
  const restart = options.restartIfNeeded === true || v.vm.restart === 'when-needed';
  const reasons = [`still needs a restart that an earlier deploy left pending (domain id ${pending.domainId}, not restarted since)`];
  return { vm: v.vm.name, action: 'update', reasons, diskLoss: false, live: [], restartNeeded: [...pending.reasons], restart, liveChanges: [], domainId: pending.domainId };
}

/**
 * A running domain's update: what it takes live and what waits for a restart (live-apply.ts), judged against its
 * live definition. A stopped domain takes everything at its start: nothing to say.
 */
function liveStep(v: VmArtifacts, existing: DomainInfo, recorded: ControllerStateFile, options: PlanOptions, action: 'update' | 'recontextualize'): Partial<PlanStep> {
  const running = options.live?.get(existing.uuid);
  if (existing.state !== 'running' || running === undefined) return {};
  const old = recorded.vms[v.vm.name]?.xml;
  const removed = old ? domainXmlChanges(old, v.renderedXml, Number.MAX_SAFE_INTEGER).filter((c) => c.endsWith(': removed')) : [];
  const verdict = liveVerdict(v.renderedXml, running, v.iso?.remotePath, removed);
  // A CD with cloud-init's seed alone is read by cloud-init, which applies a new instance only at boot; vmctx's script
  // (Snooze's layout, on the CD by default) re-applies a swapped CD where the image has its live re-apply.
  if (action === 'recontextualize' && v.vm.isoFormat === 'cloud-init') verdict.restart.push('context: cloud-init applies a new context only at boot');
  // A restart still pending from an earlier deploy (the same start of the domain) for what its definitions cannot show
  // (a context its guest did not take live) stays pending; the definition's reasons are judged anew above. A new
  // context CD supersedes an old one's.
  const pending = recorded.vms[v.vm.name]?.restartPending;
  const domainId = runningDomainId(running);
  if (action === 'update' && pending && pending.domainId === domainId) {
    for (const r of pending.reasons) if (r.startsWith('context') && !verdict.restart.includes(r)) verdict.restart.push(r);
  }
  const restart = verdict.restart.length > 0 && (options.restartIfNeeded === true || v.vm.restart === 'when-needed');
  return { live: verdict.live.map((c) => c.said), restartNeeded: verdict.restart, restart, liveChanges: verdict.live, ...(domainId ? { domainId } : {}) };
}

/**
 * How a change keeps the VM's disk, if it does: the same base image and overlay, and only the domain (`update`) or
 * also the context CD (`recontextualize`) differ. A VM with a CD of its own (`iso:`, on the controller) has no
 * context ISO of vmctx's: its domain alone can change.
 */
function keptDisk(v: VmArtifacts, existing: DomainInfo): 'update' | 'recontextualize' | undefined {
  const before = existing.owner?.artifacts ?? {};
  if (before.base !== v.artifacts.base || before.overlay !== v.artifacts.overlay) return undefined;
  if (before.iso === v.artifacts.iso) return 'update';
  return before.iso !== undefined && v.artifacts.iso !== undefined ? 'recontextualize' : undefined;
}

/** Why an existing domain of ours must be replaced; [] when it was made from exactly these artifacts. */
export function replaceReasons(v: VmArtifacts, existing: DomainInfo, recorded: ControllerStateFile): string[] {
  const before = existing.owner?.artifacts ?? {};
  const after = v.artifacts;
  const reasons: string[] = [];
  const short = (s: string | undefined) => (s ? s.slice(0, 12) : 'none');
  // The image by its name in the file; an overlay over the same bytes changes when its base's file on the controller does.
  if (before.base !== after.base) reasons.push(`image ${v.vm.image} changed (sha256 ${short(before.base)} → ${short(after.base)})`);
  if (before.iso !== after.iso) reasons.push(`context changed (ISO ${short(before.iso)} → ${short(after.iso)})`);
  const backing = recorded.vms[v.vm.name]?.shared[0];
  if (before.overlay !== after.overlay && before.base === after.base) {
    reasons.push(backing && backing !== v.base.remotePath ? `image ${v.vm.image} is now the base file ${v.base.remotePath} (was ${backing})` : 'overlay changed');
  }
  if (before.domain !== after.domain) {
    const old = recorded.vms[v.vm.name]?.xml;
    const fields = old ? domainXmlChanges(old, v.renderedXml) : [];
    reasons.push(fields.length > 0 ? `domain XML changed: ${fields.join('; ')}` : 'domain XML changed');
  } else {
    // Rendered as last time; is it still defined so? A hand edit on the controller is drift to undo.
    const edited = domainDrift(v.renderedXml, existing.xml);
    if (edited.length > 0) reasons.push(`domain edited on the controller: ${edited.join('; ')}`);
  }
  return reasons;
}

/**
 * An overlay that preflight found held (CHECK_FILE_HELD) is a leftover of this deployment when the record lists it as
 * the file of a VM still pending: a run stopped before it settled that VM (killed, cut off). The finding then becomes
 * an ok one and apply removes the file, by the identity or content recorded for it, before making the VM again. An
 * overlay of a settled VM whose domain is gone is its owner's data: it stays held, and the message says whose it is.
 */
export function settleLeftovers(state: ControllerState, recorded: ControllerStateFile): void {
  state.leftovers = new Map();
  for (const f of state.findings) {
    if (f.code !== 'CHECK_FILE_HELD' || f.severity !== 'error' || f.file === undefined) continue;
    const entry = Object.entries(recorded.vms).find(([, r]) => r.files.includes(f.file!));
    if (!entry) continue;
    const [vm, record] = entry;
    if (record.pending) {
      f.severity = 'ok';
      f.message = `${f.file} was left by a run of this deployment that did not finish; it is removed and ${vm} made again`;
      state.leftovers.set(f.file, ownFiles(record).find((o) => o.path === f.file)!);
      state.present.delete(f.file);
    } else {
      f.message = `${f.file} is the disk of ${vm} of this deployment, whose domain is gone; vmctx will not make a new disk over it`;
      f.fix = `define ${vm} again yourself to keep its data, or move ${f.file} away to have vmctx make ${vm} afresh`;
    }
  }
}
