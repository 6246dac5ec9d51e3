/**
 * How `vmctx check` and `vmctx deploy` fail, on real controllers: each failure is named with its controller,
 * object and fix, exits non-zero, leaves nothing half-done, and does not stop the controllers that are fine.
 * Controller lc5 is started here without a bridge (`lab add lc5 --no-bridge`).
 */
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { ArtifactCache, buildArtifacts, loadDeployment, type CheckReport, type DeployReport } from '@vmctx/deployer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controller, disconnect, LAB_COMMAND, labEnv, type LabController, ssh, sshOk } from './support/lab.js';
import { LAB_TEMPLATE, labControllerEntry, vmctx, writeDeployment } from './support/vmctx-cli.js';

const run = promisify(execFile);
const env = labEnv();
const lc1 = controller(env, 'lc1');
const lc2 = controller(env, 'lc2');
const work = mkdtempSync(join(tmpdir(), 'vmctx-deploy-fail-'));
let lc5: LabController;

const image = { name: 'base', path: env.guest.baseImage };
const vm = (name: string, lc: string, extra: Record<string, unknown> = {}) => ({ name, controller: lc, image: 'base', template: LAB_TEMPLATE, bridge: 'virbr0', domainType: 'qemu', ...extra });

async function removeDomains(lc: LabController, names: string[]): Promise<void> {
  await ssh(env, lc, ['sh', '-c', 'for d in "$@"; do virsh destroy "$d"; virsh undefine "$d"; rm -f "/var/lib/vmctx/images/$d.qcow2" "/var/lib/vmctx/images/$d.console.log"; done; true', 'x', ...names]);
}

async function imageFolder(lc: LabController): Promise<string[]> {
  return (await sshOk(env, lc, ['ls', '-A', lc.images])).split('\n').filter((l) => l !== '');
}

describe('vmctx check and deploy: failures on real controllers', () => {
  beforeAll(async () => {
    await run(LAB_COMMAND, ['add', 'lc5', '--no-bridge']);
    lc5 = controller(labEnv(), 'lc5');
  });

  afterAll(async () => {
    // What the deployments made goes with vmctx destroy (their state files too); then any leftover by name.
    for (const name of ['dfail-bridge', 'dfail-lc2', 'dfail-keys', 'dfail-unreachable', 'dfail-start', 'dfail-fetch']) {
      const file = join(work, `${name}.yaml`);
      if (existsSync(file)) await vmctx(['destroy', '--file', file, '--yes']);
    }
    await removeDomains(lc1, ['dfail-ok', 'dfail-reach', 'dfail-start', 'dfail-start-ok']);
    await removeDomains(lc2, ['dfail-held', 'dfail-noiso', 'dfail-other']);
    await disconnect(lc5);
    await run(LAB_COMMAND, ['down', 'lc5']);
    rmSync(work, { recursive: true, force: true });
    rmSync(join(env.http.files, 'dfail-fetch.raw'), { force: true });
  });

  it('an image with fetch: controller is fetched by each controller from its URL, not here; a second deploy fetches nothing (issue 22)', async () => {
    // The lab's HTTP server: the same URL here (for the image's header) and on each controller (for the image).
    copyFileSync(env.guest.baseImage, join(env.http.files, 'dfail-fetch.raw'));
    const sha256 = createHash('sha256').update(readFileSync(env.guest.baseImage)).digest('hex');
    const cache = join(work, 'fetch-cache');
    const file = writeDeployment(work, 'dfail-fetch', {
      controllers: [labControllerEntry(env, lc1), labControllerEntry(env, lc2)],
      images: [{ name: 'fetched', url: `${env.http.url}/dfail-fetch.raw`, sha256, fetch: 'controller' }],
      vms: [{ ...vm('dfail-fetch-1', 'lc1'), image: 'fetched' }, { ...vm('dfail-fetch-2', 'lc2'), image: 'fetched' }],
    });
    const cacheEnv = { env: { XDG_CACHE_HOME: cache } };
    const plan = await vmctx(['plan', '--file', file], cacheEnv);
    const base = `${lc1.images}/fetched-${sha256.slice(0, 16)}.raw`;
    expect(plan.stdout).toContain(`↓ fetch     ${base} (${readFileSync(env.guest.baseImage).length} bytes) from ${env.http.url}/dfail-fetch.raw, by the controller`);
    const check = JSON.parse((await vmctx(['check', '--file', file, '--json'], cacheEnv)).stdout) as CheckReport;
    for (const c of check.controllers) {
      expect(c.findings.find((f) => f.code === 'CHECK_UPLOAD_TOOLS')?.message).toMatch(/images are fetched there by (curl|wget)$/);
    }
    const deploy = await vmctx(['deploy', '--file', file, '--json'], cacheEnv);
    expect(deploy.code, deploy.stderr).toBe(0);
    for (const lc of [lc1, lc2]) {
      expect((await sshOk(env, lc, ['sha256sum', base])).split(' ')[0]).toBe(sha256);
      expect((await sshOk(env, lc, ['virsh', 'domstate', lc === lc1 ? 'dfail-fetch-1' : 'dfail-fetch-2'])).trim()).toBe('running');
    }
    // Here only its header was read: no copy of the image in the local cache.
    const objects = join(cache, 'vmctx', 'objects');
    expect(existsSync(objects) ? readdirSync(objects).filter((f) => f.endsWith('.img')) : []).toEqual([]);
    const again = JSON.parse((await vmctx(['deploy', '--file', file, '--json'], cacheEnv)).stdout) as DeployReport;
    expect(again.controllers.map((c) => c.uploaded)).toEqual([[], []]);
    expect((await vmctx(['destroy', '--file', file, '--yes'], cacheEnv)).code).toBe(0);
  });

  it('a controller without the bridge is named with the bridge; nothing is uploaded there; the other deploys', async () => {
    const lc5Before = await imageFolder(lc5);
    const file = writeDeployment(work, 'dfail-bridge', {
      controllers: [labControllerEntry(env, lc1), labControllerEntry(env, lc5)],
      images: [image],
      vms: [vm('dfail-ok', 'lc1'), vm('dfail-nobridge', 'lc5')],
    });
    const check = await vmctx(['check', '--file', file, '--json']);
    expect(check.code).toBe(1);
    const report = JSON.parse(check.stdout) as CheckReport;
    const lc5Findings = report.controllers.find((c) => c.controller === 'lc5')!;
    expect(lc5Findings.ok).toBe(false);
    expect(lc5Findings.findings).toContainEqual(expect.objectContaining({ code: 'CHECK_BRIDGE', severity: 'error', object: 'bridge virbr0', controller: 'lc5' }));
    expect(lc5Findings.findings.find((f) => f.code === 'CHECK_BRIDGE')!.fix).toMatch(/ip link add virbr0 type bridge/);
    expect(report.controllers.find((c) => c.controller === 'lc1')!.ok).toBe(true);

    const text = await vmctx(['check', '--file', file]);
    // The table fits 100 columns: a finding's text may go on over the next lines of its column.
    expect(text.stdout).toMatch(/lc5: NOT READY[\s\S]*FAIL\s+bridge virbr0\s+bridge virbr0 does not exist[\s\S]*?\(used by dfail-nobridge\)/);

    const deploy = await vmctx(['deploy', '--file', file, '--json']);
    expect(deploy.code).toBe(1);
    const result = JSON.parse(deploy.stdout) as DeployReport;
    const on5 = result.controllers.find((c) => c.controller === 'lc5')!;
    expect(on5.refused?.map((f) => f.code)).toContain('CHECK_BRIDGE');
    expect(on5.uploaded).toEqual([]);
    const on1 = result.controllers.find((c) => c.controller === 'lc1')!;
    expect(on1.vms).toEqual([expect.objectContaining({ vm: 'dfail-ok', status: 'created', state: 'running' })]);
    // Nothing, not even the deployment's lock (in the image folder, before 04943f8, it was written here too).
    expect(await imageFolder(lc5)).toEqual(lc5Before);
  });

  it('a missing iso: path and a name held by a foreign domain are reported; the foreign domain is untouched', async () => {
    const foreign = readFileSync(LAB_TEMPLATE, 'utf8')
      .replace('<name>debian1</name>', '<name>dfail-held</name>')
      .replace(/<interface[\s\S]*?<\/interface>/, '')
      .replace(/<disk type='file' device='cdrom'>[\s\S]*?<\/disk>/, '');
    await removeDomains(lc2, ['dfail-held']);
    await sshOk(env, lc2, ['virsh', 'define', '/dev/stdin'], foreign);
    const before = await sshOk(env, lc2, ['virsh', 'dumpxml', '--inactive', 'dfail-held']);

    const file = writeDeployment(work, 'dfail-lc2', {
      // The shared ISO's folder is listed, as an operator lists it: an iso: outside the allowed folders is refused.
      hostPaths: ['/var/cache/vmctx/lab', '/srv/shared'],
      controllers: [labControllerEntry(env, lc2)],
      images: [image],
      vms: [vm('dfail-held', 'lc2'), vm('dfail-noiso', 'lc2', { iso: '/srv/shared/missing-context.iso' }), vm('dfail-other', 'lc2')],
    });
    const check = await vmctx(['check', '--file', file, '--json']);
    expect(check.code).toBe(1);
    const findings = (JSON.parse(check.stdout) as CheckReport).controllers[0]!.findings.filter((f) => f.severity === 'error');
    expect(findings).toContainEqual(expect.objectContaining({ code: 'CHECK_NAME_HELD', object: 'domain dfail-held' }));
    expect(findings).toContainEqual(expect.objectContaining({ code: 'CHECK_ISO', object: '/srv/shared/missing-context.iso' }));

    const deploy = await vmctx(['deploy', '--file', file]);
    expect(deploy.code).toBe(1);
    expect(deploy.stdout).toMatch(/lc2: domain dfail-held: a domain named dfail-held already exists .*left untouched/);
    expect(await sshOk(env, lc2, ['virsh', 'dumpxml', '--inactive', 'dfail-held'])).toBe(before);
    expect((await sshOk(env, lc2, ['virsh', 'list', '--all', '--name'])).split('\n')).not.toContain('dfail-other');
    await removeDomains(lc2, ['dfail-held']);
  });

  it('an unknown host key is refused with its fingerprint unless --accept-new; a changed one always', async () => {
    const knownHosts = join(work, 'known_hosts');
    writeFileSync(knownHosts, '');
    const file = writeDeployment(work, 'dfail-keys', {
      controllers: [labControllerEntry(env, lc1, { knownHosts })],
      images: [image],
      vms: [vm('dfail-keys', 'lc1')],
    });
    const unknown = await vmctx(['check', '--file', file]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
    expect(unknown.stdout).toMatch(/--accept-new/);

    const accepted = await vmctx(['check', '--file', file, '--accept-new']);
    expect(accepted.code, accepted.stdout + accepted.stderr).toBe(0);
    expect(readFileSync(knownHosts, 'utf8')).toMatch(/^\[127\.0\.0\.1\]:2201 ssh-ed25519 /m);
    expect((await vmctx(['check', '--file', file])).code).toBe(0);

    // Another key for the same host: a changed host key, refused even with --accept-new.
    const other = readFileSync(join(env.state, 'lc2', 'ssh', 'host_ed25519.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(knownHosts, `[127.0.0.1]:2201 ${other}\n`);
    const changed = await vmctx(['check', '--file', file, '--accept-new']);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/SSH_HOST_KEY_CHANGED|changed/i);
    expect(readFileSync(knownHosts, 'utf8')).toBe(`[127.0.0.1]:2201 ${other}\n`);
  });

  it('an unreachable controller is reported; the reachable one still deploys', async () => {
    // A loopback port that was just free: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as AddressInfo;
        server.close(() => resolve(free));
      });
    });
    const file = writeDeployment(work, 'dfail-unreachable', {
      controllers: [labControllerEntry(env, lc1), labControllerEntry(env, lc2, { name: 'gone', port })],
      images: [image],
      vms: [vm('dfail-reach', 'lc1'), vm('dfail-gone', 'gone')],
    });
    const deploy = await vmctx(['deploy', '--file', file, '--json']);
    expect(deploy.code).toBe(1);
    const report = JSON.parse(deploy.stdout) as DeployReport;
    expect(report.controllers.find((c) => c.controller === 'gone')!.error).toMatchObject({ code: 'SSH_UNREACHABLE' });
    expect(report.controllers.find((c) => c.controller === 'lc1')!.vms[0]).toMatchObject({ vm: 'dfail-reach', state: 'running' });
  });

  it('virsh start failing after define is undone: that VM\'s domain, overlay, console log and ISO go, the base is kept, the other VM comes up', async () => {
    // A kernel that is not there: libvirt defines the domain, qemu cannot start it.
    const broken = join(work, 'broken-kernel.xml');
    writeFileSync(broken, readFileSync(LAB_TEMPLATE, 'utf8').replace('/var/cache/vmctx/lab/guest/vmlinuz', '/var/cache/vmctx/lab/guest/no-such-vmlinuz'));
    // Each with a context of its own, so each has an ISO of its own.
    const file = writeDeployment(work, 'dfail-start', {
      controllers: [labControllerEntry(env, lc1)],
      images: [image],
      vms: [vm('dfail-start', 'lc1', { template: broken, context: { hostname: 'dfail-start.test' } }), vm('dfail-start-ok', 'lc1', { context: { hostname: 'dfail-start-ok.test' } })],
    });
    const iso = Object.fromEntries((await buildArtifacts(await loadDeployment(file), { cache: new ArtifactCache(join(work, 'iso-cache')) })).map((a) => [a.vm.name, basename(a.iso!.remotePath)]));
    expect(iso['dfail-start']).not.toBe(iso['dfail-start-ok']);
    const deploy = await vmctx(['deploy', '--file', file, '--json']);
    expect(deploy.code).toBe(1);
    const vms = (JSON.parse(deploy.stdout) as DeployReport).controllers[0]!.vms;
    const outcome = vms.find((v) => v.vm === 'dfail-start')!;
    expect(outcome).toMatchObject({ vm: 'dfail-start', status: 'failed', left: [] });
    expect(outcome.error!.message).toMatch(/failed at start \(it was defined\); undone/);
    expect(vms.find((v) => v.vm === 'dfail-start-ok')).toMatchObject({ status: 'created', state: 'running' });
    expect((await sshOk(env, lc1, ['virsh', 'list', '--all', '--name'])).split('\n')).not.toContain('dfail-start');
    expect((await sshOk(env, lc1, ['virsh', 'domstate', 'dfail-start-ok'])).trim()).toBe('running');
    const files = await imageFolder(lc1);
    expect(files.filter((f) => f === 'dfail-start.qcow2' || f.includes(iso['dfail-start']!))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['dfail-start-ok.qcow2', iso['dfail-start-ok']]));
    expect(files.some((f) => /^base-[0-9a-f]{16}\.raw$/.test(f))).toBe(true);
    // Its console log, made by the failed start, goes too (it was left, unrecorded, before c266a45: issue 24 #4).
    expect(files.filter((f) => f.startsWith('dfail-start.'))).toEqual([]);
  });
});
