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
import { DeployerError } from '../errors.js';

// $1 image folder, $2 deployment, $3 this run's holder line, $4 seconds to wait. Prints `no-folder` (and holds
// nothing) when the image folder is missing, `busy HOLDER` (then waits) when another run holds the lock, `locked`
// once held; exit 4: still held after the wait, 5: flock is missing, 6: a link at the lock file.
const HOLD_LOCK = [
  'umask 077',
  'if [ ! -d "$1" ]; then echo no-folder; exec cat >/dev/null; fi',
  'command -v flock >/dev/null 2>&1 || { echo "flock(1) is not installed (util-linux)" >&2; exit 5; }',
  'id=$(stat -L -c %d-%i -- "$1") || exit 3',
  'for d in /run/lock /var/lock /tmp; do if [ -d "$d" ] && [ -w "$d" ]; then break; fi; done',
  'f="$d/vmctx-$2-$id.lock"',
  'if [ -L "$f" ]; then echo "$f is a symbolic link; vmctx will not follow it" >&2; exit 6; fi',
  'command exec 9>>"$f" || exit 3',
  'if ! flock -n 9; then',
  '  printf "busy %s\\n" "$(head -n 1 -- "$f")"',
  '  flock -w "$4" 9 || exit 4',
  'fi',
  // Truncated through fd 9 itself (same file, now held), so the holder line never goes to another file.
  'printf "%s\\n" "$3" >"/proc/self/fd/9" 2>/dev/null || printf "%s\\n" "$3" >>"$f"',
  'echo "locked $f"',
  'exec cat >/dev/null',
].join('\n');

/** Seconds a deploy or destroy waits for another run of the same deployment on a controller, by default. */
export const DEFAULT_LOCK_WAIT_SECONDS = 60;

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
  const held = new Promise<void>((resolve, reject) => {
    // The channel stays open as long as the lock is held; withChannel's promise ends with it.
    connection
      .withChannel(['sh', '-c', HOLD_LOCK, 'vmctx-lock', lc.imageDir, deployment, holder, String(options.waitSeconds)], (ch) => {
        channel = ch;
        let err = '';
        ch.stderr.on('data', (chunk: Buffer) => {
          err += chunk.toString('utf8');
        });
        return new Promise<void>((closed) => {
          let code: number | null = null;
          ch.on('data', (chunk: Buffer) => {
            out += chunk.toString('utf8');
            const busyLine = /^busy (.*)$/m.exec(out);
            if (busyLine && busy === '') {
              busy = busyLine[1] || 'another run';
              options.onBusy?.(busy);
            }
            if (/^(locked .*|no-folder)$/m.test(out)) resolve();
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
  const path = /^locked (.*)$/m.exec(out)?.[1];
  return {
    ...(path ? { path } : {}),
    release: () => {
      channel?.end();
    },
  };
}
