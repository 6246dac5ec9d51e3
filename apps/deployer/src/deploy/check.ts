/**
 * `vmctx check`: connects to every controller the deployment uses, in parallel, and runs preflight there.
 * Writes nothing anywhere but the local artifact cache.
 */
import type { VmArtifacts } from '../artifacts/build.js';
import type { Deployment } from '../config/types.js';
import { CommandBatch } from '../controller/command-batch.js';
import { connectionFix } from '../controller/connection.js';
import { hasErrorFindings, preflight, type Finding } from '../controller/preflight.js';
import { withoutControllerName } from './controller-message.js';
import { deploymentIdentity } from './deployment-id.js';
import { settleLeftovers } from './plan.js';
import { controllersInUse, forEachController, type SessionOptions } from './session.js';
import { readState } from './state.js';

export interface CheckReport {
  deployment: string;
  controllers: { controller: string; findings: Finding[]; ok: boolean }[];
  ok: boolean;
}

export async function runCheck(deployment: Deployment, artifacts: readonly VmArtifacts[], options: SessionOptions): Promise<CheckReport> {
  const results = await forEachController(controllersInUse(deployment, artifacts), options, async (connection, work) => {
    options.events({ type: 'controller', controller: work.controller.name, phase: 'checking' });
    // The record is read beside preflight (one batch): it says which held files are this deployment's leftovers, and
    // a record of another deployment file of this name fails the controller (DEPLOY_RECORD_CLASH) as deploy would.
    const reads = new CommandBatch(connection);
    const identity = deploymentIdentity(deployment);
    const [state, recorded] = await Promise.all([preflight(reads, identity, work.vms), readState(reads, identity)]);
    settleLeftovers(state, recorded);
    options.events({ type: 'controller', controller: work.controller.name, phase: hasErrorFindings(state) ? 'failed' : 'done' });
    return state.findings;
  });
  const controllers = results.map((r) => {
    const { name, host, port } = r.work.controller;
    const ssh = { controller: name, object: `ssh ${host}:${port}`, code: 'CHECK_SSH' } as const;
    const findings: Finding[] =
      'error' in r
        ? [{ ...ssh, severity: 'error', message: withoutControllerName(name, r.error.message), ...fixOf(r.error) }]
        : [{ ...ssh, severity: 'ok', message: 'host key known, logged in' }, ...r.result];
    return { controller: name, findings, ok: !hasErrorFindings({ findings }) };
  });
  return { deployment: deployment.name, controllers, ok: controllers.every((c) => c.ok) };
}

/** The fix of a connection failure, for the finding's fix column (every way of failing to connect has one). */
function fixOf(error: unknown): { fix?: string } {
  const fix = connectionFix(error);
  return fix === undefined ? {} : { fix };
}
