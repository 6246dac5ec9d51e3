/**
 * An update of a running VM applies live what libvirt can (issue 21): memory and vCPUs within the running maximum
 * (virsh setmem / setvcpus --live), a new context CD swapped into its drive (virsh change-media --update --live
 * --config); what cannot be (a new maximum, the machine type) waits for a restart, which deploy does only when the
 * deployment allows it, and otherwise says. Through the CLI, on the in-process controller (real sh, fake virsh
 * that keeps a running domain's live definition apart from its persistent one).
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureIo, exitCodeOfRun } from '../cli/capture-io.fixture.js';
import { FakeController, fakeDeploymentHead, useCliController } from '../controller/fake-controller.fixture.js';
import { createProgram } from '../program.js';
import type { DeployReport } from './deploy.js';

let fake: FakeController;
let dir: string;
useCliController('vmctx-live-', (f, d) => {
  fake = f;
  dir = d;
});

interface Guest {
  /** MiB: the maximum (`<memory>`) and the balloon (`<currentMemory>`). */
  maxMib?: number;
  mib?: number;
  vcpus?: number;
  onlineVcpus?: number;
  machine?: string;
  hostname?: string;
}

/** One VM from a native template with room to grow: 256 MiB of maximum, 128 given; 2 vCPUs, 1 online. */
async function deployment(g: Guest = {}, extra = '', vmExtra = ''): Promise<string> {
  await writeFile(
    join(dir, 'guest.xml'),
    `<domain type='qemu'>
  <name>guest</name>
  <memory unit='MiB'>${g.maxMib ?? 256}</memory>
  <currentMemory unit='MiB'>${g.mib ?? 128}</currentMemory>
  <vcpu current='${g.onlineVcpus ?? 1}'>${g.vcpus ?? 2}</vcpu>
  <os><type arch='x86_64' machine='${g.machine ?? 'pc'}'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/x/guest.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/x/context.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>
    <interface type='bridge'><source bridge='br0'/><model type='virtio'/></interface>
  </devices>
</domain>
`,
  );
  return `${fakeDeploymentHead(fake, dir, 'live')}defaults: { controller: lc1, image: base, template: ./guest.xml, bridge: br0${extra} }
vms:
  - { name: web-1, context: { hostname: ${g.hostname ?? 'one'} }${vmExtra} }
`;
}

async function vmctx(text: string, args: string[]) {
  await writeFile(join(dir, 'deployment.yaml'), text);
  const io = captureIo();
  const exitCode = await exitCodeOfRun(createProgram(io).parseAsync([...args, '-f', join(dir, 'deployment.yaml'), '--cache', join(dir, 'cache')], { from: 'user' }));
  return { exitCode, out: io.out, err: io.err };
}

/** The running domain's definition as libvirt gives it now (the fake virsh's `dumpxml` without --inactive). */
const liveXml = () => execFileSync('sh', [join(fake.root, 'bin', 'virsh'), 'dumpxml', '--domain', 'web-1'], { env: { ...process.env, VMCTX_FAKE_STATE: fake.state }, encoding: 'utf8' });
const changes = () => fake.commands.filter((c) => / (setmem|setvcpus|change-media|shutdown|destroy|undefine|start) /.test(c)).map((c) => c.replace(/^timeout -k 5 \d+ /, '').replace(/[0-9a-f-]{36}/, 'UUID'));
type Step = DeployReport['controllers'][number]['plan'] extends infer P ? (P extends { steps: (infer S)[] } ? S : never) : never;
const step = (out: string): Step => (JSON.parse(out) as DeployReport).controllers[0]!.plan!.steps[0]!;
const outcome = (out: string) => (JSON.parse(out) as DeployReport).controllers[0]!.vms[0]!;

describe('applied live', () => {
  it('memory and vCPUs within the running maximum: set on the running domain and in its definition, no restart', async () => {
    expect((await vmctx(await deployment(), ['deploy'])).exitCode).toBe(0);
    fake.commands.length = 0;
    const grown = await deployment({ mib: 192, onlineVcpus: 2 });

    const plan = await vmctx(grown, ['plan', '--json']);
    expect(plan.exitCode).toBe(2);
    expect(step(plan.out)).toMatchObject({ action: 'update', diskLoss: false, live: ['memory 128 MiB → 192 MiB', 'vCPUs 1 → 2'], restartNeeded: [], restart: false });
    expect((await vmctx(grown, ['plan'])).out).toMatch(/~ update +web-1: .*\n +applied live: memory 128 MiB → 192 MiB; vCPUs 1 → 2\n/);

    const deploy = await vmctx(grown, ['deploy', '--json']);
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    expect(outcome(deploy.out)).toMatchObject({ status: 'updated', state: 'running', note: expect.stringMatching(/^applied live: memory 128 MiB → 192 MiB; vCPUs 1 → 2; no restart needed/) });
    expect(outcome(deploy.out).restartNeeded).toBeUndefined();
    expect(changes()).toEqual(['virsh setmem --domain UUID --size 196608KiB --live', 'virsh setvcpus --domain UUID --count 2 --live']);
    expect(await liveXml()).toMatch(/<currentMemory unit='KiB'>196608<\/currentMemory>\n\s*<vcpu current='2'>2<\/vcpu>/);
    expect((await vmctx(grown, ['plan'])).exitCode).toBe(0);
  });

  it("a tray the guest holds locked for a moment (udev's probe after its boot) is asked again; still locked, it fails", async () => {
    expect((await vmctx(await deployment(), ['deploy'])).exitCode).toBe(0);
    const asked = () => fake.commands.filter((c) => c.includes('virsh change-media')).length;
    writeFileSync(join(fake.state, 'tray-locked'), '2\n');
    fake.commands.length = 0;
    const deploy = await vmctx(await deployment({ hostname: 'two' }), ['deploy', '--json']);
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    expect(outcome(deploy.out)).toMatchObject({ status: 'updated', note: expect.stringMatching(/^applied live: context CD hdc swapped/) });
    expect(asked()).toBe(3);
    // Asked five times in all (after 1, 2, 4 and 8 s), then the error.
    writeFileSync(join(fake.state, 'tray-locked'), '9\n');
    fake.commands.length = 0;
    const locked = await vmctx(await deployment({ hostname: 'three' }), ['deploy', '--json']);
    expect(locked.exitCode).toBe(1);
    expect(outcome(locked.out).error?.message).toMatch(/timed out waiting to open tray of 'hdc'[\s\S]*failed at applying context CD hdc swapped live/);
    expect(asked()).toBe(5);
  }, 60_000);

  it('a VM from a spec grows live too, within the memory and vcpu its spec gives (currentMemory, currentVcpu)', async () => {
      const specDeployment = (mib: number, vcpus: number) => `${fakeDeploymentHead(fake, dir, 'live')}defaults: { controller: lc1, image: base, bridge: br0, spec: { type: qemu, memory: { value: 256, unit: MiB }, currentMemory: { value: ${mib}, unit: MiB }, vcpu: 2, currentVcpu: ${vcpus} } }
vms:
  - { name: web-1, context: { hostname: one } }
`;
    expect((await vmctx(specDeployment(128, 1), ['deploy'])).exitCode).toBe(0);
    fake.commands.length = 0;
    const deploy = await vmctx(specDeployment(192, 2), ['deploy', '--json']);
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    expect(step(deploy.out)).toMatchObject({ action: 'update', diskLoss: false, live: ['memory 128 MiB → 192 MiB', 'vCPUs 1 → 2'], restartNeeded: [] });
    expect(outcome(deploy.out)).toMatchObject({ status: 'updated', state: 'running', note: expect.stringMatching(/^applied live: memory 128 MiB → 192 MiB; vCPUs 1 → 2; no restart needed/) });
    expect(changes()).toEqual(['virsh setmem --domain UUID --size 196608KiB --live', 'virsh setvcpus --domain UUID --count 2 --live']);
    expect((await vmctx(specDeployment(192, 2), ['plan'])).exitCode).toBe(0);
  });

  it('a new context: the new CD is swapped into the running domain (change-media --update --live --config) after its definition', async () => {
    expect((await vmctx(await deployment(), ['deploy'])).exitCode).toBe(0);
    fake.commands.length = 0;
    const edited = await deployment({ hostname: 'two' });
    expect(step((await vmctx(edited, ['plan', '--json'])).out)).toMatchObject({ action: 'recontextualize', live: ['context CD hdc swapped'], restartNeeded: [] });
    const deploy = await vmctx(edited, ['deploy', '--json']);
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    const iso = /<source file='([^']*\.iso)'/.exec(await liveXml())![1]!;
    expect(iso).not.toMatch(/context\.iso$/);
    expect(changes()).toEqual([`virsh change-media --domain UUID --path hdc --source ${iso} --update --live --config`]);
    const defined = fake.commands.findIndex((c) => c.includes('virsh define'));
    expect(defined).toBeGreaterThanOrEqual(0);
    expect(defined).toBeLessThan(fake.commands.findIndex((c) => c.includes('change-media')));
    expect(outcome(deploy.out).note).toMatch(/^applied live: context CD hdc swapped; no restart needed/);
  });
});

describe('deploy --wait after a context CD was swapped into the running guest', () => {
  const log = () => join(fake.imageDir, 'web-1.console.log');
  /** The guest: a second after change-media ran (a guest takes seconds), these lines follow what its boot wrote. */
  function guestSaysAfterSwap(lines: string[]): () => void {
    let later: NodeJS.Timeout | undefined;
    const timer = setInterval(() => {
      if (!fake.commands.some((c) => c.includes('change-media'))) return;
      clearInterval(timer);
      later = setTimeout(() => appendFileSync(log(), lines.map((l) => `${l}\n`).join('')), 1000);
    }, 100);
    return () => {
      clearInterval(timer);
      clearTimeout(later);
    };
  }
  const BOOT = ['vmctx: contextualization starts (label CONTEXT)', 'vmctx: post-install done (instance ctx-old)'];

  it('waits for the re-apply line that follows the swap, not the boot line before it', async () => {
    expect((await vmctx(await deployment(), ['deploy'])).exitCode).toBe(0);
    writeFileSync(log(), `${BOOT.join('\n')}\n`);
    const stop = guestSaysAfterSwap(['vmctx: instance ctx-new replaces ctx-old: applying it without a reboot', 'vmctx: address 198.51.100.7/24 on eth0', 'vmctx: post-install done (instance ctx-new)']);
    const deploy = await vmctx(await deployment({ hostname: 'two' }), ['deploy', '--json', '--wait', '--timeout', '20']);
    stop();
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    expect(outcome(deploy.out)).toMatchObject({ status: 'updated', contextualized: true, address: '198.51.100.7', note: expect.stringMatching(/^applied live: context CD hdc swapped; no restart needed/) });
    expect(outcome(deploy.out).restartNeeded).toBeUndefined();
    expect((await vmctx(await deployment({ hostname: 'two' }), ['plan'])).exitCode).toBe(0);
  });

  it.each([
    ['an image without the live re-apply says nothing', [], /it said nothing of it on its console within 2 s/],
    ['a cloud-init guest stands down', ['vmctx: cidata CD: cloud-init applies an edited context at its next boot only; vmctx stands down'], /it said "cidata CD: cloud-init applies an edited context at its next boot only"/],
  ] as const)('%s: not a failure, the outcome says it applies at its next boot, and the next plan still says so', async (_, lines, why) => {
    expect((await vmctx(await deployment(), ['deploy'])).exitCode).toBe(0);
    writeFileSync(log(), `${BOOT.join('\n')}\n`);
    const stop = guestSaysAfterSwap([...lines]);
    const edited = await deployment({ hostname: 'two' });
    const deploy = await vmctx(edited, ['deploy', '--json', '--wait', '--timeout', '2']);
    stop();
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    const o = outcome(deploy.out);
    expect(o).toMatchObject({ status: 'updated', state: 'running', contextualized: false });
    expect(o.restartNeeded).toEqual([expect.stringMatching(/^context: the guest did not apply the new context CD live \(/)]);
    expect(o.restartNeeded![0]).toMatch(why);
    expect(o.restartNeeded![0]).toMatch(/it applies it at its next boot$/);
    expect(o.note).toMatch(/still needs a restart for context: .*restart: when-needed or deploy --restart-if-needed does it/);
    const text = await vmctx(edited, ['plan']);
    expect(text.exitCode).toBe(2);
    expect(text.out).toMatch(/needs a restart: context: the guest did not apply the new context CD live/);
    fake.commands.length = 0;
    expect((await vmctx(edited, ['deploy', '--restart-if-needed'])).exitCode).toBe(0);
    expect(changes().map((c) => c.split(' ')[1])).toEqual(['shutdown', 'start']);
    expect((await vmctx(edited, ['plan'])).exitCode).toBe(0);
  });
});

describe('a stock cloud-init guest (its console: cloud-init\'s "finished" line, nothing of vmctx\'s script)', () => {
  const CLOUD_BOOT = 'Cloud-init v. 22.4.2 finished at Mon, 07 Dec 2026 10:00:00 +0000. Datasource DataSourceNoCloud [seed=/dev/sr0][dsmode=net].  Up 38.66 seconds\n';
  const reason = /^context: the guest did not apply the new context CD live \(its console shows cloud-init alone, which reads a new seed at its next boot only\)/;

  it('deploy --wait does not wait for a re-apply that cannot come: it says so at once, and the CD waits for the next boot', async () => {
    expect((await vmctx(await deployment(), ['deploy'])).exitCode).toBe(0);
    // The CD's runner prints vmctx's words from cloud-init's runcmd: not the script's own "contextualization starts".
    writeFileSync(join(fake.imageDir, 'web-1.console.log'), `vmctx: cloud-init scripts done\n${CLOUD_BOOT}`);
    const started = Date.now();
    const deploy = await vmctx(await deployment({ hostname: 'two' }), ['deploy', '--json', '--wait', '--timeout', '60']);
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    // Far under the 60 s it would wait for a guest that may still speak.
    expect(Date.now() - started).toBeLessThan(30_000);
    const o = outcome(deploy.out);
    expect(o).toMatchObject({ status: 'updated', state: 'running', contextualized: false });
    expect(o.restartNeeded).toEqual([expect.stringMatching(reason)]);
  });

  it('without --wait too: restart: when-needed restarts it in the same deploy', async () => {
    expect((await vmctx(await deployment({}, ', restart: when-needed'), ['deploy'])).exitCode).toBe(0);
    writeFileSync(join(fake.imageDir, 'web-1.console.log'), CLOUD_BOOT);
    fake.commands.length = 0;
    const deploy = await vmctx(await deployment({ hostname: 'two' }, ', restart: when-needed'), ['deploy', '--json']);
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    expect(changes().map((c) => c.split(' ')[1])).toEqual(['change-media', 'shutdown', 'start']);
    expect(outcome(deploy.out)).toMatchObject({ status: 'updated', state: 'running', note: expect.stringMatching(/^restarted to take context: the guest did not apply the new context CD live \(its console shows cloud-init alone/) });
  });

  it("a guest whose console shows vmctx's script too is waited for as before (it may re-apply, or stand down and say so)", async () => {
    expect((await vmctx(await deployment(), ['deploy'])).exitCode).toBe(0);
    writeFileSync(join(fake.imageDir, 'web-1.console.log'), `vmctx: contextualization starts (label cidata)\n${CLOUD_BOOT}`);
    const deploy = await vmctx(await deployment({ hostname: 'two' }), ['deploy', '--json', '--wait', '--timeout', '2']);
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    expect(outcome(deploy.out).restartNeeded).toEqual([expect.stringMatching(/it said nothing of it on its console within 2 s/)]);
  });
});

describe('a swapped CD the guest did not apply live, where the deployment allows a restart', () => {
  it('restart: when-needed restarts it in the same deploy, for the context at its boot', async () => {
    expect((await vmctx(await deployment({}, ', restart: when-needed'), ['deploy'])).exitCode).toBe(0);
    writeFileSync(join(fake.imageDir, 'web-1.console.log'), 'vmctx: post-install done (instance ctx-old)\n');
    fake.commands.length = 0;
    const edited = await deployment({ hostname: 'two' }, ', restart: when-needed');
    const deploy = await vmctx(edited, ['deploy', '--json', '--wait', '--timeout', '2']);
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    expect(changes().map((c) => c.split(' ')[1])).toEqual(['change-media', 'shutdown', 'start']);
    const o = outcome(deploy.out);
    expect(o).toMatchObject({ status: 'updated', state: 'running', contextualized: true, note: expect.stringMatching(/^restarted to take context: the guest did not apply the new context CD live \(it said nothing of it on its console within 2 s\)/) });
    expect(o.restartNeeded).toBeUndefined();
    expect((await vmctx(edited, ['plan'])).exitCode).toBe(0);
  });
});

describe('what needs a restart', () => {
  it('memory above the maximum and a new machine type: left running by default, and the report and --json say why', async () => {
    expect((await vmctx(await deployment(), ['deploy'])).exitCode).toBe(0);
    fake.commands.length = 0;
    const bigger = await deployment({ maxMib: 1024, mib: 512, machine: 'pc-i440fx-7.2' });
    const plan = await vmctx(bigger, ['plan', '--json']);
    expect(step(plan.out)).toMatchObject({ action: 'update', live: [], restartNeeded: ['memory 128 MiB → 512 MiB is above the maximum (256 MiB)', 'machine type pc → pc-i440fx-7.2'], restart: false });
    expect((await vmctx(bigger, ['plan'])).out).toMatch(/\n +needs a restart: memory 128 MiB → 512 MiB is above the maximum \(256 MiB\); machine type pc → pc-i440fx-7.2 \(deploy leaves it running: restart never\)\n/);
    const deploy = await vmctx(bigger, ['deploy', '--json']);
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    expect(outcome(deploy.out)).toMatchObject({ status: 'updated', state: 'running', restartNeeded: ['memory 128 MiB → 512 MiB is above the maximum (256 MiB)', 'machine type pc → pc-i440fx-7.2'] });
    expect(changes()).toEqual([]);
    const text = await vmctx(await deployment({ maxMib: 1024, mib: 1024 }), ['deploy']);
    expect(text.out).toMatch(/lc1\/web-1: still needs a restart for memory 128 MiB → 1024 MiB is above the maximum \(256 MiB\)/);
  });

  it('--restart-if-needed: shut down and started again, and it then runs with the new maximum', async () => {
    expect((await vmctx(await deployment(), ['deploy'])).exitCode).toBe(0);
    fake.commands.length = 0;
    const deploy = await vmctx(await deployment({ maxMib: 1024, mib: 512 }), ['deploy', '--json', '--restart-if-needed']);
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    expect(step(deploy.out)).toMatchObject({ restartNeeded: ['memory 128 MiB → 512 MiB is above the maximum (256 MiB)'], restart: true });
    expect(outcome(deploy.out)).toMatchObject({ status: 'updated', state: 'running', note: expect.stringMatching(/^restarted to take memory 128 MiB → 512 MiB is above the maximum/) });
    expect(changes().map((c) => c.split(' ')[1])).toEqual(['shutdown', 'start']);
    expect(await liveXml()).toMatch(/<memory unit=.MiB.>1024<\/memory>/);
  });

  it('a restart left pending (restart: never) is remembered: the next plan shows it, deploy --restart-if-needed does it, then nothing is left', async () => {
    expect((await vmctx(await deployment(), ['deploy'])).exitCode).toBe(0);
    const bigger = await deployment({ maxMib: 512, mib: 512 });
    const kept = await vmctx(bigger, ['deploy', '--json']);
    expect(outcome(kept.out)).toMatchObject({ status: 'updated', restartNeeded: ['memory 128 MiB → 512 MiB is above the maximum (256 MiB)'] });
    fake.commands.length = 0;

    const plan = await vmctx(bigger, ['plan', '--json']);
    expect(plan.exitCode).toBe(2);
    expect(step(plan.out)).toMatchObject({ action: 'update', diskLoss: false, restartNeeded: ['memory 128 MiB → 512 MiB is above the maximum (256 MiB)'], restart: false });
    expect((await vmctx(bigger, ['plan'])).out).toMatch(/~ update +web-1: .*restart.*\n +needs a restart: memory 128 MiB → 512 MiB is above the maximum \(256 MiB\)/);
    expect(changes()).toEqual([]);

    const restarted = await vmctx(bigger, ['deploy', '--json', '--restart-if-needed']);
    expect(restarted.exitCode, restarted.out + restarted.err).toBe(0);
    expect(outcome(restarted.out)).toMatchObject({ status: 'updated', state: 'running', note: expect.stringMatching(/^restarted to take memory 128 MiB → 512 MiB/) });
    expect(changes().map((c) => c.split(' ')[1])).toEqual(['shutdown', 'start']);
    expect(liveXml()).toMatch(/<memory unit=.MiB.>512<\/memory>/);

    const after = await vmctx(bigger, ['plan', '--json']);
    expect(after.exitCode).toBe(0);
    expect(step(after.out)).toMatchObject({ action: 'unchanged' });
  });

  it('a pending restart is forgotten once the domain was restarted by other means (its domain id changed)', async () => {
    expect((await vmctx(await deployment(), ['deploy'])).exitCode).toBe(0);
    const bigger = await deployment({ maxMib: 512, mib: 512 });
    expect((await vmctx(bigger, ['deploy'])).exitCode).toBe(0);
    const virsh = (...args: string[]) => execFileSync('sh', [join(fake.root, 'bin', 'virsh'), ...args], { env: { ...process.env, VMCTX_FAKE_STATE: fake.state } });
    virsh('destroy', '--domain', 'web-1');
    virsh('start', '--domain', 'web-1');
    const plan = await vmctx(bigger, ['plan', '--json']);
    expect(plan.exitCode, plan.out).toBe(0);
    expect(step(plan.out)).toMatchObject({ action: 'unchanged' });
  });

  it('restart: when-needed in the defaults restarts it without the flag; restart: never on the VM itself keeps it running', async () => {
    expect((await vmctx(await deployment(), ['deploy'])).exitCode).toBe(0);
    fake.commands.length = 0;
    const kept = await vmctx(await deployment({ maxMib: 512, mib: 512 }, ', restart: when-needed', ', restart: never'), ['deploy', '--json']);
    expect(kept.exitCode, kept.out + kept.err).toBe(0);
    expect(step(kept.out)).toMatchObject({ restartNeeded: ['memory 128 MiB → 512 MiB is above the maximum (256 MiB)'], restart: false });
    expect(changes()).toEqual([]);

    const restarted = await vmctx(await deployment({ maxMib: 1024, mib: 1024 }, ', restart: when-needed'), ['deploy', '--json']);
    expect(restarted.exitCode, restarted.out + restarted.err).toBe(0);
    expect(step(restarted.out)).toMatchObject({ restartNeeded: ['memory 128 MiB → 1024 MiB is above the maximum (256 MiB)'], restart: true });
    expect(outcome(restarted.out)).toMatchObject({ status: 'updated', state: 'running', note: expect.stringMatching(/^restarted to take memory/) });
    expect(changes().map((c) => c.split(' ')[1])).toEqual(['shutdown', 'start']);
  });
});
