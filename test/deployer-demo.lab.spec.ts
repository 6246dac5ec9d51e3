/**
 * The product's main job on the lab: `vmctx deploy --wait` of the demo deployment (5 VMs on 2 controllers, a
 * group of 3 sharing one IP-from-MAC context ISO), as `npm run demo` runs it. One deploy answers many checks:
 * the report, the guests' addresses pinged from the controllers' namespaces, host names and keys in their
 * console logs, the shared ISO, the owner mark; then a second deploy that must change nothing.
 */
import { readFileSync } from 'node:fs';
import { listDomains, type DeployReport } from '@vmctx/deployer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionTo, controller, hostPath, labEnv, pingFromController, ssh } from './support/lab.js';
import { DEMO_DEPLOYMENT, demoBaseImage, vmctx } from './support/vmctx-cli.js';

const env = labEnv();
const lc1 = controller(env, 'lc1');
const lc2 = controller(env, 'lc2');
const VMS = { lc1: ['web-1'], lc2: ['web-2', 'worker-1', 'worker-2', 'worker-3'] } as const;

async function removeDemo(): Promise<void> {
  for (const lc of [lc1, lc2]) {
    const names = VMS[lc.name as 'lc1' | 'lc2'];
    // The demo's own files too (its base image, overlays, ISOs, console logs), so that the first deploy uploads.
    // Only names of this deployment: other suites run on the same controllers at the same time.
    const script = [
      'cd /var/lib/vmctx/images || exit 1',
      'for d in "$@"; do virsh destroy "$d"; virsh undefine "$d"; rm -f "$d.qcow2" "$d.console.log"; done',
      'rm -f vmctx-base-*.raw context-*.iso',
    ].join('\n');
    await ssh(env, lc, ['sh', '-c', script, 'x', ...names]);
  }
}

let first: { code: number; report: DeployReport; stderr: string };

describe('vmctx deploy: the demo deployment on two lab controllers', () => {
  beforeAll(async () => {
    demoBaseImage();
    await removeDemo();
    const run = await vmctx(['deploy', '--file', DEMO_DEPLOYMENT, '--wait', '--timeout', '240', '--json']);
    first = { code: run.code, report: JSON.parse(run.stdout || '{}') as DeployReport, stderr: run.stderr };
  });

  afterAll(async () => {
    await removeDemo();
  });

  it('deploys every VM, running and contextualized, and exits 0', () => {
    expect(first.stderr).not.toMatch(/FAIL|failed/);
    expect(first.code).toBe(0);
    const vms = first.report.controllers.flatMap((c) => c.vms);
    expect(vms.map((v) => `${v.controller}/${v.vm}`).sort()).toEqual(['lc1/web-1', 'lc2/web-2', 'lc2/worker-1', 'lc2/worker-2', 'lc2/worker-3']);
    for (const v of vms) {
      expect(v).toMatchObject({ status: 'created', state: 'running', contextualized: true });
    }
    expect(Object.fromEntries(vms.map((v) => [v.vm, v.address]))).toEqual({
      'web-1': '198.51.100.21',
      'web-2': '198.51.100.22',
      'worker-1': '198.51.100.31',
      'worker-2': '198.51.100.32',
      'worker-3': '198.51.100.33',
    });
  });

  it('every address answers ping from its controller', async () => {
    const pings = await Promise.all(
      first.report.controllers.flatMap((c) => c.vms.map(async (v) => [v.vm, (await pingFromController(env, c.controller === 'lc1' ? lc1 : lc2, v.address!)).stdout] as const)),
    );
    for (const [vm, out] of pings) expect(out, vm).toMatch(/1 packets transmitted, 1 received/);
  });

  it('host names and SSH keys were applied, as the console logs say', () => {
    const log = (lc: typeof lc1, vm: string) => readFileSync(hostPath(lc, `${lc.images}/${vm}.console.log`), 'utf8');
    expect(log(lc1, 'web-1')).toMatch(/vmctx: .*host name web-1\.demo\.example/);
    expect(log(lc1, 'web-1')).toMatch(/vmctx: .*SSH: 1 key\(s\) added for root/);
    expect(log(lc2, 'web-2')).toMatch(/vmctx: .*host name web-2\.demo\.example/);
    expect(log(lc2, 'worker-2')).toMatch(/vmctx: .*address 198\.51\.100\.32 read from the MAC/);
  });

  it('the group shares one context ISO; each domain carries the deployment mark', async () => {
    const domains = await listDomains(await connectionTo(env, lc2));
    const workers = domains.filter((d) => d.name.startsWith('worker-'));
    expect(workers).toHaveLength(3);
    const isos = new Set(workers.map((d) => d.files.find((f) => f.endsWith('.iso'))));
    expect(isos.size).toBe(1);
    expect([...isos][0]).toMatch(/^\/var\/lib\/vmctx\/images\/context-[0-9a-f]{16}\.iso$/);
    for (const d of domains.filter((x) => VMS.lc2.includes(x.name as never))) expect(d.owner).toMatchObject({ deployment: 'demo', vm: d.name });
    // One base image on each controller, uploaded once and shared by every overlay there.
    const uploaded = first.report.controllers.find((c) => c.controller === 'lc2')!.uploaded.map((u) => u.path);
    expect(uploaded.filter((p) => p.endsWith('.raw'))).toHaveLength(1);
    expect(uploaded.filter((p) => p.endsWith('.iso'))).toHaveLength(2);
  });

  it('a second deploy changes nothing: no upload, no restart', async () => {
    const again = await vmctx(['deploy', '--file', DEMO_DEPLOYMENT, '--json']);
    expect(again.code).toBe(0);
    const report = JSON.parse(again.stdout) as DeployReport;
    for (const c of report.controllers) {
      expect(c.uploaded).toEqual([]);
      for (const v of c.vms) expect(v).toMatchObject({ status: 'unchanged', state: 'running' });
    }
  });
});
