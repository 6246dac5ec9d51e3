/**
 * examples/ci as a workspace of its own in a temporary folder, run by this repository's Nx: the copy gets a
 * `node_modules` link to the repository's (where @vmctx/nx-context-iso and its builders are the workspace's own
 * packages), so what runs is the plugin and executor as they are here. The builders' dist/ must be built.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './lab.js';

export const EXAMPLE = join(REPO_ROOT, 'examples/ci');
const NX = join(REPO_ROOT, 'node_modules/nx/dist/bin/nx.js');

/** Builds the packages the executor loads at run time (tsc -b: quick when they are up to date). */
export function buildBuilders(): void {
  execFileSync(join(REPO_ROOT, 'node_modules/.bin/tsc'), ['-b', 'packages/guest-script/tsconfig.lib.json', 'packages/iso-builder/tsconfig.lib.json'], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
}

/** A fresh copy of examples/ci (without its node_modules, dist or Nx cache) under a new temporary folder. */
export function copyExample(prefix: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), prefix)), 'workspace');
  cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !/\/(node_modules|dist|\.nx)$/.test(src) });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

export interface NxRun {
  output: string;
  /** Per task, as Nx said it ran: `built`, or `cache` when it read the output from the cache. */
  tasks: Record<string, 'built' | 'cache'>;
}

/** `nx ...args` in `workspace`, without daemon, cloud or TUI; throws with the output when Nx fails. */
export function nx(workspace: string, args: string[], env: Record<string, string> = {}): NxRun {
  const run = spawnSync(process.execPath, [NX, ...args, '--outputStyle=static'], {
    cwd: workspace,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true', NO_COLOR: '1', FORCE_COLOR: '0', ...env },
    timeout: 120_000,
  });
  const output = `${run.stdout}${run.stderr}`;
  if (run.status !== 0) throw new Error(`nx ${args.join(' ')} in ${workspace} exited ${run.status}:\n${output}`);
  const tasks: NxRun['tasks'] = {};
  for (const match of output.matchAll(/> nx run (\S+?)(?::(\S+))?\s*(\[[^\]\n]*\])?\s*$/gm)) {
    const name = match[2] ? `${match[1]}:${match[2]}` : match[1]!;
    tasks[name] = match[3] && /cache/.test(match[3]) ? 'cache' : 'built';
  }
  return { output, tasks };
}
