/**
 * `vmctx status` of a VM whose context gives no address (DHCP, issue 20: a stock cloud image given a DHCP context):
 * a libvirt network's lease of the running domain (virsh domifaddr --source lease), else the controller's ARP
 * table for its MAC, asked only for such a VM. Through the CLI, on the in-process controller (real sh; a fake virsh
 * whose domifaddr prints the rows a test writes, as libvirt prints them; /proc/net/arp read from the test's file).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { captureIo, exitCodeOfRun } from '../cli/capture-io.fixture.js';
import { FakeController, fakeDeploymentHead, useCliController } from '../controller/fake-controller.fixture.js';
import { createProgram } from '../program.js';
import type { StatusReport } from './status.js';

let fake: FakeController;
let dir: string;
useCliController('vmctx-status-', (f, d) => {
  fake = f;
  dir = d;
});

async function vmctx(args: string[], dhcpNetwork = '{ method: dhcp }') {
  await writeFile(
    join(dir, 'deployment.yaml'),
    `${fakeDeploymentHead(fake, dir, 'status')}defaults: { controller: lc1, image: base, bridge: br0, spec: { memory: { value: 64, unit: MiB } } }
vms:
  - { name: dhcp-1, context: { hostname: dhcp-1, network: ${dhcpNetwork} } }
  - { name: static-1, context: { hostname: static-1, network: { method: static, address: 198.51.100.40/24, gateway: 198.51.100.1 } } }
`,
  );
  const io = captureIo();
  const exitCode = await exitCodeOfRun(createProgram(io).parseAsync([...args, '-f', join(dir, 'deployment.yaml'), '--cache', join(dir, 'cache')], { from: 'user' }));
  return { exitCode, out: io.out, err: io.err };
}

const leaseRows = (rows: string) => writeFileSync(join(fake.state, 'domains', 'dhcp-1.addr-lease'), rows);
/** The controller's /proc/net/arp, as the kernel prints it, with `rows` after the header. */
const arpRows = (rows: string) => writeFileSync(join(fake.state, 'arp'), `IP address       HW type     Flags       HW address            Mask     Device\n${rows}`);
/** The MAC the deployer gave dhcp-1 (its definition on the fake controller). */
const macOf = (vm: string) => /<mac address=["']([^"']+)/.exec(readFileSync(join(fake.state, 'domains', `${vm}.xml`), 'utf8'))![1]!;

// The controller's ARP table is the test's: `cat /proc/net/arp` on the fake controller reads state/arp.
beforeEach(() => {
  writeFileSync(join(fake.root, 'bin', 'cat'), '#!/bin/sh\nif [ "$1" = /proc/net/arp ]; then echo "cat $1" >>"$VMCTX_FAKE_STATE/virsh.log"; set -- "$VMCTX_FAKE_STATE/arp"; fi\nexec /bin/cat "$@"\n', { mode: 0o755 });
  arpRows('');
  return () => rmSync(join(fake.root, 'bin', 'cat'), { force: true });
});
const addresses = async () => {
  const run = await vmctx(['status', '--json']);
  expect(run.exitCode, run.err).toBe(0);
  return (JSON.parse(run.out) as StatusReport).vms.map((v) => [v.vm, v.state, v.address]);
};
/** What was asked of the controller for addresses since `forget()`: virsh domifaddr and the ARP table (the fake virsh's log). */
const asked = () => readFileSync(join(fake.state, 'virsh.log'), 'utf8').match(/domifaddr --domain \S+ --source \w+|cat \/proc\/net\/arp/g) ?? [];
const forget = () => writeFileSync(join(fake.state, 'virsh.log'), '');

describe('status of a DHCP VM', () => {
  it("shows the address of the controller's ARP table for its MAC when no libvirt network leased it", async () => {
    expect((await vmctx(['deploy'])).exitCode).toBe(0);
    // An incomplete entry (flags 0x0) and another MAC's are not its address.
    arpRows(`198.51.100.58    0x1         0x0         ${macOf('dhcp-1')}     *        br0\n198.51.100.59    0x1         0x2         52:54:00:99:99:99     *        br0\n`);
    expect((await addresses())[0]).toEqual(['dhcp-1', 'running', undefined]);
    arpRows(`198.51.100.57    0x1         0x2         ${macOf('dhcp-1').toUpperCase()}     *        br0\n`);
    forget();
    expect(await addresses()).toEqual([
      ['dhcp-1', 'running', '198.51.100.57'],
      ['static-1', 'running', '198.51.100.40'],
    ]);
    // Nothing asked for the VM whose context gives its address.
    expect(asked()).toEqual([expect.stringMatching(/^domifaddr --domain [0-9a-f-]{36} --source lease$/), 'cat /proc/net/arp']);
  });

  it("a libvirt network's lease wins over the ARP table", async () => {
    expect((await vmctx(['deploy'])).exitCode).toBe(0);
    leaseRows(' vnet0      52:54:00:0e:1f:2a    ipv4         192.168.122.171/24\n');
    arpRows(`198.51.100.57    0x1         0x2         ${macOf('dhcp-1')}     *        br0\n`);
    expect((await addresses())[0]).toEqual(['dhcp-1', 'running', '192.168.122.171']);
  });

  it('forgets the address of an earlier context: a VM edited from a static address to DHCP shows the one it has now', async () => {
    expect((await vmctx(['deploy'], '{ method: static, address: 198.51.100.41/24, gateway: 198.51.100.1 }')).exitCode).toBe(0);
    arpRows(`198.51.100.57    0x1         0x2         ${macOf('dhcp-1')}     *        br0\n`);
    const edited = await vmctx(['deploy']);
    expect(edited.exitCode, edited.err).toBe(0);
    // Before: 198.51.100.41, the first deploy's, kept in the controller's record.
    expect((await addresses())[0]).toEqual(['dhcp-1', 'running', '198.51.100.57']);
  });

  it('a shut-off VM is not asked', async () => {
    expect((await vmctx(['deploy'])).exitCode).toBe(0);
    arpRows(`198.51.100.57    0x1         0x2         ${macOf('dhcp-1')}     *        br0\n`);
    execFileSync('sh', [join(fake.root, 'bin', 'virsh'), 'destroy', '--domain', 'dhcp-1'], { env: { ...process.env, VMCTX_FAKE_STATE: fake.state } });
    forget();
    expect((await addresses())[0]).toEqual(['dhcp-1', 'shut off', undefined]);
    expect(asked()).toEqual([]);
  });
});
