/**
 * Issue 24 #7, the operator's SSH habits through the CLI, against the in-process controller:
 * - the ssh config is chosen as `ssh -F` chooses it: `--ssh-config FILE`, else $VMCTX_SSH_CONFIG, else
 *   ~/.ssh/config; `none` reads none; a file named there that is missing is an error, not a silent default;
 * - its UserKnownHostsFile (every file, the first written by --accept-new) and GlobalKnownHostsFile are honoured,
 *   as `ssh ALIAS` honours them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { captureIo, exitCodeOfRun } from '../cli/capture-io.fixture.js';
import { FakeController, putLink } from '../controller/fake-controller.fixture.js';
import type { CheckReport } from '../deploy/check.js';
import { createProgram } from '../program.js';

let fake: FakeController;
let dir: string;

beforeAll(async () => {
  fake = await FakeController.start();
});
afterAll(() => fake.close());
beforeEach(async () => {
  fake.reset();
  putLink(fake, 'br0', 'bridge', true);
  dir = await mkdtemp(join(tmpdir(), 'vmctx-ssh-options-'));
  await writeFile(join(dir, 'base.raw'), Buffer.alloc(1024 * 1024));
  return () => rm(dir, { recursive: true, force: true });
});

/** A deployment whose one controller is the alias `lc-alias`, which only the ssh config resolves. */
function deployment(controller = 'host: lc-alias'): string {
  return `name: ssh-options
controllers:
  - { name: lc1, ${controller}, imageDir: ${fake.imageDir} }
images:
  - { name: base, path: ${join(dir, 'base.raw')} }
defaults: { controller: lc1, image: base, bridge: br0, spec: { memory: { value: 64, unit: MiB } } }
vms:
  - { name: web-1 }
`;
}

/** The ssh config that makes `lc-alias` the fake controller, with more directives when given. */
function sshConfig(...more: string[]): string {
  return ['Host lc-alias', '  HostName 127.0.0.1', `  Port ${fake.port}`, '  User root', `  IdentityFile ${fake.clientKeyFile}`, ...more.map((m) => `  ${m}`), ''].join('\n');
}

async function vmctx(text: string, env: Record<string, string>, ...args: string[]) {
  await writeFile(join(dir, 'deployment.yaml'), text);
  const io = captureIo();
  io.env = env;
  let exitCode = 0;
  io.exit = ((code: number) => void (exitCode = code)) as (code: number) => never;
  await createProgram(io).parseAsync([...args, '-f', join(dir, 'deployment.yaml'), '--cache', join(dir, 'cache')], { from: 'user' });
  return { out: io.out, err: io.err, exitCode };
}

/** `check --json`, and its CHECK_SSH finding. */
async function checkSsh(text: string, env: Record<string, string>, ...args: string[]) {
  const run = await vmctx(text, env, 'check', '--json', ...args);
  const report = JSON.parse(run.out || '{}') as Partial<CheckReport>;
  return { ...run, ssh: report.controllers?.[0]?.findings.find((f) => f.code === 'CHECK_SSH') };
}

describe('--ssh-config and VMCTX_SSH_CONFIG', () => {
  beforeEach(() => fake.trustHostKey());
  const knownHosts = () => `UserKnownHostsFile ${fake.knownHostsFile}`;

  it('--ssh-config FILE resolves the alias (check, plan, status and destroy take it)', async () => {
    const config = join(dir, 'ssh_config');
    await writeFile(config, sshConfig(knownHosts()));
    const check = await checkSsh(deployment(), {}, '--ssh-config', config);
    expect(check.ssh, check.err).toMatchObject({ object: `ssh 127.0.0.1:${fake.port}`, severity: 'ok' });
    expect(check.exitCode, check.out).toBe(0);
    expect((await vmctx(deployment(), {}, 'plan', '--ssh-config', config)).out).toContain('+ create    web-1');
    expect((await vmctx(deployment(), {}, 'status', '--ssh-config', config)).out).toMatch(/web-1 +lc1 +absent/);
    expect((await vmctx(deployment(), {}, 'destroy', '--dry-run', '--ssh-config', config)).out).toBe('lc1: nothing of ssh-options\n');
    for (const command of ['check', 'plan', 'deploy', 'status', 'destroy']) {
      const io = captureIo();
      expect(await exitCodeOfRun(createProgram(io).parseAsync([command, '--help'], { from: 'user' }))).toBe(0);
      expect(io.out, command).toContain('--ssh-config <file>');
    }
  });

  it('$VMCTX_SSH_CONFIG names it when the option does not; the option wins over it', async () => {
    const config = join(dir, 'ssh_config');
    await writeFile(config, sshConfig(knownHosts()));
    expect((await checkSsh(deployment(), { VMCTX_SSH_CONFIG: config })).ssh).toMatchObject({ severity: 'ok' });
    // The variable names a config whose alias goes to a port nothing answers on; the option's is used.
    const wrong = join(dir, 'wrong_config');
    await writeFile(wrong, sshConfig(knownHosts()).replace(`Port ${fake.port}`, 'Port 1'));
    expect((await checkSsh(deployment(), { VMCTX_SSH_CONFIG: wrong }, '--ssh-config', config)).ssh).toMatchObject({ severity: 'ok' });
    expect((await checkSsh(deployment(), { VMCTX_SSH_CONFIG: wrong })).ssh).toMatchObject({ object: 'ssh 127.0.0.1:1', severity: 'error' });
  });

  it('none reads no ssh config, whatever the variable says', async () => {
    const config = join(dir, 'ssh_config');
    await writeFile(config, `Host 127.0.0.1\n  Port ${fake.port}\n`);
    const text = deployment(`host: 127.0.0.1, user: root, identityFile: ${fake.clientKeyFile}, knownHosts: ${fake.knownHostsFile}`);
    expect((await checkSsh(text, { VMCTX_SSH_CONFIG: config })).ssh).toMatchObject({ object: `ssh 127.0.0.1:${fake.port}`, severity: 'ok' });
    // Without the config, port 22.
    expect((await checkSsh(text, { VMCTX_SSH_CONFIG: config }, '--ssh-config', 'none')).ssh).toMatchObject({ object: 'ssh 127.0.0.1:22' });
    expect((await checkSsh(text, { VMCTX_SSH_CONFIG: 'none' })).ssh).toMatchObject({ object: 'ssh 127.0.0.1:22' });
  });

  it.each([
    ['the option', ['--ssh-config', 'no-such-config'], {}, '--ssh-config'],
    ['the variable', [], { VMCTX_SSH_CONFIG: 'no-such-config' }, 'VMCTX_SSH_CONFIG'],
  ])('a missing file named by %s is an error (SSH_CONFIG_UNREADABLE, exit 1), before any connection', async (_, args, env, named) => {
    for (const command of ['check', 'plan', 'destroy']) {
      const run = await vmctx(deployment(), env, command, ...args, ...(command === 'destroy' ? ['--yes'] : []));
      expect(run.exitCode, command).toBe(1);
      expect(run.err, command).toContain(`the ssh config ${join(process.cwd(), 'no-such-config')} (named by ${named}) does not exist`);
      expect(run.err, command).toContain('[SSH_CONFIG_UNREADABLE]');
      expect(fake.commands, command).toEqual([]);
    }
  });
});

describe("the ssh config's known_hosts files", () => {
  it('knows a host key listed in a later UserKnownHostsFile', async () => {
    const first = join(dir, 'kh first');
    const second = join(dir, 'kh2');
    await writeFile(second, fake.knownHostsLine());
    const config = join(dir, 'ssh_config');
    await writeFile(config, sshConfig(`UserKnownHostsFile "${first}" ${second}`, `GlobalKnownHostsFile ${join(dir, 'global')}`));
    const check = await checkSsh(deployment(), {}, '--ssh-config', config);
    expect(check.ssh, check.err).toMatchObject({ severity: 'ok' });
    expect(existsSync(first)).toBe(false);
  });

  it('knows a host key listed in the GlobalKnownHostsFile', async () => {
    const global = join(dir, 'global');
    await writeFile(global, fake.knownHostsLine());
    const config = join(dir, 'ssh_config');
    await writeFile(config, sshConfig(`UserKnownHostsFile ${join(dir, 'kh')}`, `GlobalKnownHostsFile ${join(dir, 'other-global')} ${global}`));
    expect((await checkSsh(deployment(), {}, '--ssh-config', config)).ssh).toMatchObject({ severity: 'ok' });
  });

  it('says every file it looked in for an unknown key, and --accept-new records it in the first (tokens expanded)', async () => {
    const config = join(dir, 'ssh_config');
    await writeFile(config, sshConfig(`UserKnownHostsFile ${dir}/kh-%h-%p ${dir}/kh2`, `GlobalKnownHostsFile ${dir}/global`));
    const first = join(dir, `kh-127.0.0.1-${fake.port}`);
    const refused = await checkSsh(deployment(), {}, '--ssh-config', config);
    expect(refused.ssh?.message).toContain(
      `not in ${first} (which does not exist yet), nor in ${dir}/kh2 (missing), nor in the global ${dir}/global (missing).`,
    );
    const accepted = await checkSsh(deployment(), {}, '--ssh-config', config, '--accept-new');
    expect(accepted.ssh).toMatchObject({ severity: 'ok' });
    expect(accepted.err).toContain(`in ${first}`);
    expect(readFileSync(first, 'utf8')).toBe(fake.knownHostsLine());
    expect(existsSync(join(dir, 'kh2'))).toBe(false);
  });
});
