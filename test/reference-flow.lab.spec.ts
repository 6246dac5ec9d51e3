/**
 * The seed document's manual flow, with the Debian tools, through SSH to lab controllers: the yardstick that
 * vmctx's own packages must reproduce. Case 1 boots with the context CD and checks what post-install did;
 * case 2 boots the same base without a CD and checks the DHCP fallback (`ifup eth0`).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootGuest, controller, type Guest, labEnv, pingFromController, sshOk, upload } from './support/lab.js';

const env = labEnv();
const work = mkdtempSync(join(tmpdir(), 'vmctx-reference-'));
const guests: Guest[] = [];

const STATIC_IP = '198.51.100.10';

/** A context/ folder as the seed describes it, in Snooze's format. */
function writeContextFolder(dir: string): void {
  mkdirSync(join(dir, 'common'), { recursive: true });
  writeFileSync(
    join(dir, 'common/network'),
    [
      `IP=${STATIC_IP}`,
      'GATEWAY=198.51.100.1',
      'NETWORK=198.51.100.0',
      'BROADCAST=198.51.100.255',
      'NETMASK=255.255.255.0',
      'NAMESERVER=198.51.100.1',
      'DOMAIN=lab.example',
      'SEARCH=',
      '',
    ].join('\n'),
  );
  // ifupdown `up` lines, as Snooze's common/routes: a route to another documentation network via the bridge.
  writeFileSync(join(dir, 'common/routes'), 'up route add -net 203.0.113.0 netmask 255.255.255.0 gw 198.51.100.1 dev eth0\n');
  // The seed runs it as `bash /mnt/post-install` from / (not from /mnt), so paths are absolute.
  writeFileSync(
    join(dir, 'post-install'),
    `#!/bin/bash
echo "REFERENCE-POST-INSTALL start" > /dev/ttyS0
. /mnt/common/network
ip link set eth0 up
ip addr add "$IP/$NETMASK" broadcast "$BROADCAST" dev eth0
ip route add default via "$GATEWAY" dev eth0
sed -n 's/^up //p' /mnt/common/routes | while read -r cmd; do $cmd; done
echo "nameserver $NAMESERVER" > /etc/resolv.conf
echo "REFERENCE-ADDR $(ip -4 -o addr show dev eth0 | awk '{print $4}')" > /dev/ttyS0
ip route | sed 's/^/REFERENCE-ROUTE /' > /dev/ttyS0
echo "REFERENCE-POST-INSTALL done" > /dev/ttyS0
`,
  );
  chmodSync(join(dir, 'post-install'), 0o755);
}

describe('the seed reference flow with genisoimage, qemu-img and virsh', () => {
  const lc1 = controller(env, 'lc1');
  const lc2 = controller(env, 'lc2');

  beforeAll(() => {
    writeContextFolder(join(work, 'context'));
  });

  afterAll(async () => {
    await Promise.all(guests.map((g) => g.destroy()));
    rmSync(work, { recursive: true, force: true });
  });

  it.concurrent('boots with the context CD: post-install ran, static address, routes, ping', async () => {
    const name = 'reference-static';
    const images = lc1.images;
    // ($) genisoimage -RJ -o context.iso context
    execFileSync('genisoimage', ['-quiet', '-RJ', '-o', join(work, 'context.iso'), 'context'], { cwd: work });
    await upload(env, lc1, join(work, 'context.iso'), `${images}/${name}.iso`);
    // ($) qemu-img create -b debian-base.raw -f qcow2 debian1.qcow2, with the backing format current QEMU wants.
    await sshOk(env, lc1, ['sh', '-c', 'cd "$1" && rm -f "$2" && qemu-img create -q -f qcow2 -F raw -b debian-base.raw "$2"', 'x', images, `${name}.qcow2`]);

    const guest = await bootGuest(env, lc1, {
      name,
      disk: `${images}/${name}.qcow2`,
      iso: `${images}/${name}.iso`,
      mac: '52:54:00:00:00:10',
    });
    guests.push(guest);
    await guest.waitForSerial(/REFERENCE-POST-INSTALL done/);
    const log = guest.serial();
    expect(log).toContain('REFERENCE-POST-INSTALL start');
    expect(log).toMatch(new RegExp(`REFERENCE-ADDR ${STATIC_IP.replaceAll('.', '\\.')}/24`));
    expect(log).toMatch(/REFERENCE-ROUTE default via 198\.51\.100\.1 dev eth0/);
    expect(log).toMatch(/REFERENCE-ROUTE 203\.0\.113\.0\/24 via 198\.51\.100\.1 dev eth0/);
    await guest.waitForSerial(/LAB-RC-LOCAL-DONE/);

    const ping = await pingFromController(env, lc1, STATIC_IP);
    expect(ping.stdout).toMatch(/1 packets transmitted, 1 received/);
  });

  it.concurrent('boots without a CD: ifup eth0 takes a DHCP lease from the bridge, ping', async () => {
    const name = 'reference-dhcp';
    const images = lc2.images;
    await sshOk(env, lc2, ['sh', '-c', 'cd "$1" && rm -f "$2" && qemu-img create -q -f qcow2 -F raw -b debian-base.raw "$2"', 'x', images, `${name}.qcow2`]);

    const guest = await bootGuest(env, lc2, { name, disk: `${images}/${name}.qcow2`, mac: '52:54:00:00:00:20' });
    guests.push(guest);
    const [, address] = await guest.waitForSerial(/LAB-DHCP-LEASE eth0 (198\.51\.100\.\d+)\/24/);
    expect(guest.serial()).not.toContain('REFERENCE-POST-INSTALL');
    await guest.waitForSerial(/LAB-RC-LOCAL-DONE/);

    const ping = await pingFromController(env, lc2, address!);
    expect(ping.stdout).toMatch(/1 packets transmitted, 1 received/);
    const leases = await sshOk(env, lc2, ['cat', `${lc2.root}/dnsmasq.leases`]);
    expect(leases).toContain(`52:54:00:00:00:20 ${address}`);
  });
});
