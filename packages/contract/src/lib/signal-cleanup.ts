/**
 * Temporary outputs removed when the process is stopped by a signal (SIGINT, SIGTERM, SIGHUP). Every atomic write
 * of the packages (an ISO's `.NAME.PID.tmp`, a context tree's `.DIR.tmp-*`, an overlay's temporary) registers its
 * temporary here for as long as it exists, so that Ctrl-C in the middle of a 600 MB image leaves nothing behind.
 *
 * The handlers are installed only while something is registered. On a signal every registered path is removed
 * (synchronously: the process may end right after); then, when no other listener is there to decide what the
 * signal means, it is raised again, so that the process ends as the signal would have ended it (exit 130 for
 * SIGINT, 143 for SIGTERM, as a shell reports them).
 */
import { rmSync } from 'node:fs';

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

const pending = new Map<number, { path: string; recursive: boolean }>();
let next = 0;
let installed = false;

function removeAll(): void {
  for (const { path, recursive } of pending.values()) {
    try {
      rmSync(path, { force: true, recursive });
    } catch {
      // Nothing more can be done while the process ends.
    }
  }
  pending.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  removeAll();
  uninstall();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

/**
 * Removes `path` (a file, or with `recursive` a folder) if the process is stopped by a signal before the returned
 * function is called; call it once the temporary is renamed into place or removed.
 */
export function removeOnSignal(path: string, options: { recursive?: boolean } = {}): () => void {
  const id = next++;
  pending.set(id, { path, recursive: options.recursive ?? false });
  install();
  return () => {
    pending.delete(id);
    if (pending.size === 0) uninstall();
  };
}
