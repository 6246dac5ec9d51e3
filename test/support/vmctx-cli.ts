/**
 * Runs the `vmctx` command as an operator does (the built bin, a separate process), and writes deployment
 * files for the lab: the deployer's e2e suites test the product from its front door.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type LabController, type LabEnv, REPO_ROOT } from './lab.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const VMCTX_BIN = join(REPO_ROOT, 'apps/deployer/bin/vmctx.js');
export const DEMO_DEPLOYMENT = join(REPO_ROOT, 'examples/demo/deployment.yaml');
export const LAB_TEMPLATE = join(REPO_ROOT, 'examples/demo/lab-guest.xml');

export function vmctx(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [VMCTX_BIN, ...args],
      { env: { ...process.env, ...options.env }, timeout: options.timeoutMs ?? 600_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 255) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The demo's base image (the lab guest with `vmctx guest install`), built once per machine. */
export function demoBaseImage(): string {
  return execFileSync('bash', [join(REPO_ROOT, 'tools/demo/vmctx-base.sh')], { encoding: 'utf8' }).trim().split('\n').pop()!;
}

/** A controller entry of a deployment file for a lab controller. */
export function labControllerEntry(env: LabEnv, lc: LabController, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: lc.name, host: lc.host, port: lc.port, user: lc.user, identityFile: env.key, knownHosts: env.knownHosts, imageDir: lc.images, ...overrides };
}

/**
 * Writes a deployment (JSON is YAML) into `dir` and returns its path. The lab's template (LAB_TEMPLATE) boots the
 * lab's kernel from /var/cache/vmctx/lab on the controller, so that folder is in `hostPaths` unless the deployment
 * gives its own (a template may name host files only there and in the image folders).
 */
export function writeDeployment(dir: string, name: string, deployment: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `${JSON.stringify({ name, hostPaths: ['/var/cache/vmctx/lab'], ...deployment }, null, 2)}\n`);
  return file;
}

/** A `vmctx` run going on in the background, for tests that act on it while it works (signals, faults). */
export interface RunningVmctx {
  pid: number;
  /** What it printed on stderr so far. */
  stderr(): string;
  /** Resolves with the first stderr line that matches; rejects when the run ends first or after `timeoutMs`. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<string>;
  signal(signal: NodeJS.Signals): void;
  /** How it ended: exit code (255 when killed by a signal), the signal, its output, and its wall time. */
  done: Promise<CliResult & { signal: NodeJS.Signals | null; elapsedMs: number }>;
}

export function startVmctx(args: string[]): RunningVmctx {
  const started = Date.now();
  const child = spawn(process.execPath, [VMCTX_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let ended = false;
  const watchers = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    for (const w of watchers) w();
  });
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null; elapsedMs: number }>((resolve) => {
    child.on('close', (code, signal) => {
      ended = true;
      for (const w of watchers) w();
      resolve({ code: code ?? 255, signal, stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
  return {
    pid: child.pid!,
    stderr: () => stderr,
    done,
    signal: (signal) => {
      if (!ended) child.kill(signal);
    },
    waitForStderr(pattern, timeoutMs = 60_000) {
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`vmctx ${args.join(' ')}: no stderr line matching ${pattern} within ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
        const finish = (result: string | Error) => {
          clearTimeout(timer);
          watchers.delete(check);
          if (result instanceof Error) reject(result);
          else resolve(result);
        };
        const check = () => {
          const line = stderr.split('\n').find((l) => pattern.test(l));
          if (line !== undefined) finish(line);
          else if (ended) finish(new Error(`vmctx ${args.join(' ')} ended before printing ${pattern}:\n${stderr}`));
        };
        watchers.add(check);
        check();
      });
    },
  };
}
