import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { VmArtifacts } from '../artifacts/build.js';
import { DEMO, vmArtifacts, type VmSketch } from '../artifacts/vm-artifacts.fixture.js';
import { ControllerConnection } from '../controller/connection.js';
import { closeFakeSession, domainFile, failVirsh, FakeController, openFakeSession, putLink } from '../controller/fake-controller.fixture.js';
import { preflight } from '../controller/preflight.js';
import { applyOnController, type ApplyResult } from './apply.js';
import type { DeployEvent } from './events.js';
import { planController, settleLeftovers, type ControllerPlan } from './plan.js';
import { readState, statePath } from './state.js';

let fake: FakeController;
let connection: ControllerConnection;
let local: string;
let events: DeployEvent[];
let plan: ControllerPlan;

beforeAll(async () => {
  ({ fake, connection, local } = await openFakeSession('vmctx-apply-spec-'));
});
afterAll(() => closeFakeSession({ fake, connection, local }));
beforeEach(() => {
  fake.reset();
  putLink(fake, 'br0', 'bridge', true);
  events = [];
});

function vm(name: string, more: Partial<VmSketch> = {}): VmArtifacts {
  return vmArtifacts({ name, local, controller: connection.controller, ...more });
}

/** Preflight, state file, plan, then apply, as deploy runs them; preflight must pass. */
async function deploy(vms: VmArtifacts[]): Promise<ApplyResult> {
  const [state, recorded] = await Promise.all([preflight(connection, DEMO, vms), readState(connection, DEMO)]);
  settleLeftovers(state, recorded);
  expect(state.findings.filter((f) => f.severity === 'error')).toEqual([]);
  plan = planController(DEMO, vms, state, recorded);
  fake.commands.length = 0;
  return applyOnController(connection, state, plan, vms, { events: (e) => events.push(e), recorded, wait: false, waitTimeoutMs: 1000, deployment: DEMO });
}

/** The image folder, without the deployment's state folder (.vmctx). */
const images = () => readdirSync(fake.imageDir).filter((f) => f !== '.vmctx').sort();
const recordedVms = () => (existsSync(statePath(fake.imageDir, 'demo')) ? Object.keys((JSON.parse(readFileSync(statePath(fake.imageDir, 'demo'), 'utf8')) as { vms: object }).vms).sort() : []);
const domains = () => readdirSync(join(fake.state, 'domains')).filter((f) => f.endsWith('.xml')).map((f) => basename(f, '.xml')).sort();
const domainState = (name: string) => readFileSync(join(fake.state, 'domains', `${name}.state`), 'utf8').trim();
const virshLog = () => (existsSync(join(fake.state, 'virsh.log')) ? readFileSync(join(fake.state, 'virsh.log'), 'utf8').trim().split('\n') : []);
const uploads = () => fake.commands.filter((c) => c.includes('vmctx-upload'));
const changes = () => virshLog().filter((l) => /^virsh (define|start|destroy|undefine)\b/.test(l));
const outcomeOf = (r: ApplyResult, name: string) => r.vms.find((o) => o.vm === name)!;

describe('applyOnController', () => {
  it('creates: uploads each file once, defines and starts every VM', async () => {
    const vms = [vm('web-1', { iso: 'shared context' }), vm('web-2', { iso: 'shared context' })];
    const result = await deploy(vms);
    expect(result.vms.map((o) => [o.vm, o.status, o.state, o.error])).toEqual([
      ['web-1', 'created', 'running', undefined],
      ['web-2', 'created', 'running', undefined],
    ]);
    const [a, b] = vms as [VmArtifacts, VmArtifacts];
    expect(result.uploaded.map((u) => u.path).sort()).toEqual([a.base.remotePath, a.iso!.remotePath, a.overlay.remotePath, b.overlay.remotePath].sort());
    expect(uploads()).toHaveLength(4);
    expect(images()).toEqual([a.base, a.iso!, a.overlay, b.overlay].map((f) => basename(f.remotePath)).sort());
    for (const f of [a.base, a.iso!, a.overlay, b.overlay]) {
      expect(readFileSync(f.remotePath).equals(readFileSync(f.localPath))).toBe(true);
      expect((statSync(f.remotePath).mode & 0o777).toString(8)).toBe(f.mode.slice(1));
    }
    expect(readFileSync(domainFile(fake, 'web-1'), 'utf8')).toBe(a.xml);
    expect(domains()).toEqual(['web-1', 'web-2']);
    expect(domainState('web-1')).toBe('running');
    expect(recordedVms()).toEqual(['web-1', 'web-2']);
    expect(events.filter((e) => e.type === 'vm' && e.vm === 'web-1').map((e) => (e as { phase: string }).phase)).toEqual(['defining', 'starting', 'running']);
  });

  it('leaves unchanged VMs alone: nothing uploaded, defined or started', async () => {
    const vms = [vm('web-1', { iso: 'ctx' }), vm('web-2', { iso: 'ctx' })];
    await deploy(vms);
    const before = virshLog().length;
    const again = await deploy([vm('web-1', { iso: 'ctx' }), vm('web-2', { iso: 'ctx' })]);
    expect(again.vms.map((o) => [o.vm, o.status, o.state])).toEqual([
      ['web-1', 'unchanged', 'running'],
      ['web-2', 'unchanged', 'running'],
    ]);
    expect(again.uploaded).toEqual([]);
    expect(uploads()).toEqual([]);
    expect(virshLog().slice(before).filter((l) => /^virsh (define|start|destroy|undefine)/.test(l))).toEqual([]);
  });

  it('starts an unchanged VM that is shut off, and defines nothing', async () => {
    await deploy([vm('web-1')]);
    await connection.run(['virsh', 'destroy', 'web-1']);
    const before = virshLog().length;
    const again = await deploy([vm('web-1')]);
    expect(again.vms.map((o) => [o.status, o.state])).toEqual([['unchanged', 'running']]);
    // Addressed by its UUID, as the value of --domain: never by a name virsh could read as an option or an id.
    expect(virshLog().slice(before).filter((l) => /^virsh (define|start|destroy|undefine)/.test(l))).toEqual([`virsh start --domain ${vm('web-1').uuid}`]);
  });

  it('replaces a VM of ours whose overlay differs: stopped, undefined, overlay sent again, defined and started', async () => {
    await deploy([vm('web-1'), vm('web-2')]);
    const before = virshLog().length;
    const changed = vm('web-1', { overlay: 'a new overlay' });
    const result = await deploy([changed, vm('web-2')]);
    expect(result.vms.map((o) => [o.vm, o.status, o.state])).toEqual([
      ['web-1', 'replaced', 'running'],
      ['web-2', 'unchanged', 'running'],
    ]);
    expect(result.uploaded.map((u) => u.path)).toEqual([changed.overlay.remotePath]);
    expect(readFileSync(changed.overlay.remotePath, 'utf8')).toBe('a new overlay');
    expect(readFileSync(domainFile(fake, 'web-1'), 'utf8')).toBe(changed.xml);
    expect(virshLog().slice(before).filter((l) => /^virsh (define|start|destroy|undefine)/.test(l))).toEqual([
      `virsh destroy --domain ${changed.uuid}`,
      `virsh undefine --domain ${changed.uuid}`,
      'virsh define /dev/stdin',
      `virsh start --domain ${changed.uuid}`,
    ]);
    expect(events).toContainEqual({ type: 'vm', controller: 'lc1', vm: 'web-1', phase: 'replacing', message: 'overlay changed' });
    expect(plan.steps).toEqual([
      { vm: 'web-1', action: 'replace', reasons: ['overlay changed'], diskLoss: true, lostDisk: changed.overlay.remotePath },
      { vm: 'web-2', action: 'unchanged', reasons: [], diskLoss: false },
    ]);
  });

  it('undoes a VM whose start fails: domain undefined, overlay removed, base kept, nothing left', async () => {
    failVirsh(fake, 'start', 'web-1');
    const [a, b] = [vm('web-1'), vm('web-2')];
    const result = await deploy([a, b]);
    const failed = outcomeOf(result, 'web-1');
    expect(failed.status).toBe('failed');
    expect(failed.left).toEqual([]);
    expect(failed.error?.code).toBe('REMOTE_COMMAND_FAILED');
    expect(failed.error?.message).toContain("error: Failed to start domain 'web-1'");
    expect(failed.error?.message).toContain('web-1 failed at start (it was defined); undone');
    expect(outcomeOf(result, 'web-2').status).toBe('created');
    expect(domains()).toEqual(['web-2']);
    // A VM failed and undone is not recorded as standing.
    expect(recordedVms()).toEqual(['web-2']);
    expect(existsSync(a.overlay.remotePath)).toBe(false);
    expect(existsSync(a.base.remotePath)).toBe(true);
    expect(images()).toEqual([basename(a.base.remotePath), basename(b.overlay.remotePath)].sort());
    // Both VMs are worked on at once: web-2's define may come before or after web-1's start (a busy machine showed
    // both orders), so only what one VM's own steps must follow is checked: web-1 defined, started, undefined.
    const steps = changes().filter((l) => l.endsWith(a.uuid) || l === 'virsh define /dev/stdin');
    expect(steps.filter((l) => l.endsWith(a.uuid))).toEqual([`virsh start --domain ${a.uuid}`, `virsh undefine --domain ${a.uuid}`]);
    expect(steps.filter((l) => l === 'virsh define /dev/stdin')).toHaveLength(2);
    expect(steps.indexOf('virsh define /dev/stdin')).toBeLessThan(steps.indexOf(`virsh start --domain ${a.uuid}`));
    expect(events).toContainEqual({ type: 'vm', controller: 'lc1', vm: 'web-1', phase: 'undone', message: 'undone' });
  });

  it('undoes a VM whose define fails: nothing defined, overlay removed', async () => {
    failVirsh(fake, 'define', 'web-1');
    const v = vm('web-1');
    const result = await deploy([v]);
    expect(result.vms[0]?.status).toBe('failed');
    expect(result.vms[0]?.left).toEqual([]);
    expect(result.vms[0]?.error?.message).toContain('web-1 failed at define; undone');
    expect(domains()).toEqual([]);
    expect(images()).toEqual([basename(v.base.remotePath)]);
  });

  it('says what is left when the undo itself fails', async () => {
    failVirsh(fake, 'start', 'web-1');
    // The undefine of the undo fails too: the domain stays, and the outcome says so.
    const v = vm('web-1');
    fake.hook = (command, _channel, run) => {
      if (command.endsWith(`virsh start --domain ${v.uuid}`)) failVirsh(fake, 'undefine', 'web-1');
      run();
    };
    const result = await deploy([v]);
    expect(result.vms[0]?.status).toBe('failed');
    // The domain that could not be undefined keeps its disk.
    expect(result.vms[0]?.left).toEqual(['domain web-1 (defined)', v.overlay.remotePath]);
    expect(existsSync(v.overlay.remotePath)).toBe(true);
    expect(result.vms[0]?.error?.message).toContain('undo incomplete, left: domain web-1 (defined)');
    expect(domains()).toEqual(['web-1']);
    // What was left is recorded, so that destroy can find it.
    expect(recordedVms()).toEqual(['web-1']);
  });

  it('fails only the VMs that need a file whose upload failed; the others go on', async () => {
    const [a, b] = [vm('web-1', { iso: 'ctx' }), vm('web-2', { iso: 'ctx' })];
    fake.hook = (command, channel, run) => {
      if (command.includes('vmctx-upload') && command.includes('web-2.qcow2')) {
        channel.stderr.write('cat: No space left on device\n');
        channel.exit(1);
        channel.end();
      } else run();
    };
    const result = await deploy([a, b]);
    expect(outcomeOf(result, 'web-1')).toMatchObject({ status: 'created', state: 'running' });
    const failed = outcomeOf(result, 'web-2');
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('REMOTE_UPLOAD_FAILED');
    expect(failed.left).toEqual([]);
    expect(domains()).toEqual(['web-1']);
    expect(changes().filter((l) => l.includes('web-2'))).toEqual([]);
    // The shared ISO stays: web-1 uses it.
    expect(images()).toEqual([a.base, a.iso!, a.overlay].map((f) => basename(f.remotePath)).sort());
  });

  it('fails every VM when the shared base image does not arrive, and uploads nothing under a final name', async () => {
    const [a, b] = [vm('web-1', { iso: 'ctx' }), vm('web-2', { iso: 'ctx' })];
    fake.hook = (command, channel, run) => {
      if (command.includes('vmctx-upload') && command.includes('debian-')) {
        channel.exit(1);
        channel.end();
      } else run();
    };
    const result = await deploy([a, b]);
    expect(result.vms.map((o) => [o.status, o.error?.code, o.left])).toEqual([
      ['failed', 'REMOTE_UPLOAD_FAILED', []],
      ['failed', 'REMOTE_UPLOAD_FAILED', []],
    ]);
    expect(domains()).toEqual([]);
    // Their overlays and the ISO they shared arrived, and are gone again.
    expect(images()).toEqual([]);
  });

  it('removes an ISO uploaded for VMs that all failed, and keeps one that a standing VM uses', async () => {
    failVirsh(fake, 'start', 'web-1', 'web-2', 'web-3');
    const vms = [vm('web-1', { iso: 'group a' }), vm('web-2', { iso: 'group a' }), vm('web-3', { iso: 'group b' }), vm('web-4', { iso: 'group b' })];
    const [a, , , d] = vms as [VmArtifacts, VmArtifacts, VmArtifacts, VmArtifacts];
    const result = await deploy(vms);
    expect(result.vms.map((o) => [o.vm, o.status, o.left])).toEqual([
      ['web-1', 'failed', []],
      ['web-2', 'failed', []],
      ['web-3', 'failed', []],
      ['web-4', 'created', undefined],
    ]);
    expect(result.uploaded.map((u) => u.path)).toContain(a.iso!.remotePath);
    expect(existsSync(a.iso!.remotePath)).toBe(false);
    expect(existsSync(d.iso!.remotePath)).toBe(true);
    expect(images()).toEqual([a.base, d.iso!, d.overlay].map((f) => basename(f.remotePath)).sort());
  });
});
