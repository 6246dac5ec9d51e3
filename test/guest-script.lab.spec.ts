/**
 * guest-script on the lab: the lab's busybox guest (busybox applets only, no bash, no systemd) with vmctx's
 * contextualization script installed by `installInto`, booted from CDs that guest-script builds, on both
 * controllers at once. Every check is made from outside the guest: its serial console, ping from the
 * controller's namespace, and its disk read back after it powered off.
 *
 *  - static context (address, MTU, routes, DNS, host name, key, files, script), then a second boot from the same
 *    disk and CD: post-install is not run again and the address comes back from the persisted ifupdown stanza;
 *  - the CD as a read-only virtio disk (/dev/vdb), IP-from-MAC;
 *  - a Snooze-style context/ folder taken unchanged (#!/bin/bash post-install that `cd /mnt`s);
 *  - a vmctx CD in the lab's original image, whose seed script runs `bash /mnt/post-install`;
 *  - DHCP fallback: a CD without post-install, and a "CD" that is no ISO 9660 image at all.
 * Guests are named guest-script-*; the boot times are printed for the closing note.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOverlay } from '@vmctx/disk-builder';
import { buildContextTree, parseContext, type ContextInput, type FileMap } from '@vmctx/guest-script';
import { writeIsoFromFiles } from '@vmctx/iso-builder';
import { macFromIpv4 } from '@vmctx/template-renderer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labStaticNetwork, NO_POST_INSTALL_CD } from './support/lab-contexts.js';
import { bootGuest, controller, type Guest, type GuestOptions, labEnv, type LabController, pingFromController, readGuestFile, upload } from './support/lab.js';
import { makeVmctxBaseImage } from './support/vmctx-base.js';

const env = labEnv();
const lc1 = controller(env, 'lc1');
const lc2 = controller(env, 'lc2');
const work = mkdtempSync(join(tmpdir(), 'guest-script-lab-'));
const BASE = 'guest-script-base.raw';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGuestScriptLabKeyOnly0000000000000000000 lab $(touch /PWNED-KEY) `id`';
const guests: Guest[] = [];
const bootTimes: string[] = [];

beforeAll(async () => {
  const base = await makeVmctxBaseImage(env, work, BASE);
  await Promise.all([lc1, lc2].map((lc) => upload(env, lc, base, `${lc.images}/${BASE}`)));
}, 300_000);

afterAll(async () => {
  await Promise.all(guests.map((g) => g.destroy()));
  rmSync(work, { recursive: true, force: true });
  if (bootTimes.length > 0) process.stdout.write(`guest-script lab boot times (virsh start to "contextualization finished"):\n${bootTimes.join('\n')}\n`);
});

/** A fresh overlay on the base image, an ISO (a file map, or raw bytes) uploaded, and the guest started. */
async function boot(
  lc: LabController,
  name: string,
  cd: FileMap | Buffer | undefined,
  options: Partial<GuestOptions> = {},
  newDisk = true,
  base = `${lc.images}/${BASE}`,
): Promise<Guest> {
  const disk = `${lc.images}/${name}.qcow2`;
  if (newDisk) {
    const overlay = join(work, `${name}.qcow2`);
    await createOverlay({ path: overlay, backingFile: base, backingFormat: 'raw', virtualSize: env.guest.baseVirtualSize });
    await upload(env, lc, overlay, disk);
  }
  let iso: string | undefined;
  if (cd !== undefined && newDisk) {
    const local = join(work, `${name}.iso`);
    if (Buffer.isBuffer(cd)) writeFileSync(local, cd);
    else await writeIsoFromFiles(cd, local, { epoch: 1_700_000_000 });
    iso = `${lc.images}/${name}.iso`;
    await upload(env, lc, local, iso);
  } else if (cd !== undefined) {
    iso = `${lc.images}/${name}.iso`;
  }
  const started = Date.now();
  const guest = await bootGuest(env, lc, { name, disk, ...(iso ? { iso } : {}), ...options });
  guests.push(guest);
  void guest.waitForSerial(/vmctx: contextualization finished/, 400_000).then(
    () => bootTimes.push(`  ${name} on ${lc.name}: ${((Date.now() - started) / 1000).toFixed(1)} s`),
    () => undefined,
  );
  return guest;
}

const STATIC: ContextInput = {
  instanceId: 'guest-script-static-1',
  hostname: 'gs-static.lab.example',
  network: labStaticNetwork('198.51.100.40/24'),
  ssh: { authorizedKeys: [KEY] },
  files: [
    { path: '/etc/gs-motd', content: 'configured by guest-script\n', mode: '0644' },
    { path: '/etc/gs/secret', content: 'secret $(touch /PWNED-FILE)\n', mode: '0600' },
  ],
  scripts: [
    {
      name: 'report',
      content:
        '#!/bin/sh\n{ echo "GS-SCRIPT ip=$VMCTX_IP host=$(hostname)"; ip route | sed "s/^/GS-ROUTE /"; ' +
        'echo "GS-MTU $(cat /sys/class/net/eth0/mtu)"; ls -ln /etc/gs/secret /root/.ssh/authorized_keys | sed "s/^/GS-LS /"; } >/dev/console\n',
    },
  ],
};

const timeout = 400_000;

describe('guest-script on the lab guest', () => {
  it.concurrent(
    'static context on lc1: applied, persisted, not applied again on the next boot',
    async () => {
      const tree = buildContextTree(parseContext(STATIC));
      const first = await boot(lc1, 'guest-script-static', tree, { mac: '52:54:00:00:02:40', cmdline: 'lab.poweroff' });
      await first.waitForSerial(/LAB-POWEROFF/, timeout);
      const log = first.serial();
      expect(log).toMatch(/vmctx: context CD \/dev\/sr0 .*mounted on \/mnt/);
      expect(log).toMatch(/vmctx: post-install: address 198\.51\.100\.40\/24 on eth0/);
      expect(log).toMatch(/vmctx: post-install done \(instance guest-script-static-1\)/);
      expect(log).toMatch(/GS-SCRIPT ip=198\.51\.100\.40 host=gs-static\.lab\.example/);
      expect(log).toMatch(/GS-ROUTE default via 198\.51\.100\.1 dev eth0/);
      expect(log).toMatch(/GS-ROUTE 203\.0\.113\.0\/24 via 198\.51\.100\.1 dev eth0/);
      expect(log).toMatch(/GS-ROUTE 192\.0\.2\.0\/25 via 198\.51\.100\.1 dev eth0 +metric 7/);
      expect(log).toMatch(/GS-MTU 1400/);
      expect(log).toMatch(/GS-LS -rw------- +1 0 +0 .*\/etc\/gs\/secret/);
      expect(log).toMatch(/GS-LS -rw------- +1 0 +0 .*\/root\/.ssh\/authorized_keys/);
      // The lab kernel halts rather than powers off; its disks are synced and unmounted by then.
      await first.waitForSerial(/System halted|Power down/, 120_000);
      await first.destroy();

      const overlay = `${lc1.images}/guest-script-static.qcow2`;
      const read = (path: string) => readGuestFile(env, lc1, overlay, path);
      expect(await read('/etc/hostname')).toBe('gs-static.lab.example\n');
      expect(await read('/etc/resolv.conf')).toBe('# Written by vmctx post-install.\ndomain lab.example\nsearch lab.example\nnameserver 198.51.100.1\nnameserver 198.51.100.2\n');
      expect(await read('/root/.ssh/authorized_keys')).toBe(`${KEY}\n`);
      expect(await read('/etc/gs-motd')).toBe('configured by guest-script\n');
      expect(await read('/etc/gs/secret')).toBe('secret $(touch /PWNED-FILE)\n');
      expect(await read('/etc/network/interfaces')).toMatch(/iface eth0 inet static\n {4}address 198\.51\.100\.40\n {4}netmask 255\.255\.255\.0\n {4}gateway 198\.51\.100\.1\n {4}mtu 1400\n/);
      expect(await read('/var/lib/vmctx/instance-id')).toBe('guest-script-static-1\n');
      expect(await read('/var/log/contextualization.log')).toMatch(/post-install done/);
      expect(await read('/PWNED-KEY')).toBe('');
      expect(await read('/PWNED-FILE')).toBe('');

      // Second boot, same disk and CD, staying up: skipped, and the persisted stanza brings the address back.
      const second = await boot(lc1, 'guest-script-static', tree, { mac: '52:54:00:00:02:40' }, false);
      await second.waitForSerial(/LAB-RC-LOCAL-DONE/, timeout);
      expect(second.serial()).toMatch(/vmctx: instance guest-script-static-1 is already contextualized; bringing up its network/);
      expect(second.serial()).toMatch(/vmctx: network: ifup eth0/);
      expect(second.serial()).not.toMatch(/GS-SCRIPT/);
      expect((await pingFromController(env, lc1, '198.51.100.40')).stdout).toMatch(/1 packets transmitted, 1 received/);
      await second.destroy();
    },
    timeout * 2,
  );

  it.concurrent(
    'IP-from-MAC context on a read-only virtio disk (/dev/vdb) on lc1',
    async () => {
      const mac = macFromIpv4('198.51.100.41');
      const guest = await boot(lc1, 'guest-script-ipmac', buildContextTree(parseContext({ network: { method: 'ip-from-mac', prefix: 24, gateway: '198.51.100.1' } })), {
        mac,
        isoAs: 'virtio-disk',
      });
      await guest.waitForSerial(/LAB-RC-LOCAL-DONE/, timeout);
      expect(guest.serial()).toMatch(/vmctx: context CD \/dev\/vdb/);
      expect(guest.serial()).toMatch(/vmctx: post-install: address 198\.51\.100\.41 read from the MAC of eth0/);
      expect((await pingFromController(env, lc1, '198.51.100.41')).stdout).toMatch(/1 packets transmitted, 1 received/);
      await guest.destroy();
    },
    timeout,
  );

  it.concurrent(
    'a Snooze-style context/ folder, unchanged, on lc2',
    async () => {
      const snooze: FileMap = {
        'post-install': {
          data:
            '#!/bin/bash\necho "SNOOZE-POST-INSTALL cwd=$(pwd)" > /dev/ttyS0\ncd /mnt\n. common/network\n' +
            'MAC=$(cat /sys/class/net/eth0/address)\nIFS=: read -r _ _ a b c d <<EOF\n$MAC\nEOF\n' +
            'IP=$((0x$a)).$((0x$b)).$((0x$c)).$((0x$d))\nip addr add $IP/24 dev eth0\nip link set eth0 up\nip route add default via $GATEWAY\n' +
            'echo "SNOOZE-NETWORK $IP gw $GATEWAY" > /dev/ttyS0\n',
          mode: 0o755,
        },
        'common/network': { data: 'GATEWAY=198.51.100.1\nNETWORK=198.51.100.0\nBROADCAST=198.51.100.255\nNETMASK=255.255.255.0\nNAMESERVER=198.51.100.1\nDOMAIN=\nSEARCH=\n', mode: 0o644 },
        'common/routes': { data: '', mode: 0o644 },
      };
      const guest = await boot(lc2, 'guest-script-snooze', snooze, { mac: '54:56:c6:33:64:2a' });
      await guest.waitForSerial(/LAB-RC-LOCAL-DONE/, timeout);
      expect(guest.serial()).toMatch(/SNOOZE-POST-INSTALL cwd=\/mnt/);
      expect(guest.serial()).toMatch(/SNOOZE-NETWORK 198\.51\.100\.42 gw 198\.51\.100\.1/);
      expect(guest.serial()).toMatch(/vmctx: post-install done \(instance sha256sum-[0-9a-f]{64}\)/);
      expect((await pingFromController(env, lc2, '198.51.100.42')).stdout).toMatch(/1 packets transmitted, 1 received/);
      await guest.destroy();
    },
    timeout,
  );

  it.concurrent(
    "a vmctx CD in an image that still has the seed's script (bash /mnt/post-install) on lc2",
    async () => {
      const context = parseContext({ hostname: 'gs-seed', network: { method: 'static', address: '198.51.100.45/24', gateway: '198.51.100.1' } });
      const guest = await boot(lc2, 'guest-script-seed', buildContextTree(context), { mac: '52:54:00:00:02:45', cmdline: 'lab.mark=seed-done' }, true, env.guest.baseImageOnController);
      // lab.mark syncs the disk after rc.local, so what post-install wrote can be read back after destroy.
      await guest.waitForSerial(/LAB-MARK-WRITTEN seed-done/, timeout);
      expect(guest.serial()).not.toMatch(/vmctx: contextualization starts/);
      expect((await pingFromController(env, lc2, '198.51.100.45')).stdout).toMatch(/1 packets transmitted, 1 received/);
      await guest.destroy();
      expect(await readGuestFile(env, lc2, `${lc2.images}/guest-script-seed.qcow2`, '/etc/hostname')).toBe('gs-seed\n');
    },
    timeout,
  );

  it.concurrent(
    'DHCP fallback on lc2: a CD without post-install, and a CD that is no ISO 9660 image',
    async () => {
      const [noPostInstall, notIso] = await Promise.all([
        boot(lc2, 'guest-script-nopi', NO_POST_INSTALL_CD, { mac: '52:54:00:00:02:43' }),
        boot(lc2, 'guest-script-badcd', Buffer.alloc(1024 * 1024, 0x5a), { mac: '52:54:00:00:02:44' }),
      ]);
      for (const [guest, reason] of [
        [noPostInstall, /vmctx: .*\/dev\/sr0 has no post-install.*falling back to DHCP/],
        [notIso, /vmctx: no context CD \(no medium or no ISO 9660 file system in \/dev\/sr0\); falling back to DHCP/],
      ] as const) {
        const [, address] = await guest.waitForSerial(/LAB-DHCP-LEASE eth0 (198\.51\.100\.\d+)\/24/, timeout);
        await guest.waitForSerial(/LAB-RC-LOCAL-DONE/, timeout);
        expect(guest.serial()).toMatch(reason);
        expect(guest.serial()).toMatch(/vmctx: network: ifup eth0/);
        expect((await pingFromController(env, lc2, address!)).stdout).toMatch(/1 packets transmitted, 1 received/);
        await guest.destroy();
      }
    },
    timeout,
  );
});
