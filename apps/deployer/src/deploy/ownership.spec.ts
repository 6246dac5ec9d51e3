/**
 * Issue 19, on the in-process controller: deploy, prune and destroy act only on what this deployment provably
 * created. Each case sets up what an unlucky or hostile operator left on a controller, then checks that vmctx
 * leaves it as it was and says so. The lab suite deployer-safety.lab.spec.ts repeats the main ones on real libvirt.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { VmArtifacts } from '../artifacts/build.js';
import { DEMO, foreignDomainXml, vmArtifacts } from '../artifacts/vm-artifacts.fixture.js';
import type { Deployment } from '../config/types.js';
import { ControllerConnection } from '../controller/connection.js';
import { closeFakeSession, domainFile, failVirsh, FakeController, openFakeSession, putDomain, putLink } from '../controller/fake-controller.fixture.js';
import { listDomains } from '../controller/libvirt.js';
import { partialPath } from '../controller/upload.js';
import type { DeploymentIdentity } from '../controller/owner-mark.js';
import { preflight } from '../controller/preflight.js';
import { applyOnController, type ApplyResult } from './apply.js';
import { runDestroy } from './destroy.js';
import { planController, settleLeftovers } from './plan.js';
import { filesInUse } from './remove.js';
import { readState, statePath, writeState } from './state.js';

let fake: FakeController;
let connection: ControllerConnection;
let local: string;

beforeAll(async () => {
  ({ fake, connection, local } = await openFakeSession('vmctx-ownership-spec-'));
});
afterAll(() => closeFakeSession({ fake, connection, local }));
beforeEach(() => {
  fake.reset();
  putLink(fake, 'br0', 'bridge', true);
});

const vm = (name: string, more: Parameters<typeof vmArtifacts>[0] extends infer S ? Partial<S> : never = {}): VmArtifacts =>
  vmArtifacts({ name, local, controller: connection.controller, ...more });

async function deploy(vms: VmArtifacts[], identity: DeploymentIdentity = DEMO, over: ControllerConnection = connection): Promise<ApplyResult> {
  const [state, recorded] = await Promise.all([preflight(over, identity, vms), readState(over, identity)]);
  settleLeftovers(state, recorded);
  expect(state.findings.filter((f) => f.severity === 'error')).toEqual([]);
  const plan = planController(identity, vms, state, recorded);
  return applyOnController(over, state, plan, vms, { events: () => undefined, recorded, wait: false, waitTimeoutMs: 1000, deployment: identity });
}

/** A deploy whose run stops (its connection cut, as when the deployer is killed) at its first `virsh define`. */
async function interruptedDeploy(vms: VmArtifacts[]): Promise<void> {
  const doomed = await ControllerConnection.open(fake.controller(), { readyTimeoutMs: 5000 });
  fake.hook = (command, _channel, run) => {
    if (command.includes('virsh define')) doomed.close();
    else run();
  };
  try {
    await deploy(vms, DEMO, doomed).catch(() => undefined);
  } finally {
    fake.hook = undefined;
    doomed.close();
  }
}

function deployment(identity: DeploymentIdentity = DEMO): Deployment {
  return { name: identity.name, ...(identity.id ? { id: identity.id } : {}), file: join(local, 'deployment.yaml'), controllers: [connection.controller], images: [], vms: [], hostPaths: [], trustTemplates: false };
}

const destroy = (identity: DeploymentIdentity = DEMO) =>
  runDestroy(deployment(identity), { events: () => undefined, connect: () => ControllerConnection.open(fake.controller(), { readyTimeoutMs: 5000 }) });

const domains = () => readdirSync(join(fake.state, 'domains')).filter((f) => f.endsWith('.xml')).map((f) => f.slice(0, -4)).sort();
const virshChanges = () =>
  (existsSync(join(fake.state, 'virsh.log')) ? readFileSync(join(fake.state, 'virsh.log'), 'utf8').trim().split('\n') : []).filter((l) => /^virsh (define|start|destroy|undefine)\b/.test(l));

describe('destroy acts only where the UUID, the mark and the file identity match the record', () => {
  it('leaves a foreign domain that took a recorded name, and a file planted at a recorded path', async () => {
    const web = vm('web-1');
    await deploy([web]);
    // By hand: the VM undefined and its overlay moved away, a foreign web-1 (no owner mark) defined, a file put at
    // the overlay's path.
    rmSync(domainFile(fake, 'web-1'));
    rmSync(join(fake.state, 'domains', 'web-1.uuid'));
    putDomain(fake, 'web-1', foreignDomainXml('web-1'), 'running');
    rmSync(web.overlay.remotePath);
    writeFileSync(web.overlay.remotePath, 'the owner of the foreign web-1 keeps their data here');
    const before = virshChanges().length;
    const report = await destroy();
    expect(virshChanges().slice(before)).toEqual([]);
    expect(domains()).toEqual(['web-1']);
    expect(readFileSync(join(fake.state, 'domains', 'web-1.state'), 'utf8').trim()).toBe('running');
    expect(readFileSync(web.overlay.remotePath, 'utf8')).toBe('the owner of the foreign web-1 keeps their data here');
    expect(report.controllers[0]!.domains).toEqual([]);
    expect(report.controllers[0]!.left).toEqual([expect.stringContaining(`${web.overlay.remotePath} (kept: not the file vmctx wrote (identity`)]);
    // Kept in the record, so that nothing is forgotten: a later destroy says the same.
    expect(Object.keys(JSON.parse(readFileSync(statePath(fake.imageDir, 'demo'), 'utf8')).vms as object)).toEqual(['web-1']);
  });

  it('never touches a path the state file lists outside the image folder', async () => {
    await deploy([vm('web-1')]);
    const outside = join(local, 'etc-shadow');
    writeFileSync(outside, 'root:*:');
    mkdirSync(join(fake.root, 'other'), { recursive: true });
    const sideways = join(fake.imageDir, '..', 'other', 'x');
    writeFileSync(sideways, 'x');
    const path = statePath(fake.imageDir, 'demo');
    const record = JSON.parse(readFileSync(path, 'utf8')) as { vms: Record<string, { files: string[]; shared: string[] }> };
    record.vms['web-1']!.files.push(outside, `${fake.imageDir}/../other/x`);
    record.vms['web-1']!.shared.push('/etc/passwd');
    writeFileSync(path, JSON.stringify(record));
    const report = await destroy();
    expect(readFileSync(outside, 'utf8')).toBe('root:*:');
    expect(readFileSync(sideways, 'utf8')).toBe('x');
    expect(report.controllers[0]!.left).toEqual(
      expect.arrayContaining([`${outside} (kept: not a file directly in ${fake.imageDir})`, `${fake.imageDir}/../other/x (kept: not a file directly in ${fake.imageDir})`]),
    );
    expect(report.controllers[0]!.kept).toEqual(expect.arrayContaining([`/etc/passwd: not a file directly in ${fake.imageDir}`]));
    // The VM itself went.
    expect(domains()).toEqual([]);
  });

  it('refuses a record written by another deployment file of the same name, and changes nothing', async () => {
    const teamA: DeploymentIdentity = { name: 'demo', id: '11111111-1111-4111-8111-111111111111' };
    const teamB: DeploymentIdentity = { name: 'demo', id: '22222222-2222-4222-8222-222222222222' };
    await deploy([vm('web-1', { id: teamA.id! })], teamA);
    const report = await destroy(teamB);
    expect(report.ok).toBe(false);
    expect(report.controllers[0]!.error?.code).toBe('DEPLOY_RECORD_CLASH');
    expect(report.controllers[0]!.error?.message).toContain('belongs to another deployment named demo (id 11111111-1111-4111-8111-111111111111');
    expect(domains()).toEqual(['web-1']);
    // A file that never deployed (no id yet) is refused the same way.
    expect((await destroy({ name: 'demo' })).controllers[0]!.error?.code).toBe('DEPLOY_RECORD_CLASH');
    expect(domains()).toEqual(['web-1']);
    // Team B's plan sees team A's domain as foreign: its name is held.
    const state = await preflight(connection, teamB, [vm('web-1', { id: teamB.id! })]);
    expect(state.findings.find((f) => f.code === 'CHECK_NAME_HELD')?.severity).toBe('error');
  });

  it('removes what it made: domains by UUID, own files by identity, then the shared ones and the record', async () => {
    const [a, b] = [vm('web-1', { iso: 'ctx' }), vm('web-2', { iso: 'ctx' })];
    await deploy([a, b]);
    const report = await destroy();
    expect(report.ok).toBe(true);
    expect(domains()).toEqual([]);
    expect(readdirSync(fake.imageDir).filter((f) => f !== '.vmctx')).toEqual([]);
    expect(existsSync(statePath(fake.imageDir, 'demo'))).toBe(false);
    expect(virshChanges().filter((l) => /destroy|undefine/.test(l))).toEqual([
      `virsh destroy --domain ${a.uuid}`,
      `virsh undefine --domain ${a.uuid}`,
      `virsh destroy --domain ${b.uuid}`,
      `virsh undefine --domain ${b.uuid}`,
    ]);
  });
});

describe('shared files: kept when their use cannot be read for certain', () => {
  it('keeps every base image when qemu-img is missing on the controller (the old pipeline exited 0 and removed them)', async () => {
    const web = vm('web-1');
    await deploy([web]);
    writeFileSync(join(fake.root, 'bin', 'qemu-img'), '#!/bin/sh\necho "qemu-img: not found" >&2; exit 127\n', { mode: 0o755 });
    try {
      // Another deployment's domain uses web-1's base through an overlay; qemu-img alone could say so.
      putDomain(fake, 'other', foreignDomainXml('other', { file: join(fake.imageDir, 'other.qcow2') }), 'running');
      writeFileSync(join(fake.imageDir, 'other.qcow2'), 'overlay of another deployment');
      expect(await filesInUse(connection, await listDomains(connection))).toBeUndefined();
      const report = await destroy();
      expect(existsSync(web.base.remotePath)).toBe(true);
      expect(report.controllers[0]!.kept).toEqual([`${web.base.remotePath}: which domains use it could not be read for certain`]);
    } finally {
      rmSync(join(fake.root, 'bin', 'qemu-img'));
    }
  });

  it('reads whole backing chains from qemu-img JSON, whatever the file names hold', async () => {
    // A real qcow2 over a base whose name has a quote and a backslash: what the old sed read wrong.
    const dir = fake.imageDir;
    const base = join(dir, 'base "q\\.raw');
    writeFileSync(base, Buffer.alloc(1024 * 1024));
    const overlay = join(dir, 'o.qcow2');
    const made = await connection.exec(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', base, overlay]);
    expect(made.code).toBe(0);
    putDomain(fake, 'o', foreignDomainXml('o', { file: overlay }));
    // A domain over a disk file that is not there backs nothing: it does not make the whole unknown (the demo's
    // foreign domain on the lab kept every base image and ISO of the demo).
    putDomain(fake, 'ghost', foreignDomainXml('ghost', { file: join(dir, 'gone.qcow2') }));
    const used = await filesInUse(connection, await listDomains(connection));
    expect([...(used ?? [])].sort()).toEqual([base, join(dir, 'gone.qcow2'), overlay].sort());
  });
});

describe('deploy refuses what it did not write', () => {
  it('does not use a planted base image whose content is not what its name says', async () => {
    const web = vm('web-1');
    writeFileSync(web.base.remotePath, 'not the base image');
    const result = await deploy([web]);
    expect(result.vms[0]!.status).toBe('failed');
    expect(result.vms[0]!.error?.code).toBe('REMOTE_FILE_FOREIGN');
    expect(readFileSync(web.base.remotePath, 'utf8')).toBe('not the base image');
    expect(domains()).toEqual([]);
  });

  it('uses a base image another run left with the right content, after checking it once', async () => {
    const web = vm('web-1');
    writeFileSync(web.base.remotePath, readFileSync(web.base.localPath));
    const result = await deploy([web]);
    expect(result.vms[0]!.status).toBe('created');
    expect(result.uploaded.map((u) => u.path)).toEqual([web.overlay.remotePath]);
    const record = (await readState(connection, DEMO)).vms['web-1']!;
    expect(record.identities?.[web.base.remotePath]).toMatch(/^\d+:\d+:\d+\.\d{9}$/);
  });

  it('writes the state file through its own temporary name: a link planted at the old fixed name is not followed', async () => {
    const target = join(local, 'target-of-link');
    writeFileSync(target, 'untouched');
    mkdirSync(join(fake.imageDir, '.vmctx'), { recursive: true });
    symlinkSync(target, `${statePath(fake.imageDir, 'demo')}.tmp`);
    await deploy([vm('web-1')]);
    expect(readFileSync(target, 'utf8')).toBe('untouched');
    expect(Object.keys((await readState(connection, DEMO)).vms)).toEqual(['web-1']);
    // A link at the record's own name is replaced by the record, not written through.
    rmSync(statePath(fake.imageDir, 'demo'));
    symlinkSync(target, statePath(fake.imageDir, 'demo'));
    await writeState(connection, { version: 1, deployment: 'demo', id: DEMO.id!, controller: 'lc1', updatedAt: '', vms: {} });
    await writeState(connection, { version: 1, deployment: 'demo', id: DEMO.id!, controller: 'lc1', updatedAt: '', vms: (await readState(connection, DEMO)).vms });
    expect(readFileSync(target, 'utf8')).toBe('untouched');
  });
});

describe('a foreign domain vmctx cannot read', () => {
  it('is listed by name and UUID, holds its name, and is never acted on', async () => {
    const deep = `<domain type="kvm"><name>deep</name><uuid>6a0e7a4c-1c1b-4d3e-9f00-00000000dee9</uuid><metadata>${'<x>'.repeat(140)}${'</x>'.repeat(140)}</metadata></domain>\n`;
    putDomain(fake, 'deep', deep, 'running');
    const listed = await listDomains(connection);
    expect(listed.map((d) => [d.name, d.uuid, d.unreadable !== undefined])).toEqual([['deep', '6a0e7a4c-1c1b-4d3e-9f00-00000000dee9', true]]);
    const state = await preflight(connection, DEMO, [vm('deep'), vm('web-1')]);
    expect(state.findings.filter((f) => f.severity === 'error').map((f) => [f.code, f.object])).toEqual([['CHECK_NAME_HELD', 'domain deep']]);
    await deploy([vm('web-1')]);
    const report = await destroy();
    expect(report.ok).toBe(true);
    expect(domains()).toEqual(['deep']);
  });
});

describe('an interrupted deploy', () => {
  it('leaves its intent recorded: the next deploy removes the leftover overlay and makes the VM; destroy removes it', async () => {
    const web = vm('web-1');
    // The run stops after the overlay landed and before the define: its connection is cut there.
    await interruptedDeploy([web]);
    expect(existsSync(web.overlay.remotePath)).toBe(true);
    expect((await readState(connection, DEMO)).vms['web-1']?.pending).toBe(true);
    // Destroy removes what it left (the overlay matched by its content; nothing was defined).
    const report = await destroy();
    expect(report.ok).toBe(true);
    expect(existsSync(web.overlay.remotePath)).toBe(false);
    expect(existsSync(statePath(fake.imageDir, 'demo'))).toBe(false);
    // Again, then a deploy: it finishes the job.
    await interruptedDeploy([web]);
    const again = await deploy([web]);
    expect(again.vms.map((o) => o.status)).toEqual(['created']);
    expect((await readState(connection, DEMO)).vms['web-1']?.pending).toBeUndefined();
  });

  it('keeps a cut upload for the next deploy to resume, recorded so that destroy removes it', async () => {
    const web = vm('web-1', { base: 'a base image '.repeat(200_000) });
    fake.hook = (command, _channel, run) => (command.includes('vmctx-upload') && command.includes(web.base.remotePath) ? run({ killAfterBytes: 1024 * 1024 }) : run());
    const cut = await deploy([web]);
    fake.hook = undefined;
    expect(cut.vms[0]!.status).toBe('failed');
    const part = partialPath(web.base.remotePath, web.base.sha256);
    expect(cut.vms[0]!.left).toEqual([`${part} (kept to resume its upload)`]);
    expect(existsSync(part)).toBe(true);
    expect((await readState(connection, DEMO)).vms['web-1']?.pending).toBe(true);
    // destroy removes it (nothing writes it now), and the record.
    expect((await destroy()).ok).toBe(true);
    expect(readdirSync(fake.imageDir).filter((f) => f !== '.vmctx')).toEqual([]);
    expect(existsSync(statePath(fake.imageDir, 'demo'))).toBe(false);
  });

  it('a VM whose start fails is undone with the console log its start made; the base it uploaded stays, recorded, and destroy removes it (issue 24)', async () => {
    const web = vm('web-1');
    failVirsh(fake, 'start', 'web-1');
    // qemu opens the console log before the guest fails: the start made it.
    fake.hook = (command, _channel, run) => {
      if (command.includes('virsh start')) writeFileSync(web.consoleLog, 'qemu: could not start\n');
      run();
    };
    const result = await deploy([web]);
    fake.hook = undefined;
    expect(result.vms[0]).toMatchObject({ status: 'failed', left: [] });
    expect(existsSync(web.consoleLog)).toBe(false);
    expect(readdirSync(fake.imageDir).filter((f) => f !== '.vmctx')).toEqual([web.base.remotePath.split('/').pop()]);
    expect((await readState(connection, DEMO)).vms['web-1']?.pending).toBe(true);
    expect((await destroy()).ok).toBe(true);
    expect(readdirSync(fake.imageDir).filter((f) => f !== '.vmctx')).toEqual([]);
  });

  it('a console log that was there before a failed start was not made by it: kept', async () => {
    const web = vm('web-1');
    writeFileSync(web.consoleLog, 'someone else wrote this\n');
    failVirsh(fake, 'start', 'web-1');
    // A foreign file at the console log's path does not stop preflight; the VM fails at its start.
    await deploy([web]);
    expect(readFileSync(web.consoleLog, 'utf8')).toBe('someone else wrote this\n');
  });

  it('a connection lost at the last write of the record: the VM keeps its outcome, and says it stays pending there', async () => {
    const web = vm('web-1');
    const doomed = await ControllerConnection.open(fake.controller(), { readyTimeoutMs: 5000 });
    let writes = 0;
    fake.hook = (command, _channel, run) => {
      if (command.includes('vmctx-state') && command.includes('mv -fT') && ++writes === 2) doomed.close();
      else run();
    };
    try {
      const result = await deploy([web], DEMO, doomed);
      expect(result.vms[0]).toMatchObject({ vm: 'web-1', status: 'created', state: 'running' });
      expect(result.vms[0]!.left).toEqual([expect.stringContaining("lc1's record could not be updated")]);
    } finally {
      fake.hook = undefined;
      doomed.close();
    }
    expect((await readState(connection, DEMO)).vms['web-1']?.pending).toBe(true);
  });

  it('will not make a new disk over the overlay of a settled VM whose domain is gone', async () => {
    const web = vm('web-1');
    await deploy([web]);
    rmSync(domainFile(fake, 'web-1'));
    rmSync(join(fake.state, 'domains', 'web-1.uuid'));
    const [state, recorded] = await Promise.all([preflight(connection, DEMO, [web]), readState(connection, DEMO)]);
    settleLeftovers(state, recorded);
    const held = state.findings.find((f) => f.code === 'CHECK_FILE_HELD')!;
    expect(held.severity).toBe('error');
    expect(held.message).toContain('is the disk of web-1 of this deployment, whose domain is gone');
  });
});
