/**
 * `vmctx deploy`: every controller in parallel, each over one connection: preflight as `check` does, and a
 * controller that fails it is skipped whole (nothing written there) while the others go on; then apply.
 */
import { VmctxError } from '@vmctx/contract';
import type { VmArtifacts } from '../artifacts/build.js';
import type { Deployment } from '../config/types.js';
import { hasErrorFindings, preflight, type Finding } from '../controller/preflight.js';
import { applyOnController, type ApplyOptions, type VmOutcome } from './apply.js';
import { controllersInUse, forEachController, type SessionOptions } from './session.js';

export interface ControllerReport {
  controller: string;
  /** Preflight's errors when it stopped this controller. */
  refused?: Finding[];
  /** Why the controller could not be worked on (unreachable, host key, ...). */
  error?: VmctxError;
  uploaded: { path: string; bytes: number }[];
  vms: VmOutcome[];
}

export interface DeployReport {
  deployment: string;
  controllers: ControllerReport[];
  ok: boolean;
  /** Wall time of the whole deploy, artifacts excluded. */
  elapsedMs: number;
}

export type DeployOptions = SessionOptions & Omit<ApplyOptions, 'events'>;

export async function runDeploy(deployment: Deployment, artifacts: readonly VmArtifacts[], options: DeployOptions): Promise<DeployReport> {
  const started = Date.now();
  const results = await forEachController(controllersInUse(deployment, artifacts), options, async (connection, work) => {
    const lc = work.controller.name;
    options.events({ type: 'controller', controller: lc, phase: 'checking' });
    const state = await preflight(connection, deployment.name, work.vms);
    if (hasErrorFindings(state)) {
      options.events({ type: 'controller', controller: lc, phase: 'skipped', message: 'preflight failed; nothing was written there' });
      return { refused: state.findings.filter((f) => f.severity === 'error'), uploaded: [], vms: [] as VmOutcome[] };
    }
    const applied = await applyOnController(connection, state, deployment.name, work.vms, { ...options, events: options.events });
    options.events({ type: 'controller', controller: lc, phase: applied.vms.every((v) => v.status !== 'failed') ? 'done' : 'failed' });
    return applied;
  });
  const controllers: ControllerReport[] = results.map((r) => {
    const skipped = (error: VmctxError): VmOutcome[] =>
      r.work.vms.map((v) => ({ vm: v.vm.name, controller: r.work.controller.name, status: 'failed', error, left: [] }));
    if ('error' in r) return { controller: r.work.controller.name, error: r.error, uploaded: [], vms: skipped(r.error) };
    if ('refused' in r.result && r.result.refused) {
      const error = new VmctxError('DEPLOY_PREFLIGHT_FAILED', 'remote', `${r.work.controller.name}: preflight failed; nothing was written there`, { where: r.work.controller.name });
      return { controller: r.work.controller.name, refused: r.result.refused, uploaded: [], vms: skipped(error) };
    }
    return { controller: r.work.controller.name, uploaded: r.result.uploaded, vms: r.result.vms };
  });
  const ok = controllers.every((c) => !c.error && !c.refused && c.vms.every((v) => v.status !== 'failed'));
  return { deployment: deployment.name, controllers, ok, elapsedMs: Date.now() - started };
}
