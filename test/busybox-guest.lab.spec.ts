/**
 * The lab's busybox guest booted once per distinct artifact set, and every package's claim checked on what those boots
 * recorded (issue 23: seven suites booted it to show much the same thing). The boots run first, a few at a time
 * (VMCTX_BOOT_PARALLEL, default 3), on both controllers; then each claim is one test. The boots:
 *
 *  On the base with vmctx's script (guest-script's installInto), artifacts from vmctx's packages:
 *   static  lc1  guest-script CD (static address, MTU, routes, DNS, host name, hostile key and file text, files,
 *                scripts), iso-builder ISO, disk-builder overlay, template-renderer XML (i440fx, cdrom on ide); its
 *                disk read back, then started again (second boot: not applied again, network from the stanza)
 *   ipmac   lc1  IP-from-MAC CD as a read-only virtio disk (template-renderer's 'disk' context), MAC from macFromIpv4
 *   snooze  lc2  a Snooze-style context/ folder unchanged, on q35 (cdrom on sata)
 *   nocd    lc2  no CD: DHCP fallback
 *   nopi    lc2  a CD without post-install: DHCP fallback
 *   badcd   lc2  a "CD" that is no ISO 9660 image: DHCP fallback
 *   nx      lc2  the ISO `nx run context-web:context-iso` builds in a copy of examples/ci, through the seed's
 *                debian1.xml imported by template-renderer
 *  On the lab's seed image (the seed's script, `bash /mnt/post-install`):
 *   ref-static  lc1  the seed's manual flow: genisoimage CD, qemu-img overlay, hand-written XML
 *   ref-dhcp    lc2  the same without CD: ifup eth0 takes a lease
 *   iso         lc1  iso-builder images (context tree as the cdrom; names, many files, deep folders, a cloud-init seed
 *                    as virtio disks) listed by the guest's kernel; overlay with a relative backing path, 2 MiB clusters
 *   seed        lc1  a vmctx CD in the seed image; overlay with an absolute backing path, 64 KiB clusters
 * Guests and files are named bb-*; addresses 198.51.100.10 (lc1 and lc2), .40-.42, .45.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeIsoFromFiles } from '@vmctx/iso-builder';
import { macFromIpv4 } from '@vmctx/template-renderer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BootContext,
  type BootRecord,
  bootUntil,
  contextCd,
  importedSeedXml,
  isoFor,
  isoOfFolder,
  overlayFor,
  pingAs,
  qemuImgFacts,
  readBack,
  REFERENCE_IP,
  renderedXml,
  sha256On,
} from './support/busybox-boots.js';
import { makeContextTree, makeManyFilesTree, makeNamesTree, write } from './iso-builder/trees.js';
import { labStaticNetwork, NO_POST_INSTALL_CD } from './support/lab-contexts.js';
import { controller, type Guest, labEnv, type LabController, ssh, sshOk, upload } from './support/lab.js';
import { buildBuilders, copyExample, nx } from './support/nx-workspace.js';
import { makeVmctxBaseImage } from './support/vmctx-base.js';
import { expectedListing, listingOf, sha256 } from './support/iso-listing.js';

const env = labEnv();
const lc1 = controller(env, 'lc1');
const lc2 = controller(env, 'lc2');
const PARALLEL = Math.max(1, Number(process.env.VMCTX_BOOT_PARALLEL ?? 3));
const work = mkdtempSync(join(tmpdir(), 'busybox-guest-'));
const BASE = 'bb-vmctx-base.raw';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGuestScriptLabKeyOnly0000000000000000000 lab $(touch /PWNED-KEY) `id`';
const guests: Guest[] = [];
const records = new Map<string, BootRecord>();
const bootTimes: string[] = [];
/** What the guest must list for each of iso-builder's source trees. */
const isoListings: Record<string, string[]> = {};

type Job = (ctx: BootContext) => Promise<void>;

const STATIC_CONTEXT = {
  instanceId: 'guest-script-static-1',
  hostname: 'gs-static.lab.example',
  network: labStaticNetwork('198.51.100.40/24'),
  ssh: { authorizedKeys: [KEY] },
  files: [
    { path: '/etc/gs-motd', content: 'configured by guest-script\n', mode: '0644' },
    { path: '/etc/gs/secret', content: 'secret $(touch /PWNED-FILE)\n', mode: '0600' },
    { path: '/etc/vmctx-motd', content: 'configured by vmctx\n', mode: '0640' },
  ],
  scripts: [
    {
      name: 'report',
      content:
        '#!/bin/sh\n{ echo "GS-SCRIPT ip=$VMCTX_IP host=$(hostname)"; ip route | sed "s/^/GS-ROUTE /"; ' +
        'echo "GS-MTU $(cat /sys/class/net/eth0/mtu)"; ls -ln /etc/gs/secret /root/.ssh/authorized_keys | sed "s/^/GS-LS /"; } >/dev/console\n',
    },
    { name: 'hello', content: '#!/bin/sh\necho "VMCTX-USER-SCRIPT ran as $(id -u)" >/dev/console\n' },
  ],
};

/** The static context through every vmctx package; read back after the first boot; then a second boot. */
const staticJob: Job = async (ctx) => {
  const name = 'bb-static';
  const disk = await overlayFor(ctx, lc1, name, `${lc1.images}/${BASE}`);
  const iso = await isoFor(ctx, lc1, name, contextCd(STATIC_CONTEXT));
  const xml = renderedXml(ctx, lc1, { name, disk, iso, mac: '52:54:00:00:02:40', machine: 'pc', cmdline: 'lab.inspect lab.mark=static-done' });
  const first = await bootUntil(ctx, lc1, { name, disk }, /LAB-MARK-WRITTEN static-done/, xml);
  await pingAs(ctx, lc1, 'first', '198.51.100.40');
  await first.destroy(); // the mark's sync put what the guest wrote on the disk
  await readBack(ctx, lc1, disk, `${lc1.images}/${BASE}`, [
    '/etc/hostname', '/etc/resolv.conf', '/root/.ssh/authorized_keys', '/etc/gs-motd', '/etc/gs/secret', '/etc/vmctx-motd',
    '/etc/network/interfaces', '/var/lib/vmctx/instance-id', '/var/log/contextualization.log', '/PWNED-KEY', '/PWNED-FILE',
    '/var/lib/lab-mark', 'base:/var/lib/lab-mark',
  ]);
  const second = await bootUntil(ctx, lc1, { name, disk }, /LAB-MARK-WRITTEN static-done/, xml);
  await pingAs(ctx, lc1, 'second', '198.51.100.40');
  await second.destroy();
};

const ipmacJob: Job = async (ctx) => {
  const name = 'bb-ipmac';
  const disk = await overlayFor(ctx, lc1, name, `${lc1.images}/${BASE}`);
  const iso = await isoFor(ctx, lc1, name, contextCd({ network: { method: 'ip-from-mac', prefix: 24, gateway: '198.51.100.1' } }));
  const xml = renderedXml(ctx, lc1, { name, disk, iso, contextMode: 'disk', mac: macFromIpv4('198.51.100.41'), machine: 'pc', cmdline: 'lab.inspect' });
  await bootUntil(ctx, lc1, { name, disk }, /LAB-INSPECT-END \/dev\/vdb/, xml);
  await pingAs(ctx, lc1, 'first', '198.51.100.41');
};

const SNOOZE_CD = {
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

const snoozeJob: Job = async (ctx) => {
  const name = 'bb-snooze';
  const disk = await overlayFor(ctx, lc2, name, `${lc2.images}/${BASE}`);
  const iso = await isoFor(ctx, lc2, name, SNOOZE_CD);
  const xml = renderedXml(ctx, lc2, { name, disk, iso, mac: '54:56:c6:33:64:2a', machine: 'q35', cmdline: 'lab.inspect' });
  await bootUntil(ctx, lc2, { name, disk }, /LAB-INSPECT-END \/dev\/sr0/, xml);
  await pingAs(ctx, lc2, 'first', '198.51.100.42');
};

/** A guest of the vmctx base that falls back to DHCP; the leased address pinged. */
function dhcpJob(name: string, cd: 'none' | Parameters<typeof isoFor>[3], mac: string): Job {
  return async (ctx) => {
    const disk = await overlayFor(ctx, lc2, name, `${lc2.images}/${BASE}`);
    const iso = cd === 'none' ? undefined : await isoFor(ctx, lc2, name, cd);
    const xml = cd === 'none' ? renderedXml(ctx, lc2, { name, disk, mac, machine: 'pc' }) : undefined;
    await bootUntil(ctx, lc2, { name, disk, mac, ...(iso ? { iso } : {}) }, /LAB-RC-LOCAL-DONE/, xml);
    const leased = ctx.record.serials[0]!.match(/LAB-DHCP-LEASE eth0 (198\.51\.100\.\d+)\/24/)?.[1];
    ctx.record.facts.leased = leased;
    if (leased) await pingAs(ctx, lc2, 'first', leased);
  };
}

const nxJob: Job = async (ctx) => {
  const name = 'bb-nx';
  buildBuilders();
  const workspace = copyExample('busybox-guest-nx-');
  try {
    const run = nx(workspace, ['run', 'context-web:context-iso']);
    ctx.record.facts.nxTask = run.tasks['context-web:context-iso'];
    const local = join(workspace, 'dist/contexts/web.iso');
    ctx.record.facts.nxSha256 = readFileSync(`${local}.sha256`, 'utf8').split(' ')[0];
    const iso = `${lc2.images}/${name}.iso`;
    await upload(ctx.env, lc2, local, iso);
    ctx.record.facts.uploadedSha256 = await sha256On(ctx, lc2, iso);
    const disk = await overlayFor(ctx, lc2, name, `${lc2.images}/${BASE}`);
    // Through the seed's debian1.xml imported by template-renderer (its NIC has no model the lab kernel drives: no ping here).
    const xml = importedSeedXml(ctx, lc2, name, disk, iso, 'lab.inspect');
    await bootUntil(ctx, lc2, { name, disk }, /LAB-INSPECT-END \/dev\/sr0/, xml);
  } finally {
    rmSync(join(workspace, '..'), { recursive: true, force: true });
  }
};

/** The seed's manual flow: overlay by qemu-img on the controller ($ qemu-img create -b debian-base.raw ...). */
async function qemuImgOverlay(lc: LabController, name: string): Promise<string> {
  await sshOk(env, lc, ['sh', '-c', 'cd "$1" && rm -f "$2" && qemu-img create -q -f qcow2 -F raw -b debian-base.raw "$2"', 'x', lc.images, `${name}.qcow2`]);
  return `${lc.images}/${name}.qcow2`;
}

/** A context/ folder as the seed describes it, in Snooze's format, with a post-install that reports on the console. */
function writeReferenceContext(dir: string): void {
  mkdirSync(join(dir, 'common'), { recursive: true });
  writeFileSync(
    join(dir, 'common/network'),
    `IP=${REFERENCE_IP}\nGATEWAY=198.51.100.1\nNETWORK=198.51.100.0\nBROADCAST=198.51.100.255\nNETMASK=255.255.255.0\nNAMESERVER=198.51.100.1\nDOMAIN=lab.example\nSEARCH=\n`,
  );
  writeFileSync(join(dir, 'common/routes'), 'up route add -net 203.0.113.0 netmask 255.255.255.0 gw 198.51.100.1 dev eth0\n');
  // The seed runs it as `bash /mnt/post-install` from / (not from /mnt), so paths are absolute.
  writeFileSync(
    join(dir, 'post-install'),
    '#!/bin/bash\necho "REFERENCE-POST-INSTALL start" > /dev/ttyS0\n. /mnt/common/network\nip link set eth0 up\n' +
      'ip addr add "$IP/$NETMASK" broadcast "$BROADCAST" dev eth0\nip route add default via "$GATEWAY" dev eth0\n' +
      "sed -n 's/^up //p' /mnt/common/routes | while read -r cmd; do $cmd; done\necho \"nameserver $NAMESERVER\" > /etc/resolv.conf\n" +
      'echo "REFERENCE-ADDR $(ip -4 -o addr show dev eth0 | awk \'{print $4}\')" > /dev/ttyS0\nip route | sed \'s/^/REFERENCE-ROUTE /\' > /dev/ttyS0\n' +
      'echo "REFERENCE-POST-INSTALL done" > /dev/ttyS0\n',
  );
  chmodSync(join(dir, 'post-install'), 0o755);
}

const refStaticJob: Job = async (ctx) => {
  const name = 'bb-ref-static';
  writeReferenceContext(join(ctx.work, 'context'));
  // ($) genisoimage -RJ -o context.iso context
  execFileSync('genisoimage', ['-quiet', '-RJ', '-o', join(ctx.work, 'context.iso'), 'context'], { cwd: ctx.work });
  await upload(ctx.env, lc1, join(ctx.work, 'context.iso'), `${lc1.images}/${name}.iso`);
  const disk = await qemuImgOverlay(lc1, name);
  await bootUntil(ctx, lc1, { name, disk, iso: `${lc1.images}/${name}.iso`, mac: '52:54:00:00:00:10' }, /LAB-RC-LOCAL-DONE/);
  await pingAs(ctx, lc1, 'first', REFERENCE_IP);
};

const refDhcpJob: Job = async (ctx) => {
  const name = 'bb-ref-dhcp';
  const disk = await qemuImgOverlay(lc2, name);
  await bootUntil(ctx, lc2, { name, disk, mac: '52:54:00:00:00:20' }, /LAB-RC-LOCAL-DONE/);
  const leased = ctx.record.serials[0]!.match(/LAB-DHCP-LEASE eth0 (198\.51\.100\.\d+)\/24/)?.[1];
  ctx.record.facts.leased = leased;
  if (leased) await pingAs(ctx, lc2, 'first', leased);
  ctx.record.facts.leases = await sshOk(env, lc2, ['cat', `${lc2.root}/dnsmasq.leases`]);
};

/** iso-builder's trees seen by the guest's kernel; the overlay has a relative backing path and 2 MiB clusters. */
const isoJob: Job = async (ctx) => {
  const name = 'bb-iso';
  const trees = { context: join(ctx.work, 'context-tree'), names: join(ctx.work, 'names'), many: join(ctx.work, 'many'), deep: join(ctx.work, 'deep') };
  makeContextTree(trees.context);
  makeNamesTree(trees.names);
  makeManyFilesTree(trees.many, 300);
  mkdirSync(trees.deep);
  write(trees.deep, 'a/b/c/d/e/f/g/h/i/j/k/twelve-levels', 'deep\n', 0o755);
  for (const [tree, folder] of Object.entries(trees)) isoListings[tree] = expectedListing(folder);
  const images: string[] = [];
  for (const [tree, folder] of Object.entries(trees)) images.push(await isoOfFolder(ctx, lc1, `${name}-${tree}`, folder, tree === 'deep'));
  const seed = join(ctx.work, 'seed.iso');
  await writeIsoFromFiles({ 'user-data': '#cloud-config\n', 'meta-data': 'instance-id: iso-builder\n', 'bin/hello': { data: '#!/bin/sh\necho hi\n', mode: 0o755 } }, seed, { label: 'cidata', epoch: 0 });
  await upload(ctx.env, lc1, seed, `${lc1.images}/${name}-seed.iso`);
  const base = ctx.env.guest.baseImageOnController;
  // The backing path is the path on the controller; relative, it is resolved against the overlay's folder.
  const disk = await overlayFor(ctx, lc1, name, base.slice(base.lastIndexOf('/') + 1), { clusterBits: 21 });
  await diskBuilderBoot(ctx, lc1, name, disk, async (mark) => {
    const cmdline = `lab.inspect lab.mark=${mark}`;
    return bootUntil(ctx, lc1, { name, disk, iso: images[0], extraDisks: [...images.slice(1), `${lc1.images}/${name}-seed.iso`], cmdline }, new RegExp(`LAB-MARK-WRITTEN ${mark}`));
  });
};

/** A vmctx CD in the seed image; the overlay with an absolute backing path and 64 KiB clusters. */
const seedJob: Job = async (ctx) => {
  const name = 'bb-seed';
  const iso = await isoFor(ctx, lc1, name, contextCd({ hostname: 'gs-seed', network: { method: 'static', address: '198.51.100.45/24', gateway: '198.51.100.1' } }));
  const disk = await overlayFor(ctx, lc1, name, ctx.env.guest.baseImageOnController, { clusterBits: 16 });
  await diskBuilderBoot(ctx, lc1, name, disk, async (mark) => {
    // lab.mark syncs the disk after rc.local, so what post-install wrote can be read back after destroy.
    const guest = await bootUntil(ctx, lc1, { name, disk, iso, mac: '52:54:00:00:02:45', cmdline: `lab.mark=${mark}` }, new RegExp(`LAB-MARK-WRITTEN ${mark}`));
    await pingAs(ctx, lc1, 'first', '198.51.100.45');
    return guest;
  });
  await readBack(ctx, lc1, disk, ctx.env.guest.baseImageOnController, ['/etc/hostname']);
};

/** disk-builder's claim around a boot on the seed image: qemu-img's view before and after, the mark in the overlay only, the base unchanged. */
async function diskBuilderBoot(ctx: BootContext, lc: LabController, name: string, disk: string, boot: (mark: string) => Promise<Guest>): Promise<void> {
  const base = ctx.env.guest.baseImageOnController;
  await qemuImgFacts(ctx, lc, disk, 'qemuImgBefore');
  ctx.record.facts.baseBefore = await sha256On(ctx, lc, base);
  const mark = `${name}-${Date.now().toString(36)}`;
  ctx.record.facts.mark = mark;
  const guest = await boot(mark);
  await guest.destroy(); // virsh destroy returns once qemu has exited; the overlay is closed
  await readBack(ctx, lc, disk, base, ['/var/lib/lab-mark', 'base:/var/lib/lab-mark']);
  ctx.record.facts.baseAfter = await sha256On(ctx, lc, base);
  await qemuImgFacts(ctx, lc, disk, 'qemuImgAfter');
}

const JOBS: Record<string, Job> = {
  static: staticJob,
  iso: isoJob,
  seed: seedJob,
  nx: nxJob,
  'ref-static': refStaticJob,
  ipmac: ipmacJob,
  snooze: snoozeJob,
  nocd: dhcpJob('bb-nocd', 'none', '52:54:00:00:01:22'),
  nopi: dhcpJob('bb-nopi', NO_POST_INSTALL_CD, '52:54:00:00:02:43'),
  badcd: dhcpJob('bb-badcd', Buffer.alloc(1024 * 1024, 0x5a), '52:54:00:00:02:44'),
  'ref-dhcp': refDhcpJob,
};

beforeAll(async () => {
  const base = await makeVmctxBaseImage(env, work, BASE);
  await Promise.all([lc1, lc2].map((lc) => upload(env, lc, base, `${lc.images}/${BASE}`)));
  const names = Object.keys(JOBS);
  let next = 0;
  const note = (text: string) => process.stderr.write(`[busybox-guest ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
  note(`${names.length} guests, ${PARALLEL} at once`);
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        const record: BootRecord = { serials: [], pings: {}, files: {}, facts: {} };
        records.set(name, record);
        const jobWork = mkdtempSync(join(work, `${name}-`));
        const started = Date.now();
        await JOBS[name]!({ env, work: jobWork, record, guests }).catch((error: unknown) => (record.error = error));
        bootTimes.push(`  ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s (${record.serials.length} boot(s))${record.error ? `, ${String(record.error).split('\n')[0]}` : ''}`);
        note(bootTimes.at(-1)!.trim());
      }
    }),
  );
}, 40 * 60_000);

afterAll(async () => {
  await Promise.all(guests.map((g) => g.destroy()));
  await Promise.all([lc1, lc2].map((lc) => ssh(env, lc, ['sh', '-c', 'cd "$1" && rm -f bb-*', 'x', lc.images])));
  rmSync(work, { recursive: true, force: true });
  process.stdout.write(`busybox-guest: boot jobs (artifacts, boots, checks), ${PARALLEL} at once:\n${bootTimes.join('\n')}\n`);
});

/** The record of a boot job; its error (with the end of its console) thrown when it did not get through. */
function booted(name: string): BootRecord {
  const record = records.get(name);
  if (!record) throw new Error(`no boot ${name}`);
  if (record.error) throw new Error(`boot ${name} failed: ${String(record.error)}\n${(record.serials.at(-1) ?? '').slice(-3000)}`);
  return record;
}

const pinged = (record: BootRecord, as = 'first') => expect(record.pings[as]?.stdout).toMatch(/1 packets transmitted, 1 received/);

describe('the seed reference flow with genisoimage, qemu-img and virsh', () => {
  it('boots with the context CD: post-install ran, static address, routes, ping', () => {
    const record = booted('ref-static');
    const log = record.serials[0]!;
    expect(log).toContain('REFERENCE-POST-INSTALL start');
    expect(log).toContain('REFERENCE-POST-INSTALL done');
    expect(log).toMatch(new RegExp(`REFERENCE-ADDR ${REFERENCE_IP.replaceAll('.', '\\.')}/24`));
    expect(log).toMatch(/REFERENCE-ROUTE default via 198\.51\.100\.1 dev eth0/);
    expect(log).toMatch(/REFERENCE-ROUTE 203\.0\.113\.0\/24 via 198\.51\.100\.1 dev eth0/);
    pinged(record);
  });

  it('boots without a CD: ifup eth0 takes a DHCP lease from the bridge, ping', () => {
    const record = booted('ref-dhcp');
    expect(record.facts.leased).toMatch(/^198\.51\.100\.\d+$/);
    expect(record.serials[0]).not.toContain('REFERENCE-POST-INSTALL');
    pinged(record);
    expect(record.facts.leases).toContain(`52:54:00:00:00:20 ${String(record.facts.leased)}`);
  });
});

describe('vmctx artifacts (guest-script, iso-builder, disk-builder, template-renderer) boot real guests', () => {
  it('static address, routes, DNS, hostname, key, file and script from a vmctx CD; what the guest wrote is in its overlay, the base untouched', () => {
    const record = booted('static');
    const log = record.serials[0]!;
    expect(log).toMatch(/vmctx: .*post-install done/);
    expect(log).toContain('VMCTX-USER-SCRIPT ran as 0');
    pinged(record);
    const files = record.files;
    expect(files['/etc/hostname']!.trim()).toBe('gs-static.lab.example');
    expect(files['/etc/resolv.conf']).toContain('nameserver 198.51.100.1');
    expect(files['/etc/resolv.conf']).toContain('search lab.example');
    expect(files['/root/.ssh/authorized_keys']).toContain(KEY);
    expect(files['/etc/vmctx-motd']).toBe('configured by vmctx\n');
    expect(files['/var/lib/lab-mark']!.trim()).toBe('static-done');
    expect(files['/etc/network/interfaces']).toMatch(/198\.51\.100\.40/);
    expect(files['/var/log/contextualization.log']).toMatch(/post-install done/);
    expect(files['base:/var/lib/lab-mark']).toBe('');
  });

  it('IP-from-MAC: the address comes from the MAC that template-renderer made', () => {
    const record = booted('ipmac');
    expect(record.serials[0]).toMatch(/vmctx: .*post-install done/);
    expect(record.serials[0]).toMatch(/vmctx: post-install: address 198\.51\.100\.41 read from the MAC of eth0/);
    pinged(record);
  });

  it('no CD: the vmctx script falls back to DHCP', () => {
    const record = booted('nocd');
    expect(record.serials[0]).toMatch(/vmctx: .*falling back to DHCP/);
    expect(record.facts.leased).toMatch(/^198\.51\.100\.\d+$/);
    pinged(record);
  });
});

describe('guest-script on the lab guest (busybox applets only, no bash, no systemd)', () => {
  it('static context: applied (address, MTU, routes, DNS, host name, key, files, script), persisted, hostile key and file text written as data', () => {
    const record = booted('static');
    const log = record.serials[0]!;
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
    const files = record.files;
    expect(files['/etc/hostname']).toBe('gs-static.lab.example\n');
    expect(files['/etc/resolv.conf']).toBe('# Written by vmctx post-install.\ndomain lab.example\nsearch lab.example\nnameserver 198.51.100.1\nnameserver 198.51.100.2\n');
    expect(files['/root/.ssh/authorized_keys']).toBe(`${KEY}\n`);
    expect(files['/etc/gs-motd']).toBe('configured by guest-script\n');
    expect(files['/etc/gs/secret']).toBe('secret $(touch /PWNED-FILE)\n');
    expect(files['/etc/network/interfaces']).toMatch(/iface eth0 inet static\n {4}address 198\.51\.100\.40\n {4}netmask 255\.255\.255\.0\n {4}gateway 198\.51\.100\.1\n {4}mtu 1400\n/);
    expect(files['/var/lib/vmctx/instance-id']).toBe('guest-script-static-1\n');
    expect(files['/PWNED-KEY']).toBe('');
    expect(files['/PWNED-FILE']).toBe('');
  });

  it('second boot, same disk and CD: not applied again, the persisted ifupdown stanza brings the address back', () => {
    const record = booted('static');
    const log = record.serials[1]!;
    expect(log).toMatch(/vmctx: instance guest-script-static-1 is already contextualized; bringing up its network/);
    expect(log).toMatch(/vmctx: network: ifup eth0/);
    expect(log).not.toMatch(/GS-SCRIPT/);
    pinged(record, 'second');
  });

  it('IP-from-MAC context on a read-only virtio disk (/dev/vdb)', () => {
    const record = booted('ipmac');
    expect(record.serials[0]).toMatch(/vmctx: context CD \/dev\/vdb/);
    expect(record.serials[0]).toMatch(/vmctx: post-install: address 198\.51\.100\.41 read from the MAC of eth0/);
    pinged(record);
  });

  it('a Snooze-style context/ folder, unchanged', () => {
    const record = booted('snooze');
    expect(record.serials[0]).toMatch(/SNOOZE-POST-INSTALL cwd=\/mnt/);
    expect(record.serials[0]).toMatch(/SNOOZE-NETWORK 198\.51\.100\.42 gw 198\.51\.100\.1/);
    expect(record.serials[0]).toMatch(/vmctx: post-install done \(instance sha256sum-[0-9a-f]{64}\)/);
    pinged(record);
  });

  it("a vmctx CD in an image that still has the seed's script (bash /mnt/post-install)", () => {
    const record = booted('seed');
    expect(record.serials[0]).not.toMatch(/vmctx: contextualization starts/);
    pinged(record);
    expect(record.files['/etc/hostname']).toBe('gs-seed\n');
  });

  it.each([
    ['nopi', 'a CD without post-install', /vmctx: .*\/dev\/sr0 has no post-install.*falling back to DHCP/],
    ['badcd', 'a CD that is no ISO 9660 image', /vmctx: no context CD \(no medium or no ISO 9660 file system in \/dev\/sr0\); falling back to DHCP/],
  ] as const)('DHCP fallback: %s (%s)', (name, _what, reason) => {
    const record = booted(name);
    expect(record.serials[0]).toMatch(reason);
    expect(record.serials[0]).toMatch(/vmctx: network: ifup eth0/);
    expect(record.facts.leased).toMatch(/^198\.51\.100\.\d+$/);
    pinged(record);
  });
});

describe('the Linux kernel reads iso-builder images', () => {
  it('lists every tree exactly as the source, with modes, owners, sizes, checksums and links', () => {
    const record = booted('iso');
    const serial = record.serials[0]!;
    expect(listingOf(serial, '/dev/sr0')).toEqual(isoListings.context);
    // The guest's kernel names virtio disks in probe order: vda (root), then vdb, vdc, ... for the extra disks.
    expect(listingOf(serial, '/dev/vdb')).toEqual(isoListings.names);
    expect(listingOf(serial, '/dev/vdc')).toEqual(isoListings.many);
    expect(listingOf(serial, '/dev/vdd')).toEqual(isoListings.deep);
    const seedListing = listingOf(serial, '/dev/vde');
    expect(seedListing).toContain(`f 755 0 0 18 ${sha256('#!/bin/sh\necho hi\n')} ./bin/hello`);
    expect(seedListing.filter((l) => l.startsWith('f '))).toHaveLength(3);
  });
});

describe('a guest boots from an overlay written by disk-builder', () => {
  it.each([
    ['seed', 'absolute backing path, 64 KiB clusters', false],
    ['iso', 'relative backing path, 2 MiB clusters', true],
  ] as const)('%s: %s: writes land in the overlay, the base is untouched', (name, _what, relative) => {
    const record = booted(name);
    const base = env.guest.baseImageOnController;
    const backingFile = relative ? base.slice(base.lastIndexOf('/') + 1) : base;
    expect(record.facts.overlayInfo).toMatchObject({ format: 'qcow2', virtualSize: env.guest.baseVirtualSize, backing: { file: backingFile, format: 'raw' } });
    const before = record.facts.qemuImgBefore as { check: Record<string, number>; chain: Array<Record<string, unknown>> };
    expect(before.check['check-errors']).toBe(0);
    expect(before.chain.map((i) => [i.format, i['virtual-size']])).toEqual([['qcow2', env.guest.baseVirtualSize], ['raw', env.guest.baseVirtualSize]]);
    expect(before.chain[0]?.['full-backing-filename']).toBe(base);
    expect(record.files['/var/lib/lab-mark']!.trim()).toBe(record.facts.mark);
    expect(record.files['base:/var/lib/lab-mark']).not.toContain(String(record.facts.mark));
    expect(record.facts.baseAfter).toBe(record.facts.baseBefore);
    const after = record.facts.qemuImgAfter as { check: Record<string, number> };
    expect(after.check['check-errors']).toBe(0);
    expect(after.check['allocated-clusters']).toBeGreaterThan(0); // the guest's writes were allocated in the overlay
  });
});

describe('template-renderer: rendered specs boot, and the guest finds its context where the renderer put it', () => {
  it.each([
    ['static', 'i440fx, cdrom on ide', '/dev/sr0'],
    ['snooze', 'q35, cdrom on sata', '/dev/sr0'],
    ['ipmac', 'a read-only virtio disk', '/dev/vdb'],
  ] as const)('%s: %s: %s, and post-install ran from it', (name, _what, device) => {
    const record = booted(name);
    // Nothing to say, but of the Snooze-style MAC (its address in the MAC) in a vendor's range: a warning, never refused.
    expect((record.facts.lint as Array<{ code: string }>).map((f) => f.code)).toEqual(name === 'snooze' ? ['mac-not-local'] : []);
    expect(record.serials[0]).toContain(`LAB-INSPECT-BEGIN ${device}`);
    expect(record.serials[0]).toMatch(/vmctx: post-install done/);
  });

  it("the seed's debian1.xml, imported, boots (direct kernel boot and a serial file added for the lab) and runs post-install from /dev/sr0", () => {
    const record = booted('nx');
    expect(record.facts.importWarnings).toEqual(['clock-sync-repaired', 'cdrom-on-virtio-repaired']);
    expect(record.serials[0]).toMatch(/LAB-INSPECT-BEGIN \/dev\/sr0/);
    expect(record.serials[0]).toMatch(/vmctx: context CD \/dev\/sr0/);
    expect(record.serials[0]).toMatch(/NXISO-WEB post-install ran/);
  });
});

describe('a context ISO built by Nx, in a lab guest', () => {
  it("is uploaded with Nx's checksum, mounted by the guest's kernel, and its post-install runs", () => {
    const record = booted('nx');
    expect(record.facts.nxTask).toBe('built');
    expect(record.facts.uploadedSha256).toBe(record.facts.nxSha256);
    expect(record.serials[0]).toMatch(/NXISO-WEB post-install ran: ip=198\.51\.100\.10 host=web-1/);
  });
});
