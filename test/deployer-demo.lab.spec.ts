/**
 * The product's main job on the lab: `vmctx deploy --wait` of the demo deployment (5 VMs on 2 controllers, a
 * group of 3 sharing one IP-from-MAC context ISO), as `npm run demo` runs it. One deploy answers many checks:
 * the report, the guests' addresses pinged from the controllers' namespaces, host names and keys in their
 * console logs, the shared ISO, the owner mark; then a second deploy that must change nothing.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ArtifactCache, buildArtifacts, listDomains, loadDeployment, quoteArg, type DeployReport, type StatusReport } from '@vmctx/deployer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionTo, controller, hostPath, labEnv, pingFromController, ssh, sshOk, waitUntil } from './support/lab.js';
import { DEMO_DEPLOYMENT, demoBaseImage, LAB_TEMPLATE, vmctx } from './support/vmctx-cli.js';

const env = labEnv();
const lc1 = controller(env, 'lc1');
const lc2 = controller(env, 'lc2');
const VMS = { lc1: ['web-1'], lc2: ['web-2', 'worker-1', 'worker-2', 'worker-3'] } as const;

const work = mkdtempSync(join(tmpdir(), 'vmctx-demo-e2e-'));
/** The copy of the demo file that the tests edit. */
const EDITED = join(work, 'deployment.yaml');

/**
 * The demo's context ISOs (file names: each is named by its content's hash) per controller, from the deployer's own
 * build of the demo file and of its edited copy. Other suites keep their own context-*.iso in the same folder at
 * the same time: only these are the demo's to remove or to count.
 */
async function demoIsos(): Promise<Record<string, string[]>> {
  const isos: Record<string, string[]> = { lc1: [], lc2: [] };
  const cache = new ArtifactCache(join(work, 'iso-names-cache'));
  for (const file of [DEMO_DEPLOYMENT, EDITED].filter((f) => existsSync(f))) {
    for (const a of await buildArtifacts(await loadDeployment(file), { cache })) if (a.iso) isos[a.controller.name]!.push(basename(a.iso.remotePath));
  }
  return isos;
}

async function removeDemo(): Promise<void> {
  const isos = await demoIsos();
  for (const lc of [lc1, lc2]) {
    const names = VMS[lc.name as 'lc1' | 'lc2'];
    // The demo's own files too (its base image, overlays, ISOs, console logs), so that the first deploy uploads.
    // Only names of this deployment: other suites run on the same controllers at the same time.
    const script = [
      'cd /var/lib/vmctx/images || exit 1',
      'for d in "$@"; do virsh destroy "$d"; virsh undefine "$d"; rm -f "$d.qcow2" "$d.console.log"; done',
      `rm -f vmctx-base-*.raw ${isos[lc.name]!.map((iso) => quoteArg(iso)).join(' ')}`,
    ].join('\n');
    await ssh(env, lc, ['sh', '-c', script, 'x', ...names]);
  }
}

let first: { code: number; report: DeployReport; stderr: string };
// Placed by hand before the first deploy: destroy must leave both alone.
const FOREIGN_DOMAIN = 'demo-e2e-foreign';
const FOREIGN_FILE = '/var/lib/vmctx/images/operator-notes.txt';

/** The demo's own names on a controller: its domains, and its files in the image folder. */
async function demoLeftovers(lc: typeof lc1): Promise<string[]> {
  const domains = (await sshOk(env, lc, ['virsh', 'list', '--all', '--name'])).split('\n').filter((n) => /^(web|worker)-\d$/.test(n));
  // Other deployments of other suites may keep their own state files in .vmctx/: only the demo's counts.
  const out = await sshOk(env, lc, ['sh', '-c', 'cd "$1" && ls -A && ls -A .vmctx 2>/dev/null | sed "s|^|.vmctx/|"; true', 'x', lc.images]);
  const isos = (await demoIsos())[lc.name]!;
  const files = out.split('\n').filter((f) => /^(web-|worker-|vmctx-base-|\.vmctx\/demo\.json$)/.test(f) || isos.includes(f));
  return [...domains.map((d) => `domain ${d}`), ...files];
}

const disk = (lc: typeof lc1, vm: string) => statSync(hostPath(lc, `${lc.images}/${vm}.qcow2`)).ino;

/**
 * The lab template with a maximum of 256 MiB, of which `mib` are given (`<currentMemory>`), and of 2 vCPUs, of which
 * `vcpus` are online (`<vcpu current>`): room to grow live.
 */
function web2Template(mib: number, vcpus: number): string {
  const xml = readFileSync(LAB_TEMPLATE, 'utf8')
    .replace("<memory unit='MiB'>192</memory>", `<memory unit='MiB'>256</memory>\n  <currentMemory unit='MiB'>${mib}</currentMemory>`)
    .replace('<vcpu>1</vcpu>', `<vcpu current='${vcpus}'>2</vcpu>`);
  expect(xml).toMatch(/<currentMemory/);
  expect(xml).toMatch(/<vcpu current=/);
  return xml;
}

/**
 * A file web-2's guest wrote on its disk, read from its overlay while it runs (qemu-img -U shares the image QEMU
 * holds; debugfs reads ext4 without mounting it). The guest's page cache reaches its disk within its writeback
 * interval (30 s): read until the file says `content`.
 */
async function guestWrote(path: string, content: RegExp): Promise<string> {
  const script = 'set -e; flat=$(mktemp /tmp/vmctx-flat.XXXXXX); trap \'rm -f "$flat"\' EXIT; qemu-img convert -U -f qcow2 -O raw "$1" "$flat"; debugfs -R "cat $2" "$flat" 2>/dev/null';
  const read = async () => (await ssh(env, lc2, ['sh', '-c', script, 'x', `${lc2.images}/web-2.qcow2`, path])).stdout;
  return waitUntil(async () => {
    const text = await read();
    return content.test(text) && text;
  }, 60_000, `${path} on web-2's disk to match ${content}`, 2000);
}

describe('vmctx deploy: the demo deployment on two lab controllers', () => {
  beforeAll(async () => {
    demoBaseImage();
    await removeDemo();
    const foreign = readFileSync(LAB_TEMPLATE, 'utf8').replace('<name>debian1</name>', `<name>${FOREIGN_DOMAIN}</name>`).replace(/<interface[\s\S]*?<\/interface>/, '');
    await sshOk(env, lc2, ['sh', '-c', 'virsh define /dev/stdin && echo "not vmctx\'s" >"$1"', 'x', FOREIGN_FILE], foreign);
    const run = await vmctx(['deploy', '--file', DEMO_DEPLOYMENT, '--wait', '--timeout', '240', '--json']);
    first = { code: run.code, report: JSON.parse(run.stdout || '{}') as DeployReport, stderr: run.stderr };
  });

  afterAll(async () => {
    await removeDemo();
    await ssh(env, lc2, ['sh', '-c', 'virsh undefine "$1"; rm -f "$2"', 'x', FOREIGN_DOMAIN, FOREIGN_FILE]);
    rmSync(work, { recursive: true, force: true });
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

  it('a second deploy changes nothing: no upload, no restart, not even the state file', async () => {
    const stateFile = hostPath(lc2, `${lc2.images}/.vmctx/demo.json`);
    const before = statSync(stateFile).mtimeMs;
    const again = await vmctx(['deploy', '--file', DEMO_DEPLOYMENT, '--json']);
    expect(statSync(stateFile).mtimeMs).toBe(before);
    expect(again.code).toBe(0);
    const report = JSON.parse(again.stdout) as DeployReport;
    for (const c of report.controllers) {
      expect(c.uploaded).toEqual([]);
      for (const v of c.vms) expect(v).toMatchObject({ status: 'unchanged', state: 'running' });
    }
  });

  it('deploy --wait of a VM powered off by hand: started again, its guest saying it was contextualized before counts as done (issue 24)', async () => {
    await sshOk(env, lc1, ['virsh', 'destroy', 'web-1']);
    const started = Date.now();
    const again = await vmctx(['deploy', '--file', DEMO_DEPLOYMENT, '--wait', '--timeout', '120', '--json']);
    expect(again.code, again.stderr).toBe(0);
    const web1 = (JSON.parse(again.stdout) as DeployReport).controllers.flatMap((c) => c.vms).find((v) => v.vm === 'web-1')!;
    expect(web1).toMatchObject({ status: 'unchanged', state: 'running', contextualized: true });
    // Its console log begins with this boot (append off): one start of the script, the guest's own word. The lab's
    // busybox guest may have lost its instance-id to the power cut (nothing synced it) and apply its context again;
    // a guest that kept it says it is "already contextualized" (wait.spec; guest-distros' second boots).
    const log = readFileSync(hostPath(lc1, `${lc1.images}/web-1.console.log`), 'utf8');
    expect(log.match(/vmctx: contextualization starts/g)).toHaveLength(1);
    expect(log).toMatch(/vmctx: (instance \S+ is already contextualized; bringing up its network|post-install done)/);
    // Well within the timeout: it did not wait for a line that never comes.
    expect(Date.now() - started).toBeLessThan(110_000);
  });

  it('one VM edited in the file and one by hand on its controller: plan names both (exit 2), status shows the hand edit as drift; deploy defines both again over their disks (a new context CD for one), restarts only the one whose change needs it (restart: when-needed, a new maximum) and leaves the other running (its running definition already had it); same UUIDs, MACs and disks', async () => {
    const domainsBefore = [...(await listDomains(await connectionTo(env, lc1))), ...(await listDomains(await connectionTo(env, lc2)))];
    // web-2: a new host name, and room to grow: a template of its own whose maximum (256 MiB) is above what it is
    // given (192 MiB), which only a restart gives it; restart: when-needed lets deploy do it.
    const edited = readFileSync(DEMO_DEPLOYMENT, 'utf8')
      .replace('hostname: web-2.demo.example', 'hostname: web-2-edited.demo.example')
      .replace('  - name: web-2\n    controller: lc2\n', '  - name: web-2\n    controller: lc2\n    template: ./lab-guest-web2.xml\n    restart: when-needed\n');
    expect(edited).toMatch(/restart: when-needed/);
    writeFileSync(EDITED, edited);
    // The same deployment, edited in another folder: it keeps its id, or the controllers would refuse its record as
    // another deployment's (DEPLOY_RECORD_CLASH).
    copyFileSync(`${DEMO_DEPLOYMENT}.vmctx-id`, `${EDITED}.vmctx-id`);
    copyFileSync(LAB_TEMPLATE, join(work, 'lab-guest.xml'));
    writeFileSync(join(work, 'lab-guest-web2.xml'), web2Template(192, 1));
    const file = EDITED;
    // An operator's edit of web-1's persistent definition (192 MiB in the template): libvirt's own command.
    await sshOk(env, lc1, ['virsh', 'setmaxmem', 'web-1', '262144', '--config']);
    const web1Id = await sshOk(env, lc1, ['virsh', 'domid', 'web-1']);

    const plan = await vmctx(['plan', '--file', file, '--json']);
    expect(plan.code, plan.stderr).toBe(2);
    const steps = (JSON.parse(plan.stdout) as DeployReport).controllers.flatMap((c) => c.plan!.steps.map((st) => ({ ...st, controller: c.controller })));
    expect(steps.filter((st) => st.action !== 'unchanged').map((st) => [st.controller, st.vm, st.action])).toEqual([
      ['lc1', 'web-1', 'update'],
      ['lc2', 'web-2', 'recontextualize'],
    ]);
    expect(steps.find((st) => st.vm === 'web-2')!.reasons.join(' ')).toMatch(/context changed/);
    expect(steps.find((st) => st.vm === 'web-2')).toMatchObject({ diskLoss: false, restartNeeded: ['maximum memory 192 MiB → 256 MiB', 'maximum vCPUs 1 → 2'], restart: true });
    // The hand edit never reached the running guest: putting the definition back needs no restart.
    expect(steps.find((st) => st.vm === 'web-1')).toMatchObject({ reasons: ['domain edited on the controller: /domain/memory: 192 MiB → 262144 KiB'], diskLoss: false, live: [], restartNeeded: [], restart: false });
    const status = await vmctx(['status', '--file', DEMO_DEPLOYMENT, '--json']);
    expect(status.code, status.stderr).toBe(1);
    expect((JSON.parse(status.stdout) as StatusReport).vms.filter((v) => v.drift.length > 0).map((v) => [v.vm, v.drift])).toEqual([
      ['web-1', ['domain edited on the controller: /domain/memory: 192 MiB → 262144 KiB']],
    ]);

    const disks = [disk(lc1, 'web-1'), disk(lc2, 'web-2')];
    // The lab's busybox guest has no acpid: it ignores virsh shutdown, and is powered off after 5 s.
    const deploy = await vmctx(['deploy', '--file', file, '--wait', '--timeout', '240', '--json', '--shutdown-timeout', '5']);
    expect(deploy.code, deploy.stderr).toBe(0);
    const vms = (JSON.parse(deploy.stdout) as DeployReport).controllers.flatMap((c) => c.vms);
    expect(vms.filter((v) => v.status !== 'unchanged').map((v) => [v.vm, v.status])).toEqual([
      ['web-1', 'updated'],
      ['web-2', 'updated'],
    ]);
    expect(vms.find((v) => v.vm === 'web-2')!.note).toMatch(/^restarted to take maximum memory 192 MiB → 256 MiB/);
    expect(vms.find((v) => v.vm === 'web-1')!.restartNeeded).toBeUndefined();
    // The hand edit put back and the new context taken, each over the same disk; web-1 was not restarted.
    expect([disk(lc1, 'web-1'), disk(lc2, 'web-2')]).toEqual(disks);
    expect(await sshOk(env, lc1, ['virsh', 'domid', 'web-1'])).toBe(web1Id);
    const after = [...(await listDomains(await connectionTo(env, lc1))), ...(await listDomains(await connectionTo(env, lc2)))];
    for (const name of ['web-1', 'web-2']) {
      const was = domainsBefore.find((d) => d.name === name)!;
      const now = after.find((d) => d.name === name)!;
      expect([now.uuid, now.macs]).toEqual([was.uuid, was.macs]);
    }
    expect(after.find((d) => d.name === 'web-1')!.xml).toMatch(/<memory unit='KiB'>196608<\/memory>/);
    expect(readFileSync(hostPath(lc2, `${lc2.images}/web-2.console.log`), 'utf8')).toMatch(/host name web-2-edited\.demo\.example/);
    expect((await vmctx(['plan', '--file', file])).code).toBe(0);
  });

  it('more memory and vCPUs within the running maximum are applied live: virsh dominfo shows them with no restart (same domain id); what the guest wrote, the UUID, MAC and disk stay', async () => {
    const dominfo = async () => Object.fromEntries((await sshOk(env, lc2, ['virsh', 'dominfo', 'web-2'])).split('\n').map((l) => l.split(/:\s+/) as [string, string]));
    const before = { info: await dominfo(), domain: (await listDomains(await connectionTo(env, lc2))).find((d) => d.name === 'web-2')!, disk: disk(lc2, 'web-2') };
    expect([before.info['Max memory'], before.info['Used memory'], before.info['CPU(s)']]).toEqual(['262144 KiB', '196608 KiB', '1']);
    // What the guest wrote on its disk (its host name: the first boot's, or the last one's once its writeback ran),
    // read from the overlay as it runs.
    expect(await guestWrote('/etc/hostname', /^web-2(-edited)?\.demo\.example\n$/)).toBeTruthy();

    writeFileSync(join(work, 'lab-guest-web2.xml'), web2Template(240, 2));
    const plan = await vmctx(['plan', '--file', EDITED, '--json']);
    expect(plan.code, plan.stderr).toBe(2);
    const step = (JSON.parse(plan.stdout) as DeployReport).controllers.flatMap((c) => c.plan!.steps).find((st) => st.vm === 'web-2');
    expect(step).toMatchObject({ action: 'update', diskLoss: false, live: ['memory 192 MiB → 240 MiB', 'vCPUs 1 → 2'], restartNeeded: [], restart: false });
    const started = Date.now();
    const deploy = await vmctx(['deploy', '--file', EDITED, '--json']);
    expect(deploy.code, deploy.stderr).toBe(0);
    const web2 = (JSON.parse(deploy.stdout) as DeployReport).controllers.flatMap((c) => c.vms).find((v) => v.vm === 'web-2')!;
    expect(web2).toMatchObject({ status: 'updated', state: 'running', note: expect.stringMatching(/^applied live: memory 192 MiB → 240 MiB; vCPUs 1 → 2; no restart needed/) });
    // The guest's balloon driver gives the memory back within seconds; libvirt reports it once the guest did.
    const info = await waitUntil(async () => {
      const now = await dominfo();
      return now['Used memory'] === '245760 KiB' && now;
    }, 30_000, 'web-2 to use 240 MiB', 500);
    console.log(`live memory: deploy ${Date.now() - started} ms to the guest using 240 MiB`);
    expect([info['Id'], info['Max memory'], info['CPU(s)'], info['State']]).toEqual([before.info['Id'], '262144 KiB', '2', 'running']);
    const now = (await listDomains(await connectionTo(env, lc2))).find((d) => d.name === 'web-2')!;
    expect([now.uuid, now.macs, disk(lc2, 'web-2')]).toEqual([before.domain.uuid, before.domain.macs, before.disk]);
    // What the guest wrote is still on its disk (or its last boot's write reached it meanwhile: the same file).
    expect(await guestWrote('/etc/hostname', /^web-2(-edited)?\.demo\.example\n$/)).toBeTruthy();
    expect((await vmctx(['plan', '--file', EDITED])).code).toBe(0);
  });

  it('status from another machine (an empty cache) finds every VM running and in sync', async () => {
    const status = await vmctx(['status', '--file', EDITED, '--cache', join(work, 'fresh-cache'), '--json']);
    expect(status.code, status.stdout + status.stderr).toBe(0);
    const report = JSON.parse(status.stdout) as StatusReport;
    expect(report.vms.map((v) => [v.vm, v.state, v.address, v.drift])).toEqual([
      ['web-1', 'running', '198.51.100.21', []],
      ['web-2', 'running', '198.51.100.22', []],
      ['worker-1', 'running', '198.51.100.31', []],
      ['worker-2', 'running', '198.51.100.32', []],
      ['worker-3', 'running', '198.51.100.33', []],
    ]);
  });

  it('destroy leaves both controllers as before the first deploy; the foreign domain and file stay', async () => {
    const file = EDITED;
    const refused = await vmctx(['destroy', '--file', file]);
    expect(refused.code).toBe(2);
    expect(await demoLeftovers(lc2)).not.toEqual([]);
    const destroy = await vmctx(['destroy', '--file', file, '--yes']);
    expect(destroy.code, destroy.stdout + destroy.stderr).toBe(0);
    expect(await demoLeftovers(lc1)).toEqual([]);
    expect(await demoLeftovers(lc2)).toEqual([]);
    expect((await sshOk(env, lc2, ['virsh', 'list', '--all', '--name'])).split('\n')).toContain(FOREIGN_DOMAIN);
    expect(await sshOk(env, lc2, ['cat', FOREIGN_FILE])).toBe("not vmctx's\n");
    const again = await vmctx(['destroy', '--file', file, '--yes']);
    expect(again.stdout).toMatch(/lc1: nothing of demo\nlc2: nothing of demo/);
  });
});
