/**
 * Takes out of an image what installInto put there: every file and link of the plan, and the rc.local call (the
 * whole rc.local when it is still the fresh one the installer made). `sh install.sh --uninstall [ROOT]` does the
 * same from the same plan and says it in the same words ("removed PATH", "edited PATH"); nothing else is touched,
 * and a second run says nothing.
 */
import { lstat, readFile, rm, stat } from 'node:fs/promises';
import { GuestScriptError } from './errors.js';
import { callsScript, installPlan, resolveInRoot, writeAtomic, type InstallOptions, type InstallStep, type PlannedStep } from './installer.js';

/** rc.local without the lines that run the script, or undefined when none does (install.sh's unstep_rc_local). */
export function rcLocalWithoutCall(existing: string): string | undefined {
  const lines = existing === '' ? [] : existing.split('\n');
  if (existing.endsWith('\n')) lines.pop();
  const kept = lines.filter((line) => !callsScript(line));
  if (kept.length === lines.length) return undefined;
  return kept.length === 0 ? '' : `${kept.join('\n')}\n`;
}

async function removeRcLocalCall(rootDir: string, step: Extract<PlannedStep, { kind: 'rc-local' }>): Promise<InstallStep | undefined> {
  const file = await resolveInRoot(rootDir, step.path, true);
  const info = await lstat(file).catch(() => undefined);
  if (!info?.isFile()) return undefined;
  const current = await readFile(file, 'utf8');
  // The rc.local the installer made, as it made it: it goes.
  if (current === step.fresh && (info.mode & 0o7777) === 0o755) {
    await rm(file);
    return { path: step.path, action: 'removed' };
  }
  const without = rcLocalWithoutCall(current);
  if (without === undefined) return undefined;
  await writeAtomic(file, without, (await stat(file)).mode & 0o7777);
  return { path: step.path, action: 'edited' };
}

/** Removes from the root folder `rootDir` what installInto(rootDir, options) put there; says what it did. */
export async function uninstallFrom(rootDir: string, options: InstallOptions = {}): Promise<InstallStep[]> {
  const info = await stat(rootDir).catch(() => undefined);
  if (!info?.isDirectory()) throw new GuestScriptError('GUEST_NOT_A_ROOT_FOLDER', `${rootDir} is not a folder (expected an image's root file system)`, rootDir);
  const done: InstallStep[] = [];
  for (const step of installPlan(options)) {
    if (step.kind === 'rc-local') {
      const result = await removeRcLocalCall(rootDir, step);
      if (result !== undefined) done.push(result);
      continue;
    }
    // Whatever the image's kind: a step the installer skipped has nothing there to remove.
    const at = await resolveInRoot(rootDir, step.path, false);
    const there = await lstat(at).catch(() => undefined);
    if (there === undefined) continue;
    if (step.kind === 'file' ? there.isFile() || there.isSymbolicLink() : there.isSymbolicLink()) {
      await rm(at);
      done.push({ path: step.path, action: 'removed' });
    }
  }
  return done;
}
