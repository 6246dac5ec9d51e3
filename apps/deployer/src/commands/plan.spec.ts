/**
 * `vmctx plan` ends as `terraform plan -detailed-exitcode`: 0 no change, 2 changes, 1 an error, whatever the error
 * (issue 24: every input error exited 2, and a pipeline that runs plan to decide whether to deploy deployed on a
 * broken file). `deploy --dry-run` is a plan and ends as one.
 */
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { captureIo, exitCodeOfRun, failure } from '../cli/capture-io.fixture.js';
import { FakeController, putLink } from '../controller/fake-controller.fixture.js';
import { createProgram } from '../program.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmctx-plan-spec-'));
  await writeFile(join(dir, 'base.raw'), '');
  await truncate(join(dir, 'base.raw'), 2 ** 20);
  await writeFile(join(dir, 'key'), '');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** A deployment whose one controller listens nowhere (port 1 of loopback). */
const deployment = (vms: string) => `name: plan-spec
controllers:
  - { name: lc1, host: 127.0.0.1, port: 1, user: root, imageDir: /var/lib/vmctx/images, identityFile: ${join(dir, 'key')}, knownHosts: ${join(dir, 'known_hosts')} }
images:
  - { name: base, path: ${join(dir, 'base.raw')} }
defaults: { image: base, bridge: virbr0, spec: { memory: { value: 256, unit: MiB } } }
vms:
${vms}
`;

async function plan(text: string, ...args: string[]) {
  await writeFile(join(dir, 'deployment.yaml'), text);
  const io = captureIo();
  const run = createProgram(io).parseAsync([...args, '-f', join(dir, 'deployment.yaml'), '--cache', join(dir, 'cache')], { from: 'user' });
  return { io, result: await failure(io, run) };
}

describe('plan exits 1 on every error, never 2', () => {
  it.each([
    ['a typo in a key', '  - { name: web-1, controler: lc1 }', 'CONFIG_INVALID'],
    ['a duplicate name', '  - { name: web-1, controller: lc1 }\n  - { name: web-1, controller: lc1 }', 'CONFIG_DUPLICATE_NAME'],
    ['an address that is not one', '  - { name: web-1, controller: lc1, address: 198.51.100.300 }', undefined],
  ])('%s', async (_, vms, code) => {
    const { io, result } = await plan(deployment(vms), 'plan');
    expect(result.exitCode).toBe(1);
    if (code) expect(result.code).toBe(code);
    expect(io.out).toBe('');
  });

  it('with --json, an error is a JSON document on stdout too', async () => {
    const { io, result } = await plan(deployment('  - { name: web-1, controler: lc1 }'), 'plan', '--json');
    expect(result.exitCode).toBe(1);
    expect(JSON.parse(io.out)).toMatchObject({ error: { code: 'CONFIG_INVALID', kind: 'input', message: expect.stringContaining('controler') } });
  });

  it('an unknown flag', async () => {
    const { result } = await plan(deployment('  - { name: web-1, controller: lc1 }'), 'plan', '--no-such-flag');
    expect(result.exitCode).toBe(1);
  });

  it('an unreachable controller: exit 1, and the text does not say "no changes"', async () => {
    const { io, result } = await plan(deployment('  - { name: web-1, controller: lc1 }'), 'plan');
    expect(result.exitCode).toBe(1);
    expect(io.out).toContain('lc1: cannot plan:');
    expect(io.out).toContain('plan-spec: 1 controller(s) could not be planned; the plan is incomplete');
    expect(io.out).not.toContain('no changes');
  });

  it('deploy --dry-run ends as plan: 1 for an error (deploy itself keeps 2 for bad input)', async () => {
    const bad = deployment('  - { name: web-1, controler: lc1 }');
    expect((await plan(bad, 'deploy', '--dry-run')).result.exitCode).toBe(1);
    expect((await plan(bad, 'deploy')).result.exitCode).toBe(2);
  });
});

describe('plan with changes', () => {
  let fake: FakeController;
  beforeAll(async () => {
    fake = await FakeController.start();
    fake.trustHostKey();
    putLink(fake, 'virbr0', 'bridge', true);
  });
  afterAll(() => fake.close());

  /** The same deployment on a controller that answers: one VM to create. */
  const reachable = () =>
    deployment('  - { name: web-1, controller: lc1 }')
      .replace('port: 1,', `port: ${fake.port},`)
      .replace(`identityFile: ${join(dir, 'key')}`, `identityFile: ${fake.clientKeyFile}`)
      .replace(`knownHosts: ${join(dir, 'known_hosts')}`, `knownHosts: ${fake.knownHostsFile}`)
      .replace('imageDir: /var/lib/vmctx/images', `imageDir: ${fake.imageDir}`);

  /** The exit code and stdout of a run that may succeed. */
  async function ended(text: string, ...args: string[]) {
    await writeFile(join(dir, 'deployment.yaml'), text);
    const io = captureIo();
    const exit = await exitCodeOfRun(createProgram(io).parseAsync([...args, '-f', join(dir, 'deployment.yaml'), '--cache', join(dir, 'cache')], { from: 'user' }));
    return [exit, io.out] as const;
  }

  it('exits 2, and 0 with --no-detailed-exitcode (what the Nx targets pass: Nx reads 2 as a failure)', async () => {
    const created = expect.stringMatching(/\+ create +web-1\n/);
    expect(await ended(reachable(), 'plan')).toEqual([2, created]);
    expect(await ended(reachable(), 'plan', '--no-detailed-exitcode')).toEqual([0, created]);
    expect((await ended(reachable(), 'deploy', '--dry-run'))[0]).toBe(2);
    expect((await ended(reachable(), 'deploy', '--dry-run', '--no-detailed-exitcode'))[0]).toBe(0);
  });

  it('--no-detailed-exitcode still exits 1 on an error', async () => {
    const { result } = await plan(reachable().replace(`port: ${fake.port},`, 'port: 1,'), 'plan', '--no-detailed-exitcode');
    expect(result.exitCode).toBe(1);
  });
});
