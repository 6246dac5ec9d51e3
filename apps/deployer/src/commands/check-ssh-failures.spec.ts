/**
 * Issue 24 #7, `check` when a controller cannot be reached, through the CLI: every way of failing to connect has a
 * fix in the table's fix column, the controller's name is said once ("lc1: lc1: ..." before), and the table fits
 * 100 columns even for a host key refusal (about 700 before), whose details follow the table; `--json` keeps every
 * message whole. Against the in-process controller, and a loopback port nothing listens on (a timeout waits 20 s
 * here: connection.spec gives its fix, with a short timeout).
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { captureIo } from '../cli/capture-io.fixture.js';
import { FakeController, newKeyPair, putLink } from '../controller/fake-controller.fixture.js';
import { freePort } from '../controller/free-port.fixture.js';
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
  fake.trustHostKey();
  putLink(fake, 'br0', 'bridge', true);
  dir = await mkdtemp(join(tmpdir(), 'vmctx-check-ssh-'));
  await writeFile(join(dir, 'base.raw'), Buffer.alloc(1024 * 1024));
  return () => rm(dir, { recursive: true, force: true });
});

function deployment(overrides: { port?: number; identityFile?: string } = {}): string {
  const c = fake.controller();
  return `name: check-ssh
controllers:
  - { name: lc1, host: 127.0.0.1, port: ${overrides.port ?? c.port}, user: root, imageDir: ${c.imageDir}, identityFile: ${overrides.identityFile ?? c.identityFile}, knownHosts: ${c.knownHosts} }
images:
  - { name: base, path: ${join(dir, 'base.raw')} }
defaults: { controller: lc1, image: base, bridge: br0, spec: { memory: { value: 64, unit: MiB } } }
vms:
  - { name: web-1 }
`;
}

async function vmctx(text: string, ...args: string[]) {
  await writeFile(join(dir, 'deployment.yaml'), text);
  const io = captureIo();
  let exitCode = 0;
  io.exit = ((code: number) => void (exitCode = code)) as (code: number) => never;
  await createProgram(io).parseAsync([...args, '-f', join(dir, 'deployment.yaml'), '--cache', join(dir, 'cache')], { from: 'user' });
  return { out: io.out, err: io.err, exitCode };
}

/** `check` as text and as JSON, and the JSON's CHECK_SSH finding. */
async function check(text: string) {
  const plain = await vmctx(text, 'check');
  const json = await vmctx(text, 'check', '--json');
  const ssh = (JSON.parse(json.out) as CheckReport).controllers[0]!.findings.find((f) => f.code === 'CHECK_SSH')!;
  return { ...plain, ssh };
}

/** What every refusal's text must hold: exit 1, a fix, the name once, lines that fit 100 columns. */
function expectReadable(run: Awaited<ReturnType<typeof check>>, fix: RegExp) {
  expect(run.exitCode).toBe(1);
  expect(run.ssh.severity).toBe('error');
  expect(run.ssh.fix).toMatch(fix);
  expect(run.ssh.message).not.toMatch(/^lc1: /);
  expect(run.out + run.err).not.toContain('lc1: lc1');
  expect(run.err).toMatch(/^lc1: failed: (?!lc1)/m);
  // The table: up to the details (`  ssh HOST:PORT:` and the lines under it); its prose fits too, where a
  // command or a file:line stays whole, to be copied.
  const lines = run.out.split('\n');
  const details = lines.findIndex((line) => /^ {2}ssh \S+:$/.test(line));
  const table = details < 0 ? lines : lines.slice(0, details);
  expect(table.filter((line) => line.length > 100)).toEqual([]);
  expect(lines.filter((line) => line.length > 100 && !/^ {6}\S/.test(line))).toEqual([]);
  // The fix is in the table, in its column (the first words of it, on the row's first line).
  const row = table.find((line) => line.startsWith('  FAIL  ssh'))!;
  expect(row).toContain(run.ssh.fix!.split(' ').slice(0, 3).join(' '));
}

describe('check: a controller that cannot be reached', () => {
  it('refused (nothing listens on the port): the fix says to start sshd or correct the port', async () => {
    const port = await freePort();
    const run = await check(deployment({ port }));
    expectReadable(run, /start sshd on 127\.0\.0\.1, or correct the port/);
    expect(run.ssh.message).toBe(`127.0.0.1:${port} refused the connection: nothing listens on that port, or a firewall rejects it`);
  });

  it('keys refused: the fix names the key and authorized_keys', async () => {
    const other = join(dir, 'other_key');
    writeFileSync(other, newKeyPair().private, { mode: 0o600 });
    const run = await check(deployment({ identityFile: other }));
    expectReadable(run, new RegExp(`add the public key of ${other} to ~root/\\.ssh/authorized_keys`));
  });

  it('host key unknown: the table fits, the commands follow it whole, --json keeps the whole message', async () => {
    writeFileSync(fake.knownHostsFile, '');
    const run = await check(deployment());
    expectReadable(run, /then rerun with --accept-new/);
    expect(run.ssh.message).toContain('is not known');
    expect(run.ssh.message).toContain(`\n  ssh-keyscan -p ${fake.port} 127.0.0.1 >> ${fake.knownHostsFile}`);
    // Below the table, under the object, the command on a line of its own, as it is.
    expect(run.out).toContain(`  ssh 127.0.0.1:${fake.port}:\n    Check that fingerprint`);
    expect(run.out).toContain(`\n      ssh-keyscan -p ${fake.port} 127.0.0.1 >> ${fake.knownHostsFile}\n`);
  });

  it('host key changed: the table fits, the known keys and ssh-keygen -R follow it', async () => {
    writeFileSync(fake.knownHostsFile, fake.knownHostsLine(newKeyPair().public));
    const run = await check(deployment());
    expectReadable(run, /only if the host key was replaced on purpose/);
    expect(run.ssh.message).toMatch(/^REMOTE HOST IDENTIFICATION HAS CHANGED/);
    expect(run.out).toContain(`\n      ${fake.knownHostsFile}:1: ED25519 key SHA256:`);
    expect(run.out).toContain(`\n      ssh-keygen -R '[127.0.0.1]:${fake.port}' -f ${fake.knownHostsFile}\n`);
  });

  it('plan, deploy, status and destroy say the name once and give the fix too', async () => {
    const port = await freePort();
    const plan = await vmctx(deployment({ port }), 'plan');
    expect(plan.out).toContain(`lc1: cannot plan: 127.0.0.1:${port} refused the connection: nothing listens on that port, or a firewall rejects it [SSH_UNREACHABLE]\n  fix: start sshd on 127.0.0.1`);
    const deploy = await vmctx(deployment({ port }), 'deploy');
    expect(deploy.out).toContain(`\nlc1: 127.0.0.1:${port} refused the connection`);
    expect(deploy.out).toContain('\n  fix: start sshd on 127.0.0.1');
    const status = await vmctx(deployment({ port }), 'status');
    expect(status.out).toContain(`\nlc1: 127.0.0.1:${port} refused the connection: nothing listens on that port, or a firewall rejects it [SSH_UNREACHABLE]\n  fix: start sshd on 127.0.0.1`);
    const destroy = await vmctx(deployment({ port }), 'destroy', '--yes');
    expect(destroy.out).toContain(`lc1: 127.0.0.1:${port} refused the connection: nothing listens on that port, or a firewall rejects it [SSH_UNREACHABLE]\n  fix: start sshd on 127.0.0.1`);
    for (const run of [plan, deploy, status, destroy]) expect(run.out + run.err).not.toContain('lc1: lc1');
  });
});
