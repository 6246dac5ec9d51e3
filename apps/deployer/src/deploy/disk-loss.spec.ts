/**
 * A replace makes the VM's disk anew, and what its guest wrote there is lost (issue 21: every change recreated the
 * disk, and nothing said so). Plan and --json say it in plain words; deploy does it only when allowed
 * (--allow-disk-loss, or yes on a terminal): otherwise the VM is held as it stands, its disk untouched, and the run
 * fails with DEPLOY_DISK_LOSS. Through the CLI, on the in-process controller (real sh, fake virsh).
 */
import { statSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { captureIo, exitCodeOfRun } from '../cli/capture-io.fixture.js';
import type { CommandIo } from '../cli/command-io.js';
import { deployCommand } from '../commands/deploy.js';
import { FakeController, putLink } from '../controller/fake-controller.fixture.js';
import { createProgram } from '../program.js';

let fake: FakeController;
let dir: string;
beforeAll(async () => {
  fake = await FakeController.start();
  fake.trustHostKey();
});
afterAll(() => fake.close());
beforeEach(async () => {
  fake.reset();
  putLink(fake, 'br0', 'bridge', true);
  dir = await mkdtemp(join(tmpdir(), 'vmctx-disk-loss-'));
  await writeFile(join(dir, 'base.raw'), '');
  await truncate(join(dir, 'base.raw'), 2 ** 20);
  return () => rm(dir, { recursive: true, force: true });
});

/** Two VMs; `hostname` is web-1's context, the change that replaces it; `memory` (MiB) a change that does not. */
function deployment(hostname: string, memory = 64): string {
  const c = fake.controller();
  return `name: disk-loss
controllers:
  - { name: lc1, host: 127.0.0.1, port: ${c.port}, user: root, imageDir: ${c.imageDir}, identityFile: ${c.identityFile}, knownHosts: ${c.knownHosts} }
images:
  - { name: base, path: ${join(dir, 'base.raw')} }
defaults: { controller: lc1, image: base, bridge: br0, spec: { memory: { value: ${memory}, unit: MiB } } }
vms:
  - { name: web-1, context: { hostname: ${hostname} } }
  - { name: web-2 }
`;
}

async function vmctx(text: string, args: string[], command: (io: CommandIo) => Command = createProgram) {
  await writeFile(join(dir, 'deployment.yaml'), text);
  const io = captureIo();
  const exitCode = await exitCodeOfRun(command(io).parseAsync([...args, '-f', join(dir, 'deployment.yaml'), '--cache', join(dir, 'cache')], { from: 'user' }));
  return { exitCode, out: io.out, err: io.err };
}

const overlay = () => join(fake.imageDir, 'web-1.qcow2');
const inode = () => statSync(overlay()).ino;

describe('a change of the domain alone keeps the disk', () => {
  it('more memory: plan says update (no disk lost), deploy defines it again over the same disk, without being allowed to lose one', async () => {
    expect((await vmctx(deployment('one'), ['deploy'])).exitCode).toBe(0);
    const before = inode();
    const plan = await vmctx(deployment('one', 128), ['plan']);
    expect(plan.exitCode).toBe(2);
    expect(plan.out).toMatch(/~ update +web-1: domain XML changed: \/domain\/memory: 64 → 128\n/);
    expect(plan.out).not.toMatch(/anew/);
    const deploy = await vmctx(deployment('one', 128), ['deploy', '--json']);
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    const vms = (JSON.parse(deploy.out) as { controllers: { vms: { vm: string; status: string; note?: string }[] }[] }).controllers[0]!.vms;
    expect(vms.map((v) => [v.vm, v.status])).toEqual([['web-1', 'updated'], ['web-2', 'updated']]);
    expect(vms[0]!.note).toMatch(/next restart/);
    expect(inode()).toBe(before);
    expect(fake.commands.filter((c) => c.includes('undefine'))).toEqual([]);
    expect((await vmctx(deployment('one', 128), ['plan'])).exitCode).toBe(0);
  });
});

describe('a replace that loses the disk', () => {
  it('plan says the disk is made anew; deploy holds the VM (its disk untouched) and fails with DEPLOY_DISK_LOSS', async () => {
    expect((await vmctx(deployment('one'), ['deploy'])).exitCode).toBe(0);
    const before = inode();

    const plan = await vmctx(deployment('two'), ['plan']);
    expect(plan.exitCode).toBe(2);
    expect(plan.out).toMatch(/~ replace +web-1: context changed.*\n +makes its disk .*web-1\.qcow2 anew: what the guest wrote there is lost/);
    const json = JSON.parse((await vmctx(deployment('two'), ['plan', '--json'])).out) as { controllers: { plan: { steps: { vm: string; action: string; diskLoss?: string }[] } }[] };
    expect(json.controllers[0]!.plan.steps.find((s) => s.vm === 'web-1')).toMatchObject({ action: 'replace', diskLoss: overlay() });

    const held = await vmctx(deployment('two'), ['deploy', '--json']);
    expect(held.exitCode).toBe(1);
    const report = JSON.parse(held.out) as { controllers: { plan: { steps: { vm: string; action: string }[] }; vms: { vm: string; status: string; error?: { code: string; message: string } }[] }[] };
    expect(report.controllers[0]!.plan.steps.map((s) => [s.vm, s.action])).toEqual([['web-1', 'held'], ['web-2', 'unchanged']]);
    expect(report.controllers[0]!.vms.find((v) => v.vm === 'web-1')).toMatchObject({ status: 'failed', error: { code: 'DEPLOY_DISK_LOSS', message: expect.stringContaining('--allow-disk-loss') } });
    expect(inode()).toBe(before);
    // Nothing changed: the plan still shows the replace, and the record still says the old context.
    expect((await vmctx(deployment('two'), ['plan'])).out).toMatch(/~ replace +web-1/);
  });

  it('--allow-disk-loss replaces it: a new disk, and the next plan has no changes', async () => {
    expect((await vmctx(deployment('one'), ['deploy'])).exitCode).toBe(0);
    const before = inode();
    const replaced = await vmctx(deployment('two'), ['deploy', '--allow-disk-loss']);
    expect(replaced.exitCode, replaced.out + replaced.err).toBe(0);
    expect(inode()).not.toBe(before);
    expect((await vmctx(deployment('two'), ['plan'])).exitCode).toBe(0);
  });

  it('on a terminal, asks once with every VM and disk it would replace, and does only what was agreed', async () => {
    expect((await vmctx(deployment('one'), ['deploy'])).exitCode).toBe(0);
    const before = inode();
    const asked: string[] = [];
    const answering = (answer: boolean) => (io: CommandIo) => wrap(deployCommand(io, false, { can: true, confirm: async (q) => (asked.push(q), answer) }));

    const no = await vmctx(deployment('two'), ['deploy'], answering(false));
    expect(no.exitCode).toBe(1);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatch(/would replace 1 VM\(s\), making their disks anew: what their guests wrote there is lost\.\n {2}lc1\/web-1: context changed .*; its disk .*web-1\.qcow2\nReplace them\?$/);
    expect(inode()).toBe(before);

    const yes = await vmctx(deployment('two'), ['deploy'], answering(true));
    expect(yes.exitCode, yes.out + yes.err).toBe(0);
    expect(inode()).not.toBe(before);
    expect(asked).toHaveLength(2);
  });
});

/** `command` under a program of its own, so that `deploy ...` parses as it does through `vmctx`. */
function wrap(command: Command): Command {
  return new Command('vmctx').addCommand(command);
}
