/**
 * `vmctx deploy` of a real distribution, as operators run it: the lab's Debian 12 systemd-networkd guest (the kind
 * most cloud images are; built once per machine by tools/lab/guests/build.sh and shared with guest-distros), its
 * raw image converted to a qcow2 base as cloud images ship, a native template, a static context. Beside it in the
 * same deployment (issue 20), the lab's stock cloud-init guest, unmodified (nothing of vmctx: cloud-init reads the
 * NoCloud seed of vmctx's default CD, and `--wait` waits for cloud-init's own "finished" line). One deploy and
 * one boot each answer every check: the report, the guest's own view of its network and host name (lab-report on its
 * serial console, which the deployer logs), ping from the controller, `status`, and `destroy` leaving nothing of them.
 *
 * The cloud-init guest then boots twice more on its disk, each through the deployer as an operator would
 * (support/cloud-init-guest.ts): powered off by hand and `vmctx deploy --wait` again (the same CD: nothing applied
 * twice); an edited context and `vmctx deploy --restart-if-needed --wait` (issue 21: a guest with cloud-init alone
 * cannot apply a swapped CD live, so the deployer restarts it and waits for the edited context's boot).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeployReport, StatusReport } from '@vmctx/deployer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOUD_FINISHED, cloudEditedContext, cloudStaticContext } from './support/cloud-init-guest.js';
import { addressesOf, buildDistroGuests, DISTRO_CMDLINE, DISTRO_IFACE, reportOf, tagged } from './support/distro-guests.js';
import { controller, hostPath, labEnv, pingFromController, ssh, sshOk } from './support/lab.js';
import { LAB_TEMPLATE, labControllerEntry, vmctx, writeDeployment } from './support/vmctx-cli.js';

const env = labEnv();
const lc = controller(env, 'lc1');
const VM = 'deb-networkd-1';
const IMAGE = 'debian12-networkd';
const ADDRESS = '198.51.100.150';
/** The stock cloud-init guest (tools/lab/guests/cloud-init.sh) deployed beside it. */
const CLOUD_VM = 'deb-cloud-1';
const CLOUD_IMAGE = 'debian12-cloud';
const CLOUD_ADDRESS = '198.51.100.151';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeployerDistroLabKeyOnly000000000000000000 distro-deploy@lab';
const work = mkdtempSync(join(tmpdir(), 'vmctx-deploy-distro-'));
const base = join(work, `${IMAGE}.qcow2`);
const cloudBase = join(work, `${CLOUD_IMAGE}.qcow2`);
let file: string;
let deployed: { code: number; report: DeployReport; stderr: string };
let report: string[];
let cloudReport: string[] | undefined;
let cloudConsole = '';
/** The reports of the deploys after the first (their uploads are this deployment's too). */
const laterReports: DeployReport[] = [];

/** The deployment file (one name, so one deployment whatever its content): both VMs, the cloud-init VM with `cloudContext`. */
function writeDeploymentWith(cloudContext: unknown): string {
  return writeDeployment(work, 'deploy-distro', {
    controllers: [labControllerEntry(env, lc)],
    images: [
      { name: IMAGE, path: base },
      { name: CLOUD_IMAGE, path: cloudBase },
    ],
    vms: [
      {
        name: VM,
        controller: lc.name,
        image: IMAGE,
        template: './debian12.xml',
        bridge: lc.bridge,
        context: {
          hostname: `${VM}.lab.example`,
          network: { method: 'static', address: `${ADDRESS}/24`, gateway: '198.51.100.1', nameservers: ['198.51.100.1'], routes: [{ to: '203.0.113.0/24', via: '198.51.100.1' }] },
          ssh: { authorizedKeys: [KEY] },
        },
      },
      // No isoFormat, no isoLabel: the default CD (NoCloud seed and Snooze's layout, label cidata).
      { name: CLOUD_VM, controller: lc.name, image: CLOUD_IMAGE, template: './debian12.xml', bridge: lc.bridge, context: cloudContext },
    ],
  });
}

/** The cloud-init guest's console (libvirt starts it anew at each start) once it holds boot `n`'s report. */
async function cloudReportOf(n: number): Promise<{ text: string; report: string[] | undefined }> {
  const log = hostPath(lc, `${lc.images}/${CLOUD_VM}.console.log`);
  let text = '';
  // lab-report runs after cloud-final, a little after the "finished" line --wait ended on.
  for (let i = 0; i < 600; i++) {
    text = readFileSync(log, 'utf8');
    const report = reportOf(text, n);
    if (report) return { text, report };
    await sleep(500);
  }
  return { text, report: undefined };
}

/** What of this deployment is on the controller: its domain, and its files in the image folder. */
async function leftovers(): Promise<string[]> {
  const domains = (await sshOk(env, lc, ['virsh', 'list', '--all', '--name'])).split('\n').filter((n) => n === VM || n === CLOUD_VM);
  const out = await sshOk(env, lc, ['sh', '-c', 'cd "$1" && ls -A && ls -A .vmctx 2>/dev/null | sed "s|^|.vmctx/|"; true', 'x', lc.images]);
  // A context ISO is named by its content (context-HASH.iso): the deploy that uploaded it names it.
  const uploaded = new Set([deployed.report, ...laterReports].flatMap((r) => (r.controllers ?? []).flatMap((c) => c.uploaded.map((u) => u.path.slice(lc.images.length + 1)))));
  const files = out
    .split('\n')
    .filter((f) => [VM, CLOUD_VM].some((v) => f.startsWith(`${v}.`)) || [IMAGE, CLOUD_IMAGE].some((i) => f.startsWith(`${i}-`)) || uploaded.has(f) || f === '.vmctx/deploy-distro.json');
  return [...domains.map((d) => `domain ${d}`), ...files];
}

async function removeLeftovers(): Promise<void> {
  for (const [vm, image] of [[VM, IMAGE], [CLOUD_VM, CLOUD_IMAGE]] as const) {
    await ssh(env, lc, ['sh', '-c', 'virsh destroy "$1"; virsh undefine "$1"; cd "$2" && rm -f "$1".* "$3"-* .vmctx/deploy-distro.json', 'x', vm, lc.images, image]);
  }
}

describe('vmctx deploy of a Debian 12 systemd-networkd guest from a qcow2 base image', () => {
  beforeAll(async () => {
    const cache = buildDistroGuests();
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', join(cache, 'systemd-networkd.raw'), base]);
    // The cloud image as it is built, nothing added (no vmctx guest install).
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', join(cache, 'cloud-init.raw'), cloudBase]);
    // The lab template with the memory a systemd guest needs (the busybox guest's 192 MiB is short for it), and the
    // Debian guests' kernel options (DISTRO_CMDLINE: no IPv6 on the lab's IPv4-only network).
    const template = readFileSync(LAB_TEMPLATE, 'utf8')
      .replace("<memory unit='MiB'>192</memory>", "<memory unit='MiB'>256</memory>")
      .replace('no_timer_check</cmdline>', `no_timer_check ${DISTRO_CMDLINE}</cmdline>`);
    if (!template.includes(DISTRO_CMDLINE) || !template.includes("<memory unit='MiB'>256</memory>")) throw new Error(`${LAB_TEMPLATE} changed: its memory or cmdline was not found`);
    writeFileSync(join(work, 'debian12.xml'), template);
    file = writeDeploymentWith(cloudStaticContext(`${CLOUD_VM}.lab.example`, CLOUD_ADDRESS, KEY));
    // What an earlier, interrupted run left: what it recorded (its context ISO too), then anything of its names.
    await vmctx(['destroy', '--file', file, '--yes']);
    await removeLeftovers();
    // Generous: a TCG boot of systemd beside the other suites' guests takes minutes on 2 cores.
    const run = await vmctx(['deploy', '--file', file, '--wait', '--timeout', '900', '--json'], { timeoutMs: 1_200_000 });
    deployed = { code: run.code, report: JSON.parse(run.stdout || '{}') as DeployReport, stderr: run.stderr };
    // lab-report runs once the network has settled, after contextualization: its lines follow on the console.
    const consoleLog = hostPath(lc, `${lc.images}/${VM}.console.log`);
    const cloudLog = hostPath(lc, `${lc.images}/${CLOUD_VM}.console.log`);
    for (let i = 0; deployed.code === 0 && i < 1800 && !(report && cloudReport); i++) {
      report ??= reportOf(readFileSync(consoleLog, 'utf8'), 1)!;
      cloudConsole = readFileSync(cloudLog, 'utf8');
      cloudReport ??= reportOf(cloudConsole, 1);
      if (!(report && cloudReport)) await sleep(500);
    }
  }, 1_500_000);

  afterAll(async () => {
    await removeLeftovers();
    rmSync(work, { recursive: true, force: true });
  });

  it('deploys the VM from the qcow2 base: running, contextualized, its address in the report', () => {
    expect(deployed.code, deployed.stderr).toBe(0);
    const vm = deployed.report.controllers.flatMap((c) => c.vms).find((v) => v.vm === VM);
    expect(vm).toMatchObject({ vm: VM, controller: lc.name, status: 'created', state: 'running', contextualized: true, address: ADDRESS });
    const uploaded = deployed.report.controllers[0]!.uploaded.map((u) => u.path);
    expect(uploaded.filter((p) => p.endsWith('.qcow2') && p.includes(`/${IMAGE}-`))).toHaveLength(1);
  });

  it('the guest has the address, route and host name, networkd holds the link, and the key is in place', () => {
    expect(report, 'the guest printed no report on its console').toBeDefined();
    expect(addressesOf(report)).toEqual([`${ADDRESS}/24`]);
    expect(tagged(report, 'LAB-ROUTE')).toEqual(expect.arrayContaining([expect.stringMatching(/^default via 198\.51\.100\.1 /), expect.stringMatching(/^203\.0\.113\.0\/24 via 198\.51\.100\.1 /)]));
    expect(tagged(report, 'LAB-HOSTNAME')).toEqual([`${VM}.lab.example ${VM}.lab.example`]);
    expect(tagged(report, 'LAB-NETWORKD').join('\n')).toMatch(new RegExp(`${DISTRO_IFACE}\\s+ether\\s+routable\\s+configured`));
    expect(tagged(report, 'LAB-KEY')).toEqual([KEY]);
    // Kept for the next boots as networkd's own file, readable by it.
    expect(tagged(report, 'LAB-STAT')).toContain('644 0 0 /etc/systemd/network/10-vmctx.network');
  });

  it('deploys the stock cloud-init image unmodified: --wait ends on cloud-init\'s "finished" line, the context\'s address reported', () => {
    expect(deployed.code, deployed.stderr).toBe(0);
    const vm = deployed.report.controllers.flatMap((c) => c.vms).find((v) => v.vm === CLOUD_VM);
    expect(vm).toMatchObject({ vm: CLOUD_VM, controller: lc.name, status: 'created', state: 'running', contextualized: true, address: CLOUD_ADDRESS });
    expect(cloudConsole).toMatch(/Cloud-init v\. \S+ finished at [^\n]*DataSourceNoCloud \[seed=\/dev\/sr0\]/);
    // vmctx's script is not in the image; the context's script ran from cloud-init's runcmd (the CD's runner).
    expect(cloudConsole).not.toMatch(/vmctx: contextualization starts/);
    expect(cloudConsole).toMatch(/vmctx: cloud-init scripts done/);
  });

  it("the cloud-init guest's own report: address, MTU, routes with a metric, DNS, host name, key, files and the scripts in order", () => {
    expect(cloudReport, `the cloud-init guest printed no report on its console:\n${cloudConsole.slice(-3000)}`).toBeDefined();
    const r = cloudReport!;
    expect(addressesOf(r)).toEqual([`${CLOUD_ADDRESS}/24`]);
    const routes = tagged(r, 'LAB-ROUTE').map((l) => l.trim());
    expect(routes.some((l) => l.startsWith(`default via 198.51.100.1 dev ${DISTRO_IFACE}`))).toBe(true);
    expect(routes.some((l) => l.startsWith(`203.0.113.0/24 via 198.51.100.1 dev ${DISTRO_IFACE}`))).toBe(true);
    expect(routes.some((l) => /^192\.0\.2\.0\/25 via 198\.51\.100\.1 dev \S+ .*metric 7\b/.test(l))).toBe(true);
    expect(tagged(r, 'LAB-IFACE')[0]).toMatch(/ mtu=1400$/);
    expect(tagged(r, 'LAB-HOSTNAME')).toEqual([`${CLOUD_VM}.lab.example ${CLOUD_VM}.lab.example`]);
    expect(tagged(r, 'LAB-RESOLV')).toEqual(expect.arrayContaining(['nameserver 198.51.100.1', 'nameserver 198.51.100.2', 'search lab.example']));
    expect(tagged(r, 'LAB-STAT')).toEqual(expect.arrayContaining(['644 0 0 /etc/distro-motd', '600 0 0 /etc/distro/secret', '600 0 0 /root/.ssh/authorized_keys']));
    expect(tagged(r, 'LAB-MOTD')).toEqual(['configured by vmctx']);
    // Root's key as given: no forced-command prefix (disable_root: false).
    expect(tagged(r, 'LAB-KEY')).toEqual([KEY]);
    expect(tagged(r, 'LAB-NETWORKD').join('\n')).toMatch(new RegExp(`${DISTRO_IFACE}\\s+ether\\s+routable\\s+configured`));
    // The scripts, with vmctx's environment, in the context's order (the second sees what the first wrote).
    expect(cloudConsole).toMatch(new RegExp(`DISTRO-SCRIPT ip=${CLOUD_ADDRESS.replace(/\./g, '\\.')} iface=${DISTRO_IFACE} host=${CLOUD_VM}\\.lab\\.example`));
    expect(cloudConsole).toMatch(/DISTRO-SCRIPT-2 after=first/);
  });

  it('both answer ping from their controller', async () => {
    expect((await pingFromController(env, lc, ADDRESS)).stdout).toMatch(/1 packets transmitted, 1 received/);
    expect((await pingFromController(env, lc, CLOUD_ADDRESS)).stdout).toMatch(/1 packets transmitted, 1 received/);
  });

  it('status: both running at their addresses, no drift', async () => {
    const status = await vmctx(['status', '--file', file, '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as StatusReport).vms.map((v) => [v.vm, v.state, v.address, v.drift])).toEqual([
      [VM, 'running', ADDRESS, []],
      [CLOUD_VM, 'running', CLOUD_ADDRESS, []],
    ]);
  });

  describe('the cloud-init guest powered off and deployed again with --wait: the same CD (boot 2)', () => {
    let again: DeployReport;
    let text = '';
    let boot: string[] | undefined;
    beforeAll(async () => {
      await sshOk(env, lc, ['virsh', 'destroy', CLOUD_VM]);
      const run = await vmctx(['deploy', '--file', file, '--wait', '--timeout', '900', '--json'], { timeoutMs: 1_200_000 });
      expect(run.code, run.stderr).toBe(0);
      again = JSON.parse(run.stdout) as DeployReport;
      laterReports.push(again);
      ({ text, report: boot } = await cloudReportOf(2));
    }, 1_500_000);

    it('deploy starts it and --wait ends on its "finished" line; the other VM is left as it is', () => {
      const vms = again.controllers.flatMap((c) => c.vms);
      expect(vms.find((v) => v.vm === CLOUD_VM)).toMatchObject({ status: 'unchanged', state: 'running', contextualized: true });
      expect(vms.find((v) => v.vm === VM)).toMatchObject({ status: 'unchanged', state: 'running' });
      expect(text).toMatch(CLOUD_FINISHED);
    });

    it('cloud-init applies nothing again (no script), and the guest comes back at its address, name and key', async () => {
      expect(boot, `no report of boot 2:\n${text.slice(-3000)}`).toBeDefined();
      expect(text).not.toMatch(/DISTRO-SCRIPT/);
      expect(addressesOf(boot!)).toEqual([`${CLOUD_ADDRESS}/24`]);
      expect(tagged(boot!, 'LAB-HOSTNAME')).toEqual([`${CLOUD_VM}.lab.example ${CLOUD_VM}.lab.example`]);
      expect(tagged(boot!, 'LAB-KEY')).toEqual([KEY]);
      // Seen in the lab: this boot's NIC kept the kernel's name, eth0, where the first boot's was udev's ens2 (likely
      // netplan's .link file for the first NIC, written at the first boot with its MTU and no NamePolicy). The
      // network-config matches the first NIC by name e*, so either name is configured.
      expect(tagged(boot!, 'LAB-IFACE')[0]).toMatch(/^(ens2|eth0) /);
      expect((await pingFromController(env, lc, CLOUD_ADDRESS)).stdout).toMatch(/1 packets transmitted, 1 received/);
    });
  });

  describe('an edited context, deploy --restart-if-needed --wait: restarted for it, applied at that boot (boot 3, issues 20 and 21)', () => {
    let edited: DeployReport;
    let text = '';
    let boot: string[] | undefined;
    let inodeBefore = '';
    beforeAll(async () => {
      inodeBefore = await sshOk(env, lc, ['stat', '-c', '%i', `${lc.images}/${CLOUD_VM}.qcow2`]);
      file = writeDeploymentWith(cloudEditedContext(`${CLOUD_VM}-edited.lab.example`, KEY));
      const run = await vmctx(['deploy', '--file', file, '--restart-if-needed', '--shutdown-timeout', '10', '--wait', '--timeout', '900', '--json'], { timeoutMs: 1_200_000 });
      expect(run.code, run.stderr).toBe(0);
      edited = JSON.parse(run.stdout) as DeployReport;
      laterReports.push(edited);
      ({ text, report: boot } = await cloudReportOf(3));
    }, 1_500_000);

    it('a recontextualize over the same disk: the guest, known by its console to have cloud-init alone, is restarted at once', async () => {
      const step = edited.controllers[0]!.plan!.steps.find((s) => s.vm === CLOUD_VM);
      expect(step).toMatchObject({ action: 'recontextualize', diskLoss: false });
      const vm = edited.controllers.flatMap((c) => c.vms).find((v) => v.vm === CLOUD_VM);
      expect(vm).toMatchObject({ status: 'updated', state: 'running', contextualized: true });
      expect(vm!.note).toMatch(/^restarted to take context: the guest did not apply the new context CD live \(its console shows cloud-init alone/);
      expect(vm!.restartNeeded).toBeUndefined();
      expect(await sshOk(env, lc, ['stat', '-c', '%i', `${lc.images}/${CLOUD_VM}.qcow2`])).toBe(inodeBefore);
    });

    it('its new instance id is applied: a DHCP lease, the new host name, the edited file and the new script only', async () => {
      expect(boot, `no report of boot 3:\n${text.slice(-3000)}`).toBeDefined();
      expect(text).toMatch(CLOUD_FINISHED);
      expect(text).toMatch(new RegExp(`DISTRO-EDITED host=${CLOUD_VM}-edited\\.lab\\.example`));
      expect(text).not.toMatch(/DISTRO-SCRIPT/);
      const [address] = addressesOf(boot!);
      expect(address).toMatch(/^198\.51\.100\.(5\d|[6-9]\d)\/24$/);
      expect((await pingFromController(env, lc, address!.split('/')[0]!)).stdout).toMatch(/1 packets transmitted, 1 received/);
      expect(tagged(boot!, 'LAB-HOSTNAME')).toEqual([`${CLOUD_VM}-edited.lab.example ${CLOUD_VM}-edited.lab.example`]);
      expect(tagged(boot!, 'LAB-MOTD')).toEqual(['edited by vmctx']);
    });

    it("status shows the DHCP address the guest reports (the controller's ARP table: no libvirt network leased it)", async () => {
      const [address] = addressesOf(boot ?? []);
      expect(address, 'no address in the report of boot 3').toBeDefined();
      const status = await vmctx(['status', '--file', file, '--json']);
      expect(status.code, status.stderr).toBe(0);
      expect((JSON.parse(status.stdout) as StatusReport).vms.find((v) => v.vm === CLOUD_VM)).toMatchObject({ state: 'running', address: address!.split('/')[0], drift: [] });
    });
  });

  it('destroy removes the domains, their overlays, ISOs and console logs, and the base images no other domain uses', async () => {
    const before = await leftovers();
    expect(before).toEqual(expect.arrayContaining([`domain ${VM}`, `${VM}.qcow2`, expect.stringMatching(/^context-[0-9a-f]{16}\.iso$/), expect.stringMatching(new RegExp(`^${IMAGE}-[0-9a-f]{16}\\.qcow2$`))]));
    expect(before).toEqual(expect.arrayContaining([`domain ${CLOUD_VM}`, `${CLOUD_VM}.qcow2`, expect.stringMatching(new RegExp(`^${CLOUD_IMAGE}-[0-9a-f]{16}\\.qcow2$`))]));
    const destroy = await vmctx(['destroy', '--file', file, '--yes']);
    expect(destroy.code, destroy.stdout + destroy.stderr).toBe(0);
    expect(await leftovers()).toEqual([]);
  });
});
