/**
 * One run of a deployment at a time on a controller, whichever machine it comes from: `deploy` and `destroy` hold
 * a flock(1) for as long as they work there. Two runs at once undid each other before (the second one's failed
 * start rolled back the first one's VM).
 *
 * The lock is held by a shell on the controller that reads its standard input until the deployer closes it; the
 * kernel drops the lock with the shell's last descriptor. A run that is killed (even SIGKILL), or whose connection
 * drops, closes the channel, sshd closes the shell's input, and the lock is free: nothing stale to recognise or break.
 * The holder (host, pid, since) is written into the file once the lock is held, for the next run's message.
 *
 * The lock file lives in the controller's lock folder (/run/lock, else /var/lock, else /tmp), named after the
 * deployment and the image folder's device and inode (the same folder under any path): never in the image folder,
 * so that a controller preflight refuses gets nothing written, and a missing image folder is not made (it was:
 * `mkdir -p <imageDir>/.vmctx` before preflight, so CHECK_IMAGE_DIR never fired). A missing image folder holds
 * nothing to protect: no lock is taken, and preflight refuses the controller.
 */
import { hostname } from 'node:os';
import type { ClientChannel } from 'ssh2';
import type { ControllerConnection } from './connection.js';
import { LockLine } from '../sh/answers.js';
import { DEPLOYMENT_LOCK_SH } from '../sh/sh.generated.js';
import { DeployerError } from '../errors.js';

export { DEFAULT_LOCK_WAIT_SECONDS } from './lock-wait.js';

export interface DeploymentLock {
  /** The lock file on the controller; undefined when the image folder is missing (nothing is held). */
  path?: string;
  /** Lets the lock go (closes the channel that holds it). */
  release(): void;
}

/**
 * Takes the deployment's lock on the controller, waiting up to `waitSeconds` for a run that holds it (told through
 * `onBusy`, with the holder's line); DEPLOY_LOCKED when it is still held after that.
 */
export async function lockDeployment(connection: ControllerConnection, deployment: string, options: { waitSeconds: number; onBusy?: (holder: string) => void }): Promise<DeploymentLock> {
  const lc = connection.controller;
  const holder = `host ${hostname()} pid ${process.pid} since ${new Date().toISOString()}`;
  let channel: ClientChannel | undefined;
  let busy = '';
  let out = '';
  let linesRead = 0;
  let path: string | undefined;
  const held = new Promise<void>((resolve, reject) => {
    // The channel stays open as long as the lock is held; withChannel's promise ends with it.
    connection
      // sh/deployment-lock.sh: prints no-folder, busy HOLDER or locked PATH, and holds the lock until stdin ends.
      .withChannel(['sh', '-c', DEPLOYMENT_LOCK_SH, 'vmctx-lock', lc.imageDir, deployment, holder, String(options.waitSeconds)], (ch) => {
        channel = ch;
        let err = '';
        ch.stderr.on('data', (chunk: Buffer) => {
          err += chunk.toString('utf8');
        });
        return new Promise<void>((closed) => {
          let code: number | null = null;
          ch.on('data', (chunk: Buffer) => {
            out += chunk.toString('utf8');
            // Each whole line once, read through zod (LockLine).
            const whole = out.split('\n').slice(0, -1);
            for (const line of whole.slice(linesRead)) {
              const said = LockLine.safeParse(line);
              if (!said.success) continue;
              if (said.data.said === 'busy' && busy === '') {
                busy = said.data.holder || 'another run';
                options.onBusy?.(busy);
              }
              if (said.data.said === 'locked') path = said.data.path;
              if (said.data.said !== 'busy') resolve();
            }
            linesRead = whole.length;
          });
          ch.on('exit', (c: number | null) => {
            code = c;
          });
          ch.on('close', () => {
            closed();
            const why =
              code === 4
                ? `another run holds it (${busy || 'holder unknown'}) and did not let go within ${options.waitSeconds} s`
                : code === 5 || code === 6
                  ? err.trim()
                  : `the command holding it ended (exit ${code ?? 'none'}${err.trim() ? `: ${err.trim()}` : ''})`;
            reject(new DeployerError(code === 4 ? 'DEPLOY_LOCKED' : 'REMOTE_COMMAND_FAILED', `${lc.name}: cannot lock deployment ${deployment} in ${lc.imageDir}: ${why}`, { where: lc.name }));
          });
        });
      })
      .catch(reject);
  });
  await held;
  return {
    ...(path ? { path } : {}),
    release: () => {
      channel?.end();
    },
  };
}
