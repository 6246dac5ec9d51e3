/**
 * `vmctx deploy` of a real distribution, as operators run it: the lab's Debian 12 systemd-networkd guest (the kind
 * most cloud images are; built once per machine by tools/lab/guests/build.sh and shared with guest-distros), its
 * raw image converted to a qcow2 base as cloud images ship, a native template, a static context. One deploy and
 * one boot answer every check: the report, the guest's own view of its network and host name (lab-report on its
 * serial console, which the deployer logs), ping from the controller, `status`, and `destroy` leaving nothing of it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeployReport, StatusReport } from '@vmctx/deployer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressesOf, buildDistroGuests, DISTRO_IFACE, reportOf, tagged } from './support/distro-guests.js';
import { controller, hostPath, labEnv, pingFromController, ssh, sshOk } from './support/lab.js';
import { LAB_TEMPLATE, labControllerEntry, vmctx, writeDeployment } from './support/vmctx-cli.js';

const env = labEnv();
const lc = controller(env, 'lc1');
const VM = 'deb-networkd-1';
const IMAGE = 'debian12-networkd';
const ADDRESS = '198.51.100.150';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeployerDistroLabKeyOnly000000000000000000 distro-deploy@lab';
const work = mkdtempSync(join(tmpdir(), 'vmctx-deploy-distro-'));
let file: string;
let deployed: { code: number; report: DeployReport; stderr: string };
let report: string[];

/** What of this deployment is on the controller: its domain, and its files in the image folder. */
async function leftovers(): Promise<string[]> {
  const domains = (await sshOk(env, lc, ['virsh', 'list', '--all', '--name'])).split('\n').filter((n) => n === VM);
  const out = await sshOk(env, lc, ['sh', '-c', 'cd "$1" && ls -A && ls -A .vmctx 2>/dev/null | sed "s|^|.vmctx/|"; true', 'x', lc.images]);
  // The context ISO is named by its content (context-HASH.iso): the first deploy's report names it.
  const uploaded = new Set((deployed.report.controllers ?? []).flatMap((c) => c.uploaded.map((u) => u.path.slice(lc.images.length + 1))));
  const files = out.split('\n').filter((f) => f.startsWith(`${VM}.`) || f.startsWith(`${IMAGE}-`) || uploaded.has(f) || f === '.vmctx/deploy-distro.json');
  return [...domains.map((d) => `domain ${d}`), ...files];
}

async function removeLeftovers(): Promise<void> {
  await ssh(env, lc, ['sh', '-c', 'virsh destroy "$1"; virsh undefine "$1"; cd "$2" && rm -f "$1".* "$3"-* .vmctx/deploy-distro.json', 'x', VM, lc.images, IMAGE]);
}

describe('vmctx deploy of a Debian 12 systemd-networkd guest from a qcow2 base image', () => {
  beforeAll(async () => {
    const cache = buildDistroGuests();
    const base = join(work, `${IMAGE}.qcow2`);
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', join(cache, 'systemd-networkd.raw'), base]);
    // The lab template with the memory a systemd guest needs (the busybox guest's 192 MiB is short for it).
    writeFileSync(join(work, 'debian12.xml'), readFileSync(LAB_TEMPLATE, 'utf8').replace("<memory unit='MiB'>192</memory>", "<memory unit='MiB'>256</memory>"));
    file = writeDeployment(work, 'deploy-distro', {
      controllers: [labControllerEntry(env, lc)],
      images: [{ name: IMAGE, path: base }],
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
      ],
    });
    // What an earlier, interrupted run left: what it recorded (its context ISO too), then anything of its names.
    await vmctx(['destroy', '--file', file, '--yes']);
    await removeLeftovers();
    // Generous: a TCG boot of systemd beside the other suites' guests takes minutes on 2 cores.
    const run = await vmctx(['deploy', '--file', file, '--wait', '--timeout', '900', '--json'], { timeoutMs: 1_200_000 });
    deployed = { code: run.code, report: JSON.parse(run.stdout || '{}') as DeployReport, stderr: run.stderr };
    // lab-report runs once the network has settled, after contextualization: its lines follow on the console.
    const consoleLog = hostPath(lc, `${lc.images}/${VM}.console.log`);
    for (let i = 0; deployed.code === 0 && i < 1800; i++) {
      const found = reportOf(readFileSync(consoleLog, 'utf8'), 1);
      if (found) {
        report = found;
        break;
      }
      await sleep(500);
    }
  }, 1_500_000);

  afterAll(async () => {
    await removeLeftovers();
    rmSync(work, { recursive: true, force: true });
  });

  it('deploys the VM from the qcow2 base: running, contextualized, its address in the report', () => {
    expect(deployed.code, deployed.stderr).toBe(0);
    const [vm] = deployed.report.controllers.flatMap((c) => c.vms);
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

  it('answers ping from its controller', async () => {
    expect((await pingFromController(env, lc, ADDRESS)).stdout).toMatch(/1 packets transmitted, 1 received/);
  });

  it('status: running at its address, no drift', async () => {
    const status = await vmctx(['status', '--file', file, '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as StatusReport).vms.map((v) => [v.vm, v.state, v.address, v.drift])).toEqual([[VM, 'running', ADDRESS, []]]);
  });

  it('destroy removes the domain, its overlay, ISO and console log, and the base image no other domain uses', async () => {
    const before = await leftovers();
    expect(before).toEqual(expect.arrayContaining([`domain ${VM}`, `${VM}.qcow2`, expect.stringMatching(/^context-[0-9a-f]{16}\.iso$/), expect.stringMatching(new RegExp(`^${IMAGE}-[0-9a-f]{16}\\.qcow2$`))]));
    const destroy = await vmctx(['destroy', '--file', file, '--yes']);
    expect(destroy.code, destroy.stdout + destroy.stderr).toBe(0);
    expect(await leftovers()).toEqual([]);
  });
});
