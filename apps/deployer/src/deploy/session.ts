/**
 * Runs one piece of work per controller, controllers in parallel up to `controllerConcurrency` at once, each over
 * its one SSH connection: the connection is opened first (host key checked), handed to the work, and closed
 * whatever happens. A controller that cannot be reached does not stop the others; its failure is returned in its
 * place. A controller waiting for its turn has no connection yet.
 */
import { VmctxError } from '@vmctx/contract';
import pLimit from 'p-limit';
import type { VmArtifacts } from '../artifacts/build.js';
import type { ControllerConfig, Deployment } from '../config/types.js';
import { ControllerConnection, type ConnectOptions } from '../controller/connection.js';
import type { EventSink } from './events.js';
import { withoutControllerName } from './controller-message.js';
import { DeployerError } from '../errors.js';

export type Connect = (controller: ControllerConfig, options: ConnectOptions) => Promise<ControllerConnection>;

/**
 * Controllers worked on at once unless told otherwise. One being worked on holds an SSH connection (a socket, its
 * keepalive, up to maxChannels channels and their buffers) and, in deploy and destroy, the deployment's lock there.
 * 200 simulated controllers all at once (tools/bench/deploy-scale.ts) went no faster than 32 at a time, and held
 * every connection and lock for the whole run (113 s against 22 s), 201 sockets against 56, 134 MiB of peak RSS
 * against 112, and stalled the event loop that keepalives and handshake timeouts run on for 4 s against under 1 s.
 * At 32 the deployer was busy 5-9% of the run: it is not what limits a run.
 */
export const DEFAULT_CONTROLLER_CONCURRENCY = 32;

export interface SessionOptions {
  acceptNew?: boolean;
  events: EventSink;
  /** How to open a connection; tests may pass their own. */
  connect?: Connect;
  /**
   * Controllers worked on at once (a whole number from 1, or Infinity); the others wait their turn, unconnected.
   * Default DEFAULT_CONTROLLER_CONCURRENCY.
   */
  controllerConcurrency?: number;
}

export interface ControllerWork {
  controller: ControllerConfig;
  /** The VMs this controller gets, in the file's order. */
  vms: VmArtifacts[];
}

/** Controllers the deployment uses (a declared but unused one is not contacted), in the file's order. */
export function controllersInUse(deployment: Deployment, artifacts: readonly VmArtifacts[]): ControllerWork[] {
  return deployment.controllers
    .map((controller) => ({ controller, vms: artifacts.filter((a) => a.controller.name === controller.name) }))
    .filter((w) => w.vms.length > 0);
}

export async function forEachController<T>(
  work: readonly ControllerWork[],
  options: SessionOptions,
  run: (connection: ControllerConnection, work: ControllerWork) => Promise<T>,
): Promise<({ work: ControllerWork; result: T } | { work: ControllerWork; error: VmctxError })[]> {
  const connect = options.connect ?? ((c, o) => ControllerConnection.open(c, o));
  const limit = pLimit(options.controllerConcurrency ?? DEFAULT_CONTROLLER_CONCURRENCY);
  return Promise.all(
    work.map((w) =>
      limit(async () => {
        options.events({ type: 'controller', controller: w.controller.name, phase: 'connecting', message: `${w.controller.user}@${w.controller.host}:${w.controller.port}` });
        let connection: ControllerConnection;
        try {
          connection = await connect(w.controller, {
            acceptNew: options.acceptNew ?? false,
            onHostKeyRecorded: (message) => options.events({ type: 'note', controller: w.controller.name, message }),
          });
        } catch (error) {
          const failure = asVmctxError(error, w.controller.name);
          options.events({ type: 'controller', controller: w.controller.name, phase: 'failed', message: withoutControllerName(w.controller.name, failure.message) });
          return { work: w, error: failure };
        }
        try {
          return { work: w, result: await run(connection, w) };
        } catch (error) {
          const failure = asVmctxError(error, w.controller.name);
          options.events({ type: 'controller', controller: w.controller.name, phase: 'failed', message: withoutControllerName(w.controller.name, failure.message) });
          return { work: w, error: failure };
        } finally {
          connection.close();
        }
      }),
    ),
  );
}

export function asVmctxError(error: unknown, where: string): VmctxError {
  if (error instanceof VmctxError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DeployerError('DEPLOY_UNEXPECTED', `${where}: ${message}`, { where, cause: error });
}
