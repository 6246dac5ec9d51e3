/**
 * `vmctx plan` and `vmctx deploy`: every controller in parallel, each over one connection. On each: the
 * deployment's lock taken (deploy only: controller/deployment-lock.ts), preflight as `check` does (a controller
 * that fails it is skipped whole: nothing written there, the others go on), the state file read, the plan made;
 * `plan` stops there and prints it, `deploy` applies exactly it, then lets the lock go.
 */
import { VmctxError } from '@vmctx/contract';
import type { VmArtifacts } from '../artifacts/build.js';
import type { Deployment } from '../config/types.js';
import { CommandBatch } from '../controller/command-batch.js';
import type { ControllerConnection } from '../controller/connection.js';
import { liveDefinitions } from '../controller/libvirt.js';
import { DEFAULT_LOCK_WAIT_SECONDS, lockDeployment } from '../controller/deployment-lock.js';
import type { DeploymentIdentity } from '../controller/owner-mark.js';
import { hasErrorFindings, preflight, type ControllerState, type Finding } from '../controller/preflight.js';
import { applyOnController, type ApplyOptions, type VmOutcome } from './apply.js';
import { deploymentIdentity } from './deployment-id.js';
import { hasChanges, planController, settleLeftovers, type ControllerPlan } from './plan.js';
import { asVmctxError, controllersInUse, forEachController, type ControllerWork, type SessionOptions } from './session.js';
import { SharedUploads } from './shared-uploads.js';
import { readState, type ControllerStateFile } from './state.js';
import { DeployerError } from '../errors.js';

export interface ControllerReport {
  controller: string;
  /** Preflight's errors when it stopped this controller. */
  refused?: Finding[];
  /** Why the controller could not be worked on (unreachable, host key, ...). */
  error?: VmctxError;
  /** What was (deploy) or would be (plan, --dry-run) done there. */
  plan?: ControllerPlan;
  uploaded: { path: string; bytes: number }[];
  pruned: string[];
  vms: VmOutcome[];
}

export interface DeployReport {
  deployment: string;
  /** True for `plan` and `deploy --dry-run`: nothing was changed. */
  dryRun: boolean;
  controllers: ControllerReport[];
  ok: boolean;
  /** True when the plan changes something somewhere (plan's exit code 2). */
  changes: boolean;
  /** Wall time of the whole run, artifacts excluded. */
  elapsedMs: number;
}

export type DeployOptions = SessionOptions &
  Omit<ApplyOptions, 'events' | 'recorded' | 'deployment'> & {
    prune?: boolean;
    dryRun?: boolean;
    /** How long deploy waits for another run of the deployment to let a controller go (default 60 s). */
    lockWaitSeconds?: number;
    /**
     * Which VMs deploy may replace, which makes their disks anew and loses what their guests wrote: all (true,
     * --allow-disk-loss), those named (confirmed on the terminal), or none (the default: such a VM is held, and
     * fails with DEPLOY_DISK_LOSS). Plan and --dry-run show every replace with the disk it would lose.
     */
    allowDiskLoss?: boolean | readonly string[];
    /** --restart-if-needed: restart: when-needed for every VM. */
    restartIfNeeded?: boolean;
    /** --replace: VMs of the file made anew whatever changed (with the same disk-loss rules as any replace). */
    replace?: readonly string[];
  };


interface Inspected {
  state: ControllerState;
  recorded: ControllerStateFile;
  plan: ControllerPlan;
}

/** Preflight, state file and plan of one controller; undefined plan when preflight refused it. */
async function inspect(connection: ControllerConnection, deployment: DeploymentIdentity, work: ControllerWork, options: DeployOptions): Promise<Inspected | { refused: Finding[] }> {
  const lc = work.controller.name;
  options.events({ type: 'controller', controller: lc, phase: 'checking' });
  // Everything read here goes to the controller as one batch (one channel, one shell).
  const reads = new CommandBatch(connection);
  const [state, recorded] = await Promise.all([preflight(reads, deployment, work.vms), readState(reads, deployment)]);
  settleLeftovers(state, recorded);
  if (hasErrorFindings(state)) return { refused: state.findings.filter((f) => f.severity === 'error') };
  const allowed = options.allowDiskLoss ?? false;
  const mayLoseDisk = options.dryRun ? undefined : (vm: string) => (typeof allowed === 'boolean' ? allowed : allowed.includes(vm));
  const planOptions = { prune: options.prune ?? false, restartIfNeeded: options.restartIfNeeded ?? false, replace: new Set(options.replace ?? []), ...(mayLoseDisk ? { mayLoseDisk } : {}) };
  const plan = planController(deployment, work.vms, state, recorded, planOptions);
  // A running domain that an update touches is judged against its live definition (what it takes live, what waits
  // for a restart): read only when there is one, in one round trip.
  // So is one whose record says a restart was left pending (state.ts restartPending): its live id says whether it is.
  const pending = (s: { vm: string; action: string }) => s.action === 'unchanged' && recorded.vms[s.vm]?.restartPending !== undefined;
  const touched = plan.steps.filter((s) => s.action === 'update' || s.action === 'recontextualize' || pending(s)).map((s) => work.vms.find((v) => v.vm.name === s.vm)!.uuid);
  const running = state.domains.filter((d) => d.state === 'running' && touched.includes(d.uuid)).map((d) => d.uuid);
  if (running.length === 0) return { state, recorded, plan };
  const live = await liveDefinitions(connection, running);
  return { state, recorded, plan: planController(deployment, work.vms, state, recorded, { ...planOptions, live }) };
}

export async function runDeploy(deployment: Deployment, artifacts: readonly VmArtifacts[], options: DeployOptions): Promise<DeployReport> {
  const started = Date.now();
  const dryRun = options.dryRun ?? false;
  checkReplaced(deployment, options.replace ?? []);
  // A base image several controllers need is read from the local disk once for them (issue 22).
  const shared = new SharedUploads(options.events);
  const results = await forEachController(controllersInUse(deployment, artifacts), options, async (connection, work) => {
    const lc = work.controller.name;
    const identity = deploymentIdentity(deployment);
    // plan reads only; deploy holds the lock from before its reads until after its record is written.
    const lock = dryRun
      ? undefined
      : await lockDeployment(connection, deployment.name, {
          waitSeconds: options.lockWaitSeconds ?? DEFAULT_LOCK_WAIT_SECONDS,
          onBusy: (holder) => options.events({ type: 'note', controller: lc, message: `${lc}: another run of ${deployment.name} holds it (${holder}); waiting up to ${options.lockWaitSeconds ?? DEFAULT_LOCK_WAIT_SECONDS} s` }),
        });
    // Under way once it holds the lock (a run that waits for another's is not waited for): no shared file is read
    // before it says what it needs.
    if (!dryRun) shared.enter(lc);
    try {
      const seen = await inspect(connection, identity, work, options);
      if ('refused' in seen) {
        options.events({ type: 'controller', controller: lc, phase: 'skipped', message: 'preflight failed; nothing was written there' });
        return { refused: seen.refused };
      }
      if (dryRun) {
        options.events({ type: 'controller', controller: lc, phase: 'done' });
        return { plan: seen.plan };
      }
      const applied = await applyOnController(connection, seen.state, seen.plan, work.vms, { ...options, recorded: seen.recorded, deployment: identity, shared }).catch((error: unknown) => {
        // Cut off half-way (the connection died): what was done there is unknown here, and recorded there as pending.
        const failure = asVmctxError(error, lc);
        const left = [`unknown: ${lc} stopped answering during the deploy; what was done is recorded there as pending, for the next deploy or destroy to finish`];
        return { vms: work.vms.map((v): VmOutcome => ({ vm: v.vm.name, controller: lc, status: 'failed', error: failure, left })), uploaded: [], pruned: [] };
      });
      options.events({ type: 'controller', controller: lc, phase: applied.vms.every((v) => v.status !== 'failed') ? 'done' : 'failed' });
      return { plan: seen.plan, applied };
    } finally {
      shared.leave(lc);
      lock?.release();
    }
  });
  const controllers: ControllerReport[] = results.map((r) => {
    const name = r.work.controller.name;
    const skipped = (error: VmctxError): VmOutcome[] => r.work.vms.map((v) => ({ vm: v.vm.name, controller: name, status: 'failed', error, left: [] }));
    if ('error' in r) return { controller: name, error: r.error, uploaded: [], pruned: [], vms: skipped(r.error) };
    if ('refused' in r.result) {
      const error = new DeployerError('DEPLOY_PREFLIGHT_FAILED', `${name}: preflight failed; nothing was written there`, { where: name });
      return { controller: name, refused: r.result.refused, uploaded: [], pruned: [], vms: skipped(error) };
    }
    const { plan, applied } = r.result as { plan: ControllerPlan; applied?: Awaited<ReturnType<typeof applyOnController>> };
    return { controller: name, plan, uploaded: applied?.uploaded ?? [], pruned: applied?.pruned ?? [], vms: applied?.vms ?? [] };
  });
  const ok = controllers.every((c) => !c.error && !c.refused && c.vms.every((v) => v.status !== 'failed'));
  const changes = controllers.some((c) => c.plan && hasChanges(c.plan));
  return { deployment: deployment.name, dryRun, controllers, ok, changes, elapsedMs: Date.now() - started };
}

/** `--replace` names VMs of the file: a typo must not pass for "nothing to replace". Said before any connection. */
function checkReplaced(deployment: Deployment, names: readonly string[]): void {
  const known = new Set(deployment.vms.map((v) => v.name));
  const unknown = [...new Set(names)].filter((n) => !known.has(n));
  if (unknown.length === 0) return;
  const list = [...known].sort();
  const shown = list.length > 20 ? `${list.slice(0, 20).join(', ')} and ${list.length - 20} more` : list.join(', ');
  throw new DeployerError('DEPLOY_UNKNOWN_VM', `--replace ${unknown.join(', ')}: no VM of ${deployment.name} has that name; its VMs are ${shown}`, { where: '--replace' });
}
