/**
 * The deployer's Nx targets (`npx nx run deployer:plan -- --file F`, `deployer:destroy`...) as an operator runs them
 * on a terminal (issue 24 #3): a plan with changes ends as a success (Nx turned plan's 2 into 1 and printed "failed",
 * so changes and errors looked the same; the targets pass --no-detailed-exitcode), and the first Nx run on a
 * terminal asks nothing (Nx's "share usage data?" prompt wrote its answer into nx.json and ate the "n" meant for
 * destroy's question; nx.json says `analytics: false`). The controller is the in-process fake one (real sh, fake
 * virsh); no lab, no network but loopback.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeController, putLink } from '../apps/deployer/src/controller/fake-controller.fixture.js';
import { REPO_ROOT } from './support/lab.js';

const NX = join(REPO_ROOT, 'node_modules/nx/dist/bin/nx.js');
/** Nx under load on two cores: its project graph and the build's cache check take tens of seconds. */
const NX_LIMIT_MS = 240_000;
/**
 * The targets without their build dependencies: npm test's set-up built them, and Nx without its daemon restores
 * every cached build output (dist/ removed and copied again) even when it is current, under the other suites that
 * load those dist/ at that moment (a clean-clone run: guest-script's dist/lib/cloud-init/nocloud.js not found by
 * nx-context-iso.tools' executor, ERR_MODULE_NOT_FOUND). What an operator's `nx run deployer:plan` builds first is
 * not what this suite checks.
 */
const NO_BUILD = '--excludeTaskDependencies';

const dir = mkdtempSync(join(tmpdir(), 'vmctx-nx-targets-'));
let fake: FakeController;
let file: string;

beforeAll(async () => {
  fake = await FakeController.start();
  fake.trustHostKey();
  putLink(fake, 'virbr0', 'bridge', true);
  writeFileSync(join(dir, 'base.raw'), '');
  truncateSync(join(dir, 'base.raw'), 2 ** 20);
  file = join(dir, 'deployment.yaml');
  writeFileSync(
    file,
    `name: nx-targets
controllers:
  - { name: lc1, host: 127.0.0.1, port: ${fake.port}, user: root, imageDir: ${fake.imageDir}, identityFile: ${fake.clientKeyFile}, knownHosts: ${fake.knownHostsFile} }
images:
  - { name: base, path: ${join(dir, 'base.raw')} }
defaults: { controller: lc1, image: base, bridge: virbr0, spec: { memory: { value: 256, unit: MiB } } }
vms:
  - { name: web-1 }
`,
  );
});
afterAll(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Ended {
  status: number | null;
  output: string;
}

/**
 * Runs `command` (argv) in the repository without blocking this process (the fake controller answers from it), and
 * writes `answer` to its stdin once its output shows `prompt`.
 */
function run(command: string[], env: Record<string, string>, prompt?: RegExp, answer?: string): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { cwd: REPO_ROOT, env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NO_COLOR: '1', ...env } });
    let output = '';
    let answered = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), NX_LIMIT_MS);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      // Nx's own question would wait for ever: end the run, and the test fails on what it printed.
      if (/share usage data/i.test(output)) child.kill('SIGKILL');
      if (prompt && !answered && prompt.test(output)) {
        answered = true;
        child.stdin.write(answer ?? '');
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

describe('the deployer through Nx', () => {
  it(
    'deployer:plan with changes succeeds and prints the plan; the same file through vmctx exits 2',
    async () => {
      const viaNx = await run([process.execPath, NX, 'run', 'deployer:plan', NO_BUILD, '--outputStyle=stream', '--', '--file', file], { NX_TUI: 'false', CI: 'true' });
      expect(viaNx.output).not.toMatch(/nx run [^\n]*:build/);
      expect(viaNx.output).toMatch(/\+ create +web-1/);
      expect(viaNx.output).toMatch(/Successfully ran target plan/);
      expect(viaNx.status).toBe(0);
      const direct = await run([process.execPath, join(REPO_ROOT, 'apps/deployer/bin/vmctx.js'), 'plan', '--file', file], {});
      expect(direct.status).toBe(2);
    },
    2 * NX_LIMIT_MS,
  );

  it(
    "on a terminal, asks nothing of its own: destroy's question gets the answer, and nx.json is left as it is",
    async () => {
      const before = readFileSync(join(REPO_ROOT, 'nx.json'), 'utf8');
      // script(1) gives Nx a terminal, where it prompts (CI=false: not a CI run, in which Nx never asks).
      const line = `${process.execPath} ${NX} run deployer:destroy ${NO_BUILD} --outputStyle=stream -- --file ${file}`;
      const ended = await run(['script', '-qec', line, '/dev/null'], { CI: 'false', NX_TUI: 'false' }, /\[y\/N\] /, 'n\n');
      expect(ended.output).not.toMatch(/usage data/i);
      expect(ended.output).toMatch(/Destroy every domain and file of deployment nx-targets on lc1\? \[y\/N\] /);
      expect(ended.output).toContain('vmctx: nothing destroyed');
      expect(readFileSync(join(REPO_ROOT, 'nx.json'), 'utf8')).toBe(before);
    },
    NX_LIMIT_MS,
  );
});
