/**
 * The reference flow again, with vmctx's own artifacts instead of genisoimage, qemu-img and a hand-edited
 * template: guest-script fills the base image and the context tree, iso-builder writes the ISO, disk-builder
 * the overlay (its backing file is the base image's path on the controller, which is not on this machine),
 * template-renderer the domain XML. Guests on both lab controllers boot in parallel; each boot answers
 * several checks: serial log, ping from the controller's namespace, and the guest's disk read after it stops.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOverlay, inspectImage } from '@vmctx/disk-builder';
import { buildContextTree, parseContext, type ContextInput } from '@vmctx/guest-script';
import { writeIsoFromFiles } from '@vmctx/iso-builder';
import { macFromIpv4, parseDomainSpec, renderDomainXml } from '@vmctx/template-renderer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootGuest,
  controller,
  type Guest,
  type LabController,
  labEnv,
  pingFromController,
  readGuestFile,
  upload,
} from './support/lab.js';
import { makeVmctxBaseImage } from './support/vmctx-base.js';

const env = labEnv();
const lc1 = controller(env, 'lc1');
const lc2 = controller(env, 'lc2');
const work = mkdtempSync(join(tmpdir(), 'vmctx-flow-'));
const guests: Guest[] = [];
const BASE = 'vmctx-base.raw';
const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFbs1ARVp5HxaSlbvkQhU6L1/IhtBhcnN5rYRh9bzPJD vmctx-flow-test';

interface VmArtifacts {
  name: string;
  lc: LabController;
  context?: ContextInput;
  mac: string;
  cmdline?: string;
}

/** Builds one VM's ISO, overlay and XML with vmctx's packages, uploads them, and boots it. */
async function deploy(vm: VmArtifacts): Promise<Guest> {
  const images = vm.lc.images;
  const base = await inspectImage(join(work, BASE));
  const overlay = join(work, `${vm.name}.qcow2`);
  await createOverlay({ path: overlay, backingFile: `${images}/${BASE}`, backingFormat: 'raw', virtualSize: base.virtualSize });
  await upload(env, vm.lc, overlay, `${images}/${vm.name}.qcow2`);
  if (vm.context) {
    const iso = join(work, `${vm.name}.iso`);
    await writeIsoFromFiles(buildContextTree(parseContext(vm.context)), iso, { epoch: 1_700_000_000 });
    await upload(env, vm.lc, iso, `${images}/${vm.name}.iso`);
  }
  const spec = parseDomainSpec({
    type: 'qemu',
    name: vm.name,
    memory: { value: 192, unit: 'MiB' },
    os: {
      machine: 'pc',
      kernel: env.guest.kernel,
      initrd: env.guest.initrd,
      cmdline: `console=ttyS0 quiet root=/dev/vda no_timer_check ${vm.cmdline ?? ''}`.trim(),
    },
    devices: {
      emulator: '/usr/bin/qemu-system-x86_64',
      disks: [{ driver: { type: 'qcow2' }, source: { file: `${images}/${vm.name}.qcow2` }, target: { dev: 'vda', bus: 'virtio' } }],
      ...(vm.context ? { context: { source: { file: `${images}/${vm.name}.iso` }, mode: 'cdrom' } } : {}),
      interfaces: [{ type: 'bridge', source: { bridge: vm.lc.bridge }, mac: { address: vm.mac }, model: { type: 'virtio' } }],
      serials: [{ type: 'file', source: { path: `${images}/${vm.name}.serial.log` } }],
    },
  });
  const xml = renderDomainXml(spec, { deployment: 'vmctx-flow-test' });
  const guest = await bootGuest(env, vm.lc, { name: vm.name, disk: `${images}/${vm.name}.qcow2` }, xml);
  guests.push(guest);
  return guest;
}

describe('vmctx artifacts boot real guests on two lab controllers', () => {
  beforeAll(async () => {
    const base = await makeVmctxBaseImage(env, work, BASE);
    await Promise.all([upload(env, lc1, base, `${lc1.images}/${BASE}`), upload(env, lc2, base, `${lc2.images}/${BASE}`)]);
  });

  afterAll(async () => {
    await Promise.all(guests.map((g) => g.destroy()));
    rmSync(work, { recursive: true, force: true });
  });

  it.concurrent('static address, routes, DNS, hostname, key, file and script from a vmctx CD (lc1)', async () => {
    const guest = await deploy({
      name: 'vmctx-static',
      lc: lc1,
      mac: '52:54:00:00:01:20',
      cmdline: 'lab.mark=static-done',
      context: {
        hostname: 'web-1.lab.example',
        network: {
          method: 'static',
          address: '198.51.100.20/24',
          gateway: '198.51.100.1',
          routes: [{ to: '203.0.113.0/24', via: '198.51.100.1' }],
          nameservers: ['198.51.100.1'],
          search: ['lab.example'],
        },
        ssh: { authorizedKeys: [SSH_KEY] },
        files: [{ path: '/etc/vmctx-motd', content: 'configured by vmctx\n', mode: '0640' }],
        scripts: [{ name: 'hello', content: '#!/bin/sh\necho "VMCTX-USER-SCRIPT ran as $(id -u)" >/dev/console\n' }],
      },
    });
    await guest.waitForSerial(/LAB-MARK-WRITTEN static-done/);
    const log = guest.serial();
    expect(log).toMatch(/vmctx: .*post-install done/);
    expect(log).toContain('VMCTX-USER-SCRIPT ran as 0');
    expect((await pingFromController(env, lc1, '198.51.100.20')).stdout).toMatch(/1 packets transmitted, 1 received/);
    await guest.destroy();

    // What the guest wrote, read from its overlay on the controller; the base image is untouched.
    const overlay = `${lc1.images}/vmctx-static.qcow2`;
    const read = (path: string, image = overlay, format: 'qcow2' | 'raw' = 'qcow2') => readGuestFile(env, lc1, image, path, format);
    expect((await read('/etc/hostname')).trim()).toBe('web-1.lab.example');
    const resolvConf = await read('/etc/resolv.conf');
    expect(resolvConf).toContain('nameserver 198.51.100.1');
    expect(resolvConf).toContain('search lab.example');
    expect(await read('/root/.ssh/authorized_keys')).toContain(SSH_KEY);
    expect(await read('/etc/vmctx-motd')).toBe('configured by vmctx\n');
    expect((await read('/var/lib/lab-mark')).trim()).toBe('static-done');
    expect(await read('/etc/network/interfaces')).toMatch(/198\.51\.100\.20/);
    expect(await read('/var/log/contextualization.log')).toMatch(/post-install done/);
    expect(await read('/var/lib/lab-mark', `${lc1.images}/${BASE}`, 'raw')).toBe('');
  });

  it.concurrent('IP-from-MAC: the address comes from the MAC that template-renderer made (lc2)', async () => {
    const mac = macFromIpv4('198.51.100.21');
    const guest = await deploy({
      name: 'vmctx-ipmac',
      lc: lc2,
      mac,
      context: { network: { method: 'ip-from-mac', prefix: 24, gateway: '198.51.100.1' } },
    });
    await guest.waitForSerial(/LAB-RC-LOCAL-DONE/);
    expect(guest.serial()).toMatch(/vmctx: .*post-install done/);
    expect((await pingFromController(env, lc2, '198.51.100.21')).stdout).toMatch(/1 packets transmitted, 1 received/);
  });

  it.concurrent('no CD: the vmctx script falls back to DHCP (lc2)', async () => {
    const guest = await deploy({ name: 'vmctx-dhcp', lc: lc2, mac: '52:54:00:00:01:22' });
    const [, address] = await guest.waitForSerial(/LAB-DHCP-LEASE eth0 (198\.51\.100\.\d+)\/24/);
    await guest.waitForSerial(/LAB-RC-LOCAL-DONE/);
    expect(guest.serial()).toMatch(/vmctx: .*falling back to DHCP/);
    expect((await pingFromController(env, lc2, address!)).stdout).toMatch(/1 packets transmitted, 1 received/);
  });
});
