/**
 * One run of a deployment at a time on a controller, whichever machine it comes from: `deploy` and `destroy` hold
 * `<imageDir>/.vmctx/<deployment>.lock` with flock(1) for as long as they work there. Two runs at once undid each
 * other before (the second one's failed start rolled back the first one's VM).
 *
 * The lock is held by a shell on the controller that reads its standard input until the deployer closes it; the
 * kernel drops the lock with the shell's last descriptor. A run that is killed (even SIGKILL), or whose connection
 * drops, closes the channel, sshd closes the shell's input, and the lock is free: nothing stale to recognise or break.
 * The holder (host, pid, since) is written into the file once the lock is held, for the next run's message.
 */
import { hostname } from 'node:os';
import { posix } from 'node:path';
import { VmctxError } from '@vmctx/contract';
import type { ClientChannel } from 'ssh2';
import type { ControllerConnection } from './connection.js';

// $1 folder, $2 lock file, $3 this run's holder line, $4 seconds to wait. Prints `busy HOLDER` (then waits) when
// another run holds it, `locked` once held; exit 4: still held after the wait, 5: flock is missing, 6: a link there.
const HOLD_LOCK = [
  'umask 077',
  'command -v flock >/dev/null 2>&1 || { echo "flock(1) is not installed (util-linux)" >&2; exit 5; }',
  'mkdir -p -- "$1" || exit 3',
  'if [ -L "$2" ]; then echo "$2 is a symbolic link; vmctx will not follow it" >&2; exit 6; fi',
  'exec 9>>"$2" || exit 3',
  'if ! flock -n 9; then',
  '  printf "busy %s\\n" "$(head -n 1 -- "$2")"',
  '  flock -w "$4" 9 || exit 4',
  'fi',
  // Truncated through fd 9 itself (same file, now held), so the holder line never goes to another file.
  'printf "%s\\n" "$3" >"/proc/self/fd/9" 2>/dev/null || printf "%s\\n" "$3" >>"$2"',
  'echo locked',
  'cat >/dev/null',
].join('\n');

/** Seconds a deploy or destroy waits for another run of the same deployment on a controller, by default. */
export const DEFAULT_LOCK_WAIT_SECONDS = 60;

export interface DeploymentLock {
  /** Lets the lock go (closes the channel that holds it). */
  release(): void;
}

export function lockPath(imageDir: string, deployment: string): string {
  return posix.join(imageDir, '.vmctx', `${deployment}.lock`);
}

/**
 * Takes the deployment's lock on the controller, waiting up to `waitSeconds` for a run that holds it (told through
 * `onBusy`, with the holder's line); DEPLOY_LOCKED when it is still held after that.
 */
export async function lockDeployment(connection: ControllerConnection, deployment: string, options: { waitSeconds: number; onBusy?: (holder: string) => void }): Promise<DeploymentLock> {
  const lc = connection.controller;
  const path = lockPath(lc.imageDir, deployment);
  const holder = `host ${hostname()} pid ${process.pid} since ${new Date().toISOString()}`;
  let channel: ClientChannel | undefined;
  let busy = '';
  const held = new Promise<void>((resolve, reject) => {
    // The channel stays open as long as the lock is held; withChannel's promise ends with it.
    connection
      .withChannel(['sh', '-c', HOLD_LOCK, 'vmctx-lock', posix.dirname(path), path, holder, String(options.waitSeconds)], (ch) => {
        channel = ch;
        let out = '';
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
            if (/^locked$/m.test(out)) resolve();
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
            reject(new VmctxError(code === 4 ? 'DEPLOY_LOCKED' : 'REMOTE_COMMAND_FAILED', code === 4 ? 'conflict' : 'remote', `${lc.name}: cannot lock deployment ${deployment} (${path}): ${why}`, { where: lc.name }));
          });
        });
      })
      .catch(reject);
  });
  await held;
  return {
    release: () => {
      channel?.end();
    },
  };
}
