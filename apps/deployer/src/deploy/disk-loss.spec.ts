/**
 * A replace makes the VM's disk anew, and what its guest wrote there is lost (issue 21: every change recreated the
 * disk, and nothing said so). Plan and --json say it in plain words; deploy does it only when allowed
 * (--allow-disk-loss, or yes on a terminal): otherwise the VM is held as it stands, its disk untouched, and the run
 * fails with DEPLOY_DISK_LOSS. Through the CLI, on the in-process controller (real sh, fake virsh).
 */
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { beforeEach, describe, expect, it } from 'vitest';
import { captureIo, exitCodeOfRun } from '../cli/capture-io.fixture.js';
import type { CommandIo } from '../cli/command-io.js';
import { deployCommand } from '../commands/deploy.js';
import { FakeController, useCliController } from '../controller/fake-controller.fixture.js';
import { createProgram } from '../program.js';

let fake: FakeController;
let dir: string;
useCliController('vmctx-disk-loss-', (f, d) => {
  fake = f;
  dir = d;
});
beforeEach(async () => {
  await writeFile(join(dir, 'other.raw'), 'another base image');
  await truncate(join(dir, 'other.raw'), 2 ** 20);
});

/**
 * Two VMs; `hostname` is web-1's context (a change that keeps its disk), `memory` (MiB) both VMs' (one that keeps
 * it too), `image` web-1's base image file (one that does not).
 */
function deployment(hostname: string, memory = 64, image = 'base.raw'): string {
  const c = fake.controller();
  return `name: disk-loss
controllers:
  - { name: lc1, host: 127.0.0.1, port: ${c.port}, user: root, imageDir: ${c.imageDir}, identityFile: ${c.identityFile}, knownHosts: ${c.knownHosts} }
images:
  - { name: base, path: ${join(dir, 'base.raw')} }
  - { name: other, path: ${join(dir, 'other.raw')} }
defaults: { controller: lc1, image: base, bridge: br0, spec: { memory: { value: ${memory}, unit: MiB } } }
vms:
  - { name: web-1, image: ${image === 'base.raw' ? 'base' : 'other'}, context: { hostname: ${hostname} } }
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
/** What "the guest" wrote on its disk: bytes appended to web-1's overlay, which a kept disk still holds. */
const GUEST_DATA = 'written by the guest';
const writeAsGuest = () => appendFileSync(overlay(), GUEST_DATA);
const guestDataKept = () => readFileSync(overlay()).includes(GUEST_DATA);

describe('a change of the domain alone keeps the disk', () => {
  it('more memory: plan says update (no disk lost), deploy defines it again over the same disk, without being allowed to lose one', async () => {
    expect((await vmctx(deployment('one'), ['deploy'])).exitCode).toBe(0);
    writeAsGuest();
    const before = inode();
    const plan = await vmctx(deployment('one', 128), ['plan']);
    expect(plan.exitCode).toBe(2);
    expect(plan.out).toMatch(/~ update +web-1: domain XML changed: \/domain\/memory: 64 → 128\n/);
    expect(plan.out).not.toMatch(/anew/);
    const deploy = await vmctx(deployment('one', 128), ['deploy', '--json']);
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    const vms = (JSON.parse(deploy.out) as { controllers: { vms: { vm: string; status: string; note?: string }[] }[] }).controllers[0]!.vms;
    expect(vms.map((v) => [v.vm, v.status])).toEqual([['web-1', 'updated'], ['web-2', 'updated']]);
    expect(vms[0]!.note).toMatch(/^still needs a restart for memory 64 MiB → 128 MiB is above the maximum \(64 MiB\)/);
    expect(inode()).toBe(before);
    expect(guestDataKept()).toBe(true);
    expect(fake.commands.filter((c) => c.includes('undefine'))).toEqual([]);
    // Left running (restart: never): the next plan still says what waits for a restart, and nothing else.
    const again = await vmctx(deployment('one', 128), ['plan']);
    expect(again.exitCode).toBe(2);
    expect(again.out).toMatch(/~ update +web-1: still needs a restart that an earlier deploy left pending .*\n +needs a restart: memory 64 MiB → 128 MiB is above the maximum \(64 MiB\)/);
    expect(again.out).not.toMatch(/anew/);
  });
});

describe('a context change keeps the disk (recontextualize)', () => {
  const iso = (dump: string) => /<source file=['"]([^'"]*\.iso)['"]/.exec(dump)?.[1];
  const definition = () => readFileSync(join(fake.state, 'domains', 'web-1.xml'), 'utf8');

  it('the new context CD is uploaded and put in the definition over the same disk, and swapped into the running domain', async () => {
    expect((await vmctx(deployment('one'), ['deploy'])).exitCode).toBe(0);
    writeAsGuest();
    const before = { disk: inode(), iso: iso(definition()) };
    const plan = await vmctx(deployment('two'), ['plan']);
    expect(plan.out).toMatch(/~ recontextualize web-1: context changed \(ISO \w+ → \w+\)/);
    expect(plan.out).not.toMatch(/anew/);
    const deploy = await vmctx(deployment('two'), ['deploy', '--json']);
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    const web1 = (JSON.parse(deploy.out) as { controllers: { vms: { vm: string; status: string; note?: string }[] }[] }).controllers[0]!.vms[0]!;
    expect(web1).toMatchObject({ vm: 'web-1', status: 'updated', note: expect.stringContaining('applied live: context CD hdc swapped; no restart needed') });
    expect(inode()).toBe(before.disk);
    expect(guestDataKept()).toBe(true);
    expect(iso(definition())).not.toBe(before.iso);
    expect(statSync(iso(definition())!).isFile()).toBe(true);
    expect(fake.commands.filter((c) => / shutdown | destroy | undefine /.test(c))).toEqual([]);
    expect(fake.commands.filter((c) => c.includes(' change-media ')).length).toBe(1);
    expect((await vmctx(deployment('two'), ['plan'])).exitCode).toBe(0);
  });

  it('--restart-if-needed restarts a VM whose change needs it: shut down by its guest, or powered off past --shutdown-timeout', async () => {
    expect((await vmctx(deployment('one'), ['deploy'])).exitCode).toBe(0);
    writeAsGuest();
    const before = inode();
    // More memory than the running maximum (a spec's memory is its maximum): only a restart gives it.
    const restarted = await vmctx(deployment('one', 128), ['deploy', '--json', '--restart-if-needed']);
    expect(restarted.exitCode, restarted.out + restarted.err).toBe(0);
    const note = (r: string) => (JSON.parse(r) as { controllers: { vms: { note?: string }[] }[] }).controllers[0]!.vms[0]!.note;
    expect(note(restarted.out)).toMatch(/restarted to take memory 64 MiB → 128 MiB is above the maximum \(64 MiB\) \(shut down by its guest\)/);
    expect(fake.commands.filter((c) => c.includes(' shutdown ')).length).toBe(2);

    // A guest that ignores ACPI (no acpid): powered off once the timeout is past.
    writeFileSync(join(fake.state, 'ignore-shutdown'), 'web-1\n');
    const started = Date.now();
    const forced = await vmctx(deployment('one', 256), ['deploy', '--json', '--restart-if-needed', '--shutdown-timeout', '2']);
    expect(forced.exitCode, forced.out + forced.err).toBe(0);
    expect(note(forced.out)).toMatch(/did not shut down in time: powered off/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(inode()).toBe(before);
    expect(guestDataKept()).toBe(true);
  });
});

describe('a replace that loses the disk', () => {
  it('plan says the disk is made anew; deploy holds the VM (its disk untouched) and fails with DEPLOY_DISK_LOSS', async () => {
    expect((await vmctx(deployment('one'), ['deploy'])).exitCode).toBe(0);
    writeAsGuest();
    const before = inode();

    const plan = await vmctx(deployment('one', 64, 'other.raw'), ['plan']);
    expect(plan.exitCode).toBe(2);
    expect(plan.out).toMatch(/~ replace +web-1: image other changed.*\n +makes its disk .*web-1\.qcow2 anew: what the guest wrote there is lost/);
    const json = JSON.parse((await vmctx(deployment('one', 64, 'other.raw'), ['plan', '--json'])).out) as { controllers: { plan: { steps: { vm: string; action: string; diskLoss: boolean; lostDisk?: string }[] } }[] };
    expect(json.controllers[0]!.plan.steps.find((s) => s.vm === 'web-1')).toMatchObject({ action: 'replace', diskLoss: true, lostDisk: overlay() });

    const held = await vmctx(deployment('one', 64, 'other.raw'), ['deploy', '--json']);
    expect(held.exitCode).toBe(1);
    const report = JSON.parse(held.out) as { controllers: { plan: { steps: { vm: string; action: string }[] }; vms: { vm: string; status: string; error?: { code: string; message: string } }[] }[] };
    expect(report.controllers[0]!.plan.steps.map((s) => [s.vm, s.action])).toEqual([['web-1', 'held'], ['web-2', 'unchanged']]);
    expect(report.controllers[0]!.vms.find((v) => v.vm === 'web-1')).toMatchObject({ status: 'failed', error: { code: 'DEPLOY_DISK_LOSS', message: expect.stringContaining('--allow-disk-loss') } });
    expect(inode()).toBe(before);
    expect(guestDataKept()).toBe(true);
    // Nothing changed: the plan still shows the replace, and the record still says the old context.
    expect((await vmctx(deployment('one', 64, 'other.raw'), ['plan'])).out).toMatch(/~ replace +web-1/);
  });

  it('--allow-disk-loss replaces it: a new disk, and the next plan has no changes', async () => {
    expect((await vmctx(deployment('one'), ['deploy'])).exitCode).toBe(0);
    writeAsGuest();
    const before = inode();
    const replaced = await vmctx(deployment('one', 64, 'other.raw'), ['deploy', '--allow-disk-loss']);
    expect(replaced.exitCode, replaced.out + replaced.err).toBe(0);
    // A new disk (its inode number may be the old one's again: ext4 reuses a freed inode at once).
    expect(guestDataKept()).toBe(false);
    expect((await vmctx(deployment('one', 64, 'other.raw'), ['plan'])).exitCode).toBe(0);
  });

  it('on a terminal, asks once with every VM and disk it would replace, and does only what was agreed', async () => {
    expect((await vmctx(deployment('one'), ['deploy'])).exitCode).toBe(0);
    writeAsGuest();
    const before = inode();
    const asked: string[] = [];
    const answering = (answer: boolean) => (io: CommandIo) => wrap(deployCommand(io, false, { can: true, confirm: async (q) => (asked.push(q), answer) }));

    const no = await vmctx(deployment('one', 64, 'other.raw'), ['deploy'], answering(false));
    expect(no.exitCode).toBe(1);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatch(/would replace 1 VM\(s\), making their disks anew: what their guests wrote there is lost\.\n {2}lc1\/web-1: image other changed .*; its disk .*web-1\.qcow2\nReplace them\?$/);
    expect(inode()).toBe(before);
    expect(guestDataKept()).toBe(true);

    const yes = await vmctx(deployment('one', 64, 'other.raw'), ['deploy'], answering(true));
    expect(yes.exitCode, yes.out + yes.err).toBe(0);
    // A new disk (its inode number may be the old one's again: ext4 reuses a freed inode at once).
    expect(guestDataKept()).toBe(false);
    expect(asked).toHaveLength(2);
  });
});

describe('plan --json for a pipeline', () => {
  it('every step says its class, whether it loses a disk (and which), what is applied live and what needs a restart', async () => {
    expect((await vmctx(deployment('one'), ['deploy'])).exitCode).toBe(0);
    // web-1: a new base image (a new disk); web-2: more memory than it runs with (kept disk, a restart).
    const plan = await vmctx(deployment('one', 128, 'other.raw'), ['plan', '--json']);
    expect(plan.exitCode).toBe(2);
    const steps = (JSON.parse(plan.out) as { controllers: { plan: { steps: Record<string, unknown>[] } }[] }).controllers[0]!.plan.steps;
    expect(steps).toEqual([
      { vm: 'web-1', action: 'replace', reasons: [expect.stringMatching(/^image other changed/), expect.stringMatching(/^domain XML changed/)], diskLoss: true, lostDisk: overlay() },
      { vm: 'web-2', action: 'update', reasons: ['domain XML changed: /domain/memory: 64 → 128'], diskLoss: false, live: [], restartNeeded: ['memory 64 MiB → 128 MiB is above the maximum (64 MiB)'], restart: false, liveChanges: [], domainId: expect.stringMatching(/^\d+$/) },
    ]);
    // What a pipeline asks: does this plan lose a disk?
    expect(steps.filter((s) => s.diskLoss === true).map((s) => s.vm)).toEqual(['web-1']);
  });
});

describe('--replace VM', () => {
  it('makes a VM anew whatever changed, by the same rules: held without leave, replaced with --allow-disk-loss; the other VMs untouched', async () => {
    expect((await vmctx(deployment('one'), ['deploy'])).exitCode).toBe(0);
    writeAsGuest();
    const plan = await vmctx(deployment('one'), ['plan', '--replace', 'web-1']);
    expect(plan.exitCode).toBe(2);
    expect(plan.out).toMatch(/~ replace +web-1: --replace\n +makes its disk .*web-1\.qcow2 anew: what the guest wrote there is lost/);
    expect(plan.out).toMatch(/= unchanged web-2\n/);

    const held = await vmctx(deployment('one'), ['deploy', '--replace', 'web-1', '--json']);
    expect(held.exitCode).toBe(1);
    expect((JSON.parse(held.out) as { controllers: { vms: { vm: string; error?: { code: string } }[] }[] }).controllers[0]!.vms[0]).toMatchObject({ vm: 'web-1', error: { code: 'DEPLOY_DISK_LOSS' } });
    expect(guestDataKept()).toBe(true);

    const replaced = await vmctx(deployment('one'), ['deploy', '--replace', 'web-1', '--allow-disk-loss', '--json']);
    expect(replaced.exitCode, replaced.out + replaced.err).toBe(0);
    expect((JSON.parse(replaced.out) as { controllers: { vms: { vm: string; status: string }[] }[] }).controllers[0]!.vms.map((v) => [v.vm, v.status])).toEqual([
      ['web-1', 'replaced'],
      ['web-2', 'unchanged'],
    ]);
    expect(guestDataKept()).toBe(false);
    expect((await vmctx(deployment('one'), ['plan'])).exitCode).toBe(0);
  });

  it('a name the file does not have is an error that lists the names it has, before any connection', async () => {
    const plan = await vmctx(deployment('one'), ['plan', '--replace', 'web-3', '--replace', 'web-1', '--json']);
    expect(plan.exitCode).toBe(1);
    expect(JSON.parse(plan.out)).toMatchObject({ error: { code: 'DEPLOY_UNKNOWN_VM', message: '--replace web-3: no VM of disk-loss has that name; its VMs are web-1, web-2' } });
    // deploy exits as any bad input does (2); plan says every error with 1, never its 'changes' 2.
    const deploy = await vmctx(deployment('one'), ['deploy', '--replace', 'web-3']);
    expect(deploy.exitCode).toBe(2);
    expect(deploy.err).toMatch(/DEPLOY_UNKNOWN_VM/);
    expect(fake.commands).toEqual([]);
  });
});

/** `command` under a program of its own, so that `deploy ...` parses as it does through `vmctx`. */
function wrap(command: Command): Command {
  return new Command('vmctx').addCommand(command);
}
