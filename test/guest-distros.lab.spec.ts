/**
 * The guest script on the guests people run (issue 15): real Debian 12 guests built by tools/lab/guests/build.sh
 * (debootstrap from the machine's mirror, cached beside the lab kernel), contextualization put in by
 * `vmctx guest install`, booted with the lab's kernel and initramfs under TCG. Four kinds:
 *   sysv-ifupdown     sysvinit + ifupdown + isc-dhcp-client, a DHCP stanza nothing brings up (the seed's setting)
 *   systemd-ifupdown  systemd + ifupdown with rc.local (rc-local.service runs the script; the unit stands aside),
 *                     the NIC up with DHCP at boot as the Debian installer leaves it
 *   systemd-networkd  systemd + systemd-networkd, no ifupdown, no .network file
 *   systemd-nm        systemd + NetworkManager (its own default DHCP profile)
 * Every kind boots a static context CD (address, MTU, routes, DNS, host name, SSH key, files, a user script). Where the
 * way differs, a static guest is started a second time (powered off after the first and started again: not applied
 * again, network brought back up by what the kind persisted: systemd-networkd's file, NetworkManager's profile, and
 * ifupdown's stanza, which both ifupdown kinds bring up with ifup, so one of them in turn), and given an edited CD
 * while it runs (issue 21: sysvinit and systemd-networkd, and one of systemd-ifupdown and NetworkManager in turn). Two kinds
 * boot once without a context to apply (the DHCP fallback goes each kind's own way: ifup, systemd-networkd,
 * NetworkManager), one with a CD without post-install, one with no CD drive; the seed turns them over the kinds from
 * run to run. The IP-from-MAC CD (a group's: it lists each kind's MAC, as the deployer's does for cloud-init) boots
 * on one kind: reading the address from the MAC does not depend on the kind, and the network it then writes is the
 * static case's. The CDs vmctx writes are its default (issue 20: cloud-init's NoCloud seed beside Snooze's layout,
 * label cidata), which vmctx's script finds by probing the drive; the CD without post-install is a Snooze-style
 * CD that lacks its script. Which kind gets which case turns with VMCTX_DISTRO_SEED (default: the time), printed at the
 * start, so a failure can be run again as it was. Every check is made from inside the guest (its report on the serial
 * console, tools/lab/guests/files/lab-report) and by ping from the controller's namespace.
 *
 * The stock cloud-init kind (issue 20; nothing of vmctx in it) boots the IP-from-MAC CD too, beside the vmctx kind
 * that does: one CD that both readers read, cloud-init finding its address among the group's MACs in network-config.
 * Its other cases (static, second boot, edited, DHCP) boot in deployer-distro, through `vmctx deploy`.
 *
 * All boots run first, a few at a time (VMCTX_DISTRO_PARALLEL, default 2: what two cores carry under TCG), spread
 * over two controllers (VMCTX_DISTRO_CONTROLLERS, default lc1,lc2); then each case is one test on what its boot
 * recorded. Guests are named distro-*, addresses 198.51.100.110-139 (outside the lab's DHCP range);
 * VMCTX_DISTRO_SERIAL=FOLDER keeps every guest's console there. Boot-to-contextualized times
 * (virsh start to "vmctx: contextualization finished" on the console) are printed at the end.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createOverlay } from '@vmctx/disk-builder';
import { buildCdTree, parseContext, type ContextInput, type FileMap } from '@vmctx/guest-script';
import { writeIsoFromFiles } from '@vmctx/iso-builder';
import { macFromIpv4 } from '@vmctx/template-renderer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addressesOf,
  buildDistroGuests,
  DISTRO_CMDLINE,
  DISTRO_IFACE as IFACE,
  DISTRO_KINDS,
  type DistroKind,
  reportOf,
  seedDistroBase,
  tagged,
} from './support/distro-guests.js';
import { labStaticNetwork, NO_POST_INSTALL_CD } from './support/lab-contexts.js';
import { bootGuest, controller, type Guest, labEnv, type LabController, type RunResult, ssh, sshOk, upload } from './support/lab.js';

const env = labEnv();
const controllers = (process.env.VMCTX_DISTRO_CONTROLLERS ?? 'lc1,lc2').split(',').map((name) => controller(env, name.trim()));
const PARALLEL = Math.max(1, Number(process.env.VMCTX_DISTRO_PARALLEL ?? 2));
const work = mkdtempSync(join(tmpdir(), 'guest-distros-'));
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDistroLabKeyOnly00000000000000000000000 distro@lab';
/** How long one guest may take for all its boots: a failure detector for a guest that never reports, not a bound. */
const GUEST_LIMIT_MS = 25 * 60_000;

type Case = 'static' | 'ipmac' | 'nopi' | 'nocd';
const CASES: Case[] = ['static', 'ipmac', 'nopi', 'nocd'];

interface Boot {
  /** Seconds from virsh start (each start) to "vmctx: contextualization finished". */
  contextualized: number;
  report: string[];
  address: string | undefined;
  ping: RunResult;
}

interface Run {
  kind: GuestKind;
  kase: Case;
  name: string;
  lc: LabController;
  serial: string;
  boots: Boot[];
  /** Issue 21: the static guest, running after its second boot, given an edited context CD by virsh change-media. */
  reapply?: { seconds: number; report: string[]; ping: RunResult };
  error?: unknown;
}

const runs = new Map<string, Run>();
const key = (kind: GuestKind, kase: Case) => `${kind}/${kase}`;
/** The vmctx kinds, and the stock cloud-init guest (tools/lab/guests/cloud-init.sh), which boots the IP-from-MAC CD. */
type GuestKind = DistroKind | typeof CLOUD_KIND;
const CLOUD_KIND = 'cloud-init';
/** Its address index: after the vmctx kinds' (198.51.100.124). */
const CLOUD_INDEX = DISTRO_KINDS.length;

/**
 * Which kind boots which case this run: every kind its static CD; one kind the IP-from-MAC CD, the next a CD without
 * post-install, the next no CD drive (the DHCP fallback), each single boot on another kind; the kinds turn with the seed.
 */
function assignCases(seed: number): Array<{ kind: DistroKind; kase: Case }> {
  const turn = ((seed % DISTRO_KINDS.length) + DISTRO_KINDS.length) % DISTRO_KINDS.length;
  const order = DISTRO_KINDS.map((_, i) => DISTRO_KINDS[(i + turn) % DISTRO_KINDS.length]!);
  return [
    ...order.map((kind) => ({ kind, kase: 'static' as const })),
    { kind: order[1]!, kase: 'nopi' as const },
    { kind: order[2]!, kase: 'nocd' as const },
    { kind: order[0]!, kase: 'ipmac' as const },
  ];
}
const SEED = Number(process.env.VMCTX_DISTRO_SEED ?? Math.floor(Date.now() / 1000));
if (!Number.isSafeInteger(SEED)) throw new Error(`VMCTX_DISTRO_SEED must be an integer, not ${process.env.VMCTX_DISTRO_SEED}`);
const PLAN = assignCases(SEED);
/** The kinds whose static guest boots a second time this run (the two ifupdown kinds in turn). */
const SECOND_BOOT: readonly DistroKind[] = [SEED % 2 === 0 ? 'sysv-ifupdown' : 'systemd-ifupdown', 'systemd-networkd', 'systemd-nm'];
/** The kinds whose static guest re-applies an edited CD live this run (systemd-ifupdown and NetworkManager in turn). */
const REAPPLY: readonly DistroKind[] = ['sysv-ifupdown', 'systemd-networkd', SEED % 2 === 0 ? 'systemd-nm' : 'systemd-ifupdown'];
/** The kinds that boot `kase` this run. */
const kindsOf = (kase: Case) => PLAN.filter((p) => p.kase === kase).map((p) => p.kind);

const staticAddress = (i: number) => `198.51.100.${110 + i}`;
const macAddress = (i: number) => `198.51.100.${120 + i}`;

function staticContext(kind: DistroKind, i: number): ContextInput {
  return {
    instanceId: `distro-static-${kind}`,
    hostname: `ds-${i}.lab.example`,
    network: labStaticNetwork(`${staticAddress(i)}/24`),
    ssh: { authorizedKeys: [KEY] },
    files: [
      { path: '/etc/distro-motd', content: 'configured by vmctx\n', mode: '0644' },
      { path: '/etc/distro/secret', content: 'secret\n', mode: '0600' },
    ],
    scripts: [{ name: 'report', content: '#!/bin/sh\necho "DISTRO-SCRIPT ip=$VMCTX_IP iface=$VMCTX_INTERFACE host=$(hostname)" >/dev/console\n' }],
  };
}
/** Issue 21: the static context edited (host name, address, DNS, one key out and one in, one more script). */
const KEY2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDistroLabKeyTwo00000000000000000000000 distro2@lab';
const reappliedAddress = (i: number) => `198.51.100.${130 + i}`;
function reapplyContext(kind: DistroKind, i: number): ContextInput {
  const first = staticContext(kind, i);
  return {
    ...first,
    instanceId: `distro-reapply-${kind}`,
    hostname: `dr-${i}.lab.example`,
    network: { ...labStaticNetwork(`${reappliedAddress(i)}/24`), nameservers: ['198.51.100.9'] },
    ssh: { authorizedKeys: [KEY2] },
    // "report" is unchanged (not run again); the new one reports the boots this disk counted, then the guest's report.
    scripts: [...first.scripts!, { name: 'reapplied', content: '#!/bin/sh\necho "DISTRO-REAPPLY boots=$(cat /var/lib/lab-boots)" >/dev/console\nexec /usr/local/sbin/lab-report\n' }],
  };
}

/**
 * Issue 21: the running guest's CD swapped for `iso` (virsh change-media, live, as deploy does); waits for the
 * re-apply's last line and the report the new script prints (boot=3: the disk's count), then pings the new address.
 */
async function swapCd(run: Run, guest: Guest, iso: string, earlier: string, i: number): Promise<void> {
  const atSwap = guest.serial().length;
  const started = Date.now();
  // As the deployer's changeMedia: a guest holds its tray locked while udev probes the drive after a boot ("timed out
  // waiting to open tray", seen 6 s after a sysvinit guest's second boot's report): asked again, 5 s apart.
  for (let attempt = 1; ; attempt++) {
    const swapped = await ssh(env, run.lc, ['virsh', 'change-media', run.name, 'hdc', iso, '--update', '--live']);
    if (swapped.code === 0) break;
    if (attempt >= 4 || !/waiting to open tray/.test(swapped.stderr)) throw new Error(`virsh change-media ${run.name}: ${swapped.stderr}`);
    await sleep(5000);
  }
  const done = new RegExp(`vmctx: post-install done \\(instance distro-reapply-${run.kind}\\)`);
  let seconds: number | undefined;
  for (;;) {
    const now = guest.serial();
    run.serial = `${earlier}${now.slice(0, atSwap)}\n--- change-media ---\n${now.slice(atSwap)}`;
    if (seconds === undefined && done.test(now.slice(atSwap))) seconds = (Date.now() - started) / 1000;
    // The report the new script prints counts this disk's boots, and one more.
    const report = reportOf(now.slice(atSwap), run.boots.length + 1);
    if (seconds !== undefined && report) {
      run.reapply = { seconds, report, ping: await ping(run.lc, reappliedAddress(i)) };
      note(`${run.name} on ${run.lc.name}: edited context applied ${seconds.toFixed(1)} s after virsh change-media`);
      return;
    }
    if (Date.now() - started > 10 * 60_000) throw new Error(`${run.name} on ${run.lc.name}: no re-apply 10 min after virsh change-media`);
    await sleep(500);
  }
}

/** The MAC of the guest that boots the IP-from-MAC CD if kind `i` does: the address it reads from it. */
const ipmacMac = (i: number) => macFromIpv4(macAddress(i));
/** A group's CD: its members' MACs (each kind's, whichever boots it) for cloud-init, which cannot read an address from a MAC. */
const IPMAC: ContextInput = {
  instanceId: 'distro-ipmac',
  network: { method: 'ip-from-mac', prefix: 24, gateway: '198.51.100.1', members: [...DISTRO_KINDS.map((_, i) => ipmacMac(i)), ipmacMac(CLOUD_INDEX)] },
};

/** Up to three pings from inside the controller's namespace; the last answer. */
async function ping(lc: LabController, address: string): Promise<RunResult> {
  let result: RunResult = { stdout: '', stderr: 'not tried', code: -1 };
  for (let i = 0; i < 3; i++) {
    result = await ssh(env, lc, ['ping', '-c', '1', '-W', '3', address]);
    if (result.code === 0) break;
  }
  return result;
}

/** Progress on stderr (a run takes minutes). */
function note(text: string): void {
  process.stderr.write(`[guest-distros ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
}

/** A cleanup step that may not hold the suite up: given up (and said) after `ms`. */
async function bounded(what: string, step: Promise<unknown>, ms = 120_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      note(`${what}: no answer after ${ms} ms, going on`);
      resolve();
    }, ms);
  });
  await Promise.race([step.catch((error: unknown) => note(`${what}: ${String(error)}`)), late]);
  clearTimeout(timer);
}

/** Runs at most `limit` of the jobs at once. */
async function pool<T>(jobs: Array<() => Promise<T>>, limit: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, jobs.length) }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }),
  );
}

/**
 * Boots one guest, follows its console through its boots, pings it after each report. With `restarts`, the guest
 * powers off after its first report (lab.poweroff1) and is started again: the second boot, from the same disk and CD.
 */
async function runGuest(run: Run, disk: string, iso: string | undefined, mac: string, restarts: boolean, reapplyIso?: string): Promise<void> {
  const lc = run.lc;
  let guest: Guest | undefined;
  try {
    let started = Date.now();
    guest = await bootGuest(env, lc, { name: run.name, disk, ...(iso ? { iso } : {}), mac, memoryMiB: 256, cmdline: restarts ? `${DISTRO_CMDLINE} lab.poweroff1` : DISTRO_CMDLINE });
    const wanted = restarts ? 2 : 1;
    const deadline = Date.now() + GUEST_LIMIT_MS;
    // The console of the boots before this one (libvirt truncates the file at each start).
    let earlier = '';
    let finishedSeen = 0;
    let contextualized = 0;
    while (run.boots.length < wanted) {
      const serial = earlier + guest.serial();
      run.serial = serial;
      const finished = serial.match(/vmctx: contextualization finished/g)?.length ?? 0;
      if (finished > finishedSeen) {
        finishedSeen = finished;
        contextualized = (Date.now() - started) / 1000;
      }
      const report = reportOf(serial, run.boots.length + 1);
      if (report) {
        const address = addressesOf(report)[0]?.split('/')[0];
        note(`${run.name} on ${lc.name}: report ${run.boots.length + 1}, ${address ?? 'no address'}`);
        const result = address ? await ping(lc, address) : { stdout: '', stderr: 'no address in the report', code: -1 };
        run.boots.push({ contextualized, report, address, ping: result });
        if (restarts && run.boots.length === 1) {
          // Off: the domain shut off, or the kernel said it powered down or halted (then the disk is synced).
          while ((await sshOk(env, lc, ['virsh', 'domstate', run.name])).trim() !== 'shut off') {
            if (/reboot: Power down|System halted/.test(guest.serial())) {
              // It may shut off by itself meanwhile: then destroy says "not running", which is as good.
              await ssh(env, lc, ['virsh', 'destroy', run.name]);
              break;
            }
            if (Date.now() > deadline) throw new Error(`${run.name} on ${lc.name}: did not power off`);
            await sleep(1000);
          }
          earlier = `${earlier}${guest.serial()}\n--- restart ---\n`;
          started = Date.now();
          await sshOk(env, lc, ['virsh', 'start', run.name]);
        }
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${run.name} on ${lc.name}: ${run.boots.length + 1}. report missing after ${GUEST_LIMIT_MS} ms`);
      await sleep(500);
    }
    if (reapplyIso) await swapCd(run, guest, reapplyIso, earlier, DISTRO_KINDS.indexOf(run.kind as DistroKind));
  } catch (error) {
    run.error = error;
  } finally {
    // VMCTX_DISTRO_SERIAL=FOLDER keeps each guest's console there (the controller's copy goes with the guest).
    if (process.env.VMCTX_DISTRO_SERIAL) writeFileSync(join(process.env.VMCTX_DISTRO_SERIAL, `${run.name}.log`), run.serial);
    note(`${run.name} on ${lc.name}: ${run.boots.map((b) => `${b.contextualized.toFixed(1)} s`).join(', ') || 'no report'}${run.error ? ` (${String(run.error)})` : ''}`);
    if (guest) await bounded(`destroy ${run.name}`, guest.destroy());
    await bounded(`rm ${run.name}`, ssh(env, lc, ['rm', '-f', disk, `${lc.images}/${run.name}.serial.log`]));
  }
}

beforeAll(async () => {
  const cache = buildDistroGuests();
  const bases = new Map<string, { path: string; size: number }>();
  for (const lc of controllers) for (const kind of DISTRO_KINDS) bases.set(`${lc.name}/${kind}`, seedDistroBase(cache, lc, kind));

  // The CDs: one static context per kind; one IP-from-MAC CD and one CD without post-install shared by all.
  const isos = new Map<string, string>();
  const uploads: Array<Promise<void>> = [];
  const addIso = async (name: string, tree: FileMap, label?: string) => {
    const local = join(work, `${name}.iso`);
    await writeIsoFromFiles(tree, local, { epoch: 1_700_000_000, ...(label ? { label } : {}) });
    for (const lc of controllers) {
      const remote = `${lc.images}/${name}.iso`;
      isos.set(`${lc.name}/${name}`, remote);
      uploads.push(upload(env, lc, local, remote));
    }
  };
  // vmctx's default CD (vmctx context iso, vmctx deploy): both layouts, label cidata.
  const defaultCd = (context: ContextInput) => buildCdTree(parseContext(context), 'both');
  await addIso('distro-ipmac', defaultCd(IPMAC), 'cidata');
  await addIso('distro-nopi', NO_POST_INSTALL_CD);
  for (const [i, kind] of DISTRO_KINDS.entries()) await addIso(`distro-static-${kind}`, defaultCd(staticContext(kind, i)), 'cidata');
  for (const [i, kind] of DISTRO_KINDS.entries()) await addIso(`distro-reapply-${kind}`, defaultCd(reapplyContext(kind, i)), 'cidata');
  await Promise.all(uploads);

  // Longest first, so that no slow guest starts last: the static ones, most work first, then sysvinit's (its serial
  // init scripts boot slowest under TCG), then the rest; controllers in turn.
  const jobs: Array<() => Promise<void>> = [];
  let n = 0;
  const order = PLAN.map(({ kase, kind }) => ({ kase, kind, i: DISTRO_KINDS.indexOf(kind) }));
  // A static guest's work: its boots and its re-apply; sysvinit's are the slowest.
  const load = (kind: DistroKind) => (SECOND_BOOT.includes(kind) ? 2 : 1) + (REAPPLY.includes(kind) ? 1 : 0) + (kind === 'sysv-ifupdown' ? 0.5 : 0);
  const weight = (j: { kase: Case; kind: DistroKind }) => (j.kase === 'static' ? -load(j.kind) : j.kind === 'sysv-ifupdown' ? 1 : 2);
  order.sort((a, b) => weight(a) - weight(b));
  note(
    `cases this run (VMCTX_DISTRO_SEED=${SEED} to run them again so): ${(['nopi', 'nocd', 'ipmac'] as const).map((c) => `${c} on ${kindsOf(c).join(' and ')}`).join('; ')}; static on every kind, second boot on ${SECOND_BOOT.join(', ')}, live re-apply on ${REAPPLY.join(', ')}`,
  );
  for (const { kase, kind, i } of order) {
    const lc = controllers[n++ % controllers.length]!;
    const name = `distro-${kase}-${kind}`;
    const run: Run = { kind, kase, name, lc, serial: '', boots: [] };
    runs.set(key(kind, kase), run);
    const mac = kase === 'ipmac' ? ipmacMac(i) : `52:54:00:d1:${String(CASES.indexOf(kase)).padStart(2, '0')}:${String(i).padStart(2, '0')}`;
    const iso =
      kase === 'static' ? isos.get(`${lc.name}/distro-static-${kind}`) : kase === 'nocd' ? undefined : isos.get(`${lc.name}/distro-${kase}`);
    jobs.push(async () => {
      note(`${name} on ${lc.name}: starting`);
      const base = bases.get(`${lc.name}/${kind}`)!;
      const overlay = join(work, `${name}.qcow2`);
      const disk = `${lc.images}/${name}.qcow2`;
      try {
        await createOverlay({ path: overlay, backingFile: base.path, backingFormat: 'raw', virtualSize: base.size });
        await upload(env, lc, overlay, disk);
      } catch (error) {
        run.error = error;
        return;
      }
      const isStatic = kase === 'static';
      await runGuest(run, disk, iso, mac, isStatic && SECOND_BOOT.includes(kind), isStatic && REAPPLY.includes(kind) ? isos.get(`${lc.name}/distro-reapply-${kind}`) : undefined);
    });
  }
  // The cloud-init guest, with the IP-from-MAC CD the vmctx kind boots: after the static guests (one boot, not two).
  const cloudLc = controllers[n++ % controllers.length]!;
  const cloudRun: Run = { kind: CLOUD_KIND, kase: 'ipmac', name: `distro-ipmac-${CLOUD_KIND}`, lc: cloudLc, serial: '', boots: [] };
  runs.set(key(CLOUD_KIND, 'ipmac'), cloudRun);
  const cloudBase = seedDistroBase(cache, cloudLc, CLOUD_KIND);
  jobs.splice(DISTRO_KINDS.length, 0, async () => {
    note(`${cloudRun.name} on ${cloudLc.name}: starting`);
    const overlay = join(work, `${cloudRun.name}.qcow2`);
    const disk = `${cloudLc.images}/${cloudRun.name}.qcow2`;
    try {
      await createOverlay({ path: overlay, backingFile: cloudBase.path, backingFormat: 'raw', virtualSize: cloudBase.size });
      await upload(env, cloudLc, overlay, disk);
    } catch (error) {
      cloudRun.error = error;
      return;
    }
    await runGuest(cloudRun, disk, isos.get(`${cloudLc.name}/distro-ipmac`), ipmacMac(CLOUD_INDEX), false);
  });
  note(`${jobs.length} guests, ${PARALLEL} at once, on ${controllers.map((lc) => lc.name).join(' and ')}`);
  await pool(jobs, PARALLEL);
  note('all guests done');
}, 60 * 60_000);

afterAll(async () => {
  note('cleaning up');
  await Promise.all(
    controllers.map((lc) =>
      bounded(
        `clean ${lc.name}`,
        ssh(env, lc, ['sh', '-c', 'cd "$1" && rm -f distro-*.iso distro-*.qcow2 distro-*.serial.log distro-base-*.raw', 'x', lc.images]),
      ),
    ),
  );
  rmSync(work, { recursive: true, force: true });
  const lines: string[] = [];
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  for (const kind of DISTRO_KINDS) {
    const first = CASES.map((kase) => runs.get(key(kind, kase))?.boots[0]?.contextualized).filter((x): x is number => x !== undefined);
    const again = runs.get(key(kind, 'static'))?.boots[1]?.contextualized;
    lines.push(
      `  ${kind.padEnd(17)} first boots: median ${median(first).toFixed(1)} s, ${Math.min(...first).toFixed(1)}-${Math.max(...first).toFixed(1)} s (${first.map((x) => x.toFixed(1)).join(', ')}); second boot: ${again?.toFixed(1) ?? '-'} s`,
    );
  }
  process.stdout.write(`guest-distros: boot-to-contextualized (virsh start, for each start, "contextualization finished"), ${PARALLEL} guests at once:\n${lines.join('\n')}\n`);
  const reapplied = DISTRO_KINDS.map((kind) => `${kind} ${runs.get(key(kind, 'static'))?.reapply?.seconds.toFixed(1) ?? '-'} s`);
  process.stdout.write(`guest-distros: virsh change-media to "post-install done" of the edited context (issue 21): ${reapplied.join(', ')}\n`);
});

/** The run of a case, with its error (and the end of its console) thrown when the guest did not get that far. */
function runOf(kind: GuestKind, kase: Case, boots = 1): Run {
  const run = runs.get(key(kind, kase));
  if (!run) throw new Error(`no run for ${kind}/${kase}`);
  if (run.boots.length < boots) {
    throw new Error(`${run.name} on ${run.lc.name}: ${run.boots.length} of ${boots} boot(s) reported (${String(run.error)}); console:\n${run.serial.slice(-4000)}`);
  }
  return run;
}

/** The console text of boot `n` (1 or 2): the second starts at the restart and ends at the CD's swap (issue 21). */
function consoleOf(run: Run, n: number): string {
  const restart = run.serial.indexOf('--- restart ---');
  const swap = run.serial.indexOf('--- change-media ---');
  const end = swap < 0 ? run.serial.length : swap;
  if (n === 1) return run.serial.slice(0, restart < 0 ? end : restart);
  return restart < 0 ? '' : run.serial.slice(restart, end);
}

/** What each kind's DHCP fallback says it does. */
const DHCP_WAY: Record<DistroKind, RegExp> = {
  'sysv-ifupdown': new RegExp(`vmctx: network: ifup ${IFACE}`),
  'systemd-ifupdown': new RegExp(`vmctx: network: ifup ${IFACE}`),
  'systemd-networkd': new RegExp(`vmctx: network: DHCP on ${IFACE} through systemd-networkd`),
  'systemd-nm': new RegExp(`vmctx: network: DHCP on ${IFACE} through NetworkManager`),
};

/** What the guest says when there is no context to apply, per case. */
const NO_CONTEXT: Record<'nopi' | 'nocd', RegExp> = {
  nopi: /vmctx: context CD \/dev\/sr0 has no post-install; falling back to DHCP|vmctx: \/dev\/sr0 has no post-install/,
  nocd: /vmctx: no context CD \(no CD drive\); falling back to DHCP/,
};

/** Checks every kind shares: the report says the guest is reachable at `address` only, and ping agrees. */
function expectReachableAt(boot: Boot, address: string): void {
  expect(addressesOf(boot.report)).toEqual([address]);
  expect(boot.ping.stdout).toMatch(/1 packets transmitted, 1 received/);
}

/** Where the kind keeps the network for the next boots, and what runs it. */
function expectPersisted(kind: DistroKind, report: string[]): void {
  const stats = tagged(report, 'LAB-STAT');
  if (kind === 'systemd-networkd') expect(stats).toContain('644 0 0 /etc/systemd/network/10-vmctx.network');
  if (kind === 'systemd-nm') {
    expect(stats).toContain(`600 0 0 /etc/NetworkManager/system-connections/vmctx-${IFACE}.nmconnection`);
    expect(tagged(report, 'LAB-NM-ACTIVE').some((l) => l.startsWith(`vmctx-${IFACE}:802-3-ethernet:${IFACE}:`))).toBe(true);
  }
}

describe.each(DISTRO_KINDS.map((kind, i) => [kind, i] as const))('Debian 12 %s', (kind, i) => {
  it('static context CD: address, MTU, routes, DNS, host name, key, files and script applied, and kept by the network daemon', () => {
    const run = runOf(kind, 'static');
    const text = consoleOf(run, 1);
    const boot = run.boots[0]!;
    expect(text).toMatch(/vmctx: context CD \/dev\/sr0 .*mounted on \/mnt/);
    expect(text).toMatch(new RegExp(`vmctx: post-install: address ${staticAddress(i).replace(/\./g, '\\.')}/24 on ${IFACE}`));
    expect(text).toMatch(new RegExp(`vmctx: post-install done \\(instance distro-static-${kind}\\)`));
    expect(text).not.toMatch(/vmctx: post-install: error/);
    expect(text).toMatch(new RegExp(`DISTRO-SCRIPT ip=${staticAddress(i).replace(/\./g, '\\.')} iface=${IFACE} host=ds-${i}\\.lab\\.example`));
    expectReachableAt(boot, `${staticAddress(i)}/24`);
    const routes = tagged(boot.report, 'LAB-ROUTE').map((r) => r.trim());
    expect(routes.some((r) => r.startsWith(`default via 198.51.100.1 dev ${IFACE}`))).toBe(true);
    expect(routes.some((r) => r.startsWith(`203.0.113.0/24 via 198.51.100.1 dev ${IFACE}`))).toBe(true);
    expect(routes.some((r) => /^192\.0\.2\.0\/25 via 198\.51\.100\.1 dev \S+ .*metric 7\b/.test(r))).toBe(true);
    expect(tagged(boot.report, 'LAB-IFACE')[0]).toMatch(/ mtu=1400$/);
    expect(tagged(boot.report, 'LAB-HOSTNAME')).toEqual([`ds-${i}.lab.example ds-${i}.lab.example`]);
    const resolv = tagged(boot.report, 'LAB-RESOLV');
    expect(resolv).toContain('nameserver 198.51.100.1');
    expect(resolv).toContain('nameserver 198.51.100.2');
    expect(resolv.some((l) => /^search .*lab\.example/.test(l))).toBe(true);
    const stats = tagged(boot.report, 'LAB-STAT');
    expect(stats).toContain('644 0 0 /etc/distro-motd');
    expect(stats).toContain('600 0 0 /etc/distro/secret');
    expect(stats).toContain('600 0 0 /root/.ssh/authorized_keys');
    expect(tagged(boot.report, 'LAB-MOTD')).toEqual(['configured by vmctx']);
    expect(tagged(boot.report, 'LAB-KEY')).toEqual([KEY]);
    // No DHCP client left to renew an address the context replaced.
    expect(tagged(boot.report, 'LAB-DHCP-CLIENT')).toEqual([]);
    expectPersisted(kind, boot.report);
    // Run once in this boot (with rc.local and systemd, the unit stands aside).
    expect(tagged(boot.report, 'LAB-CTX-RUNS')).toEqual(['1']);
  });

});

describe('Debian 12, a static guest powered off and started again (second boot, on the kinds VMCTX_DISTRO_SEED chose)', () => {
  it.each(SECOND_BOOT)('%s: the CD is not applied again, the network comes back from what the kind persisted', (kind) => {
    const i = DISTRO_KINDS.indexOf(kind);
    const run = runOf(kind, 'static', 2);
    const text = consoleOf(run, 2);
    const boot = run.boots[1]!;
    expect(text).toMatch(new RegExp(`vmctx: instance distro-static-${kind} is already contextualized; bringing up its network`));
    expect(text).not.toMatch(/vmctx: running post-install/);
    expect(text).not.toMatch(/DISTRO-SCRIPT/);
    expectReachableAt(boot, `${staticAddress(i)}/24`);
    expect(tagged(boot.report, 'LAB-ROUTE').some((r) => r.startsWith(`default via 198.51.100.1 dev ${IFACE}`))).toBe(true);
    expect(tagged(boot.report, 'LAB-HOSTNAME')).toEqual([`ds-${i}.lab.example ds-${i}.lab.example`]);
    expect(tagged(boot.report, 'LAB-DHCP-CLIENT')).toEqual([]);
    expectPersisted(kind, boot.report);
    expect(tagged(boot.report, 'LAB-CTX-RUNS')).toEqual(['2']);
    expect(tagged(boot.report, 'LAB-POST-INSTALL-RUNS')).toEqual(['1']);
  });
});

describe('Debian 12, an edited context CD swapped into the running static guest by virsh change-media (issue 21, on the kinds VMCTX_DISTRO_SEED chose)', () => {
  it.each(REAPPLY)('%s: applied without a reboot', (kind) => {
    const i = DISTRO_KINDS.indexOf(kind);
    const run = runOf(kind, 'static', SECOND_BOOT.includes(kind) ? 2 : 1);
    if (!run.reapply) throw new Error(`${run.name}: no re-apply (${String(run.error)}); console:\n${run.serial.slice(-4000)}`);
    const text = run.serial.slice(run.serial.indexOf('--- change-media ---'));
    const { report } = run.reapply;
    expect(text).toMatch(new RegExp(`vmctx: instance distro-reapply-${kind} replaces distro-static-${kind}: applying it without a reboot`));
    expect(text).not.toMatch(/vmctx: post-install: error/);
    // No reboot: the kernel did not start again; the disk's own count (written at each boot before) goes on.
    expect(text).not.toMatch(/Linux version/);
    expect(text).toMatch(new RegExp(`DISTRO-REAPPLY boots=${run.boots.length}\\b`));
    // The unchanged script did not run again.
    expect(text).not.toMatch(/DISTRO-SCRIPT/);
    expect(addressesOf(report)).toEqual([`${reappliedAddress(i)}/24`]);
    expect(run.reapply.ping.stdout).toMatch(/1 packets transmitted, 1 received/);
    expect(tagged(report, 'LAB-HOSTNAME')).toEqual([`dr-${i}.lab.example dr-${i}.lab.example`]);
    expect(tagged(report, 'LAB-RESOLV')).toContain('nameserver 198.51.100.9');
    expect(tagged(report, 'LAB-RESOLV')).not.toContain('nameserver 198.51.100.2');
    // The key vmctx added before is gone, the new one is there; the file the first context wrote stays.
    expect(tagged(report, 'LAB-KEY')).toEqual([KEY2]);
    expect(tagged(report, 'LAB-MOTD')).toEqual(['configured by vmctx']);
    // The report comes from the new script, inside post-install: the id is recorded after it, with the last line.
    expect(text).toMatch(new RegExp(`vmctx: post-install done \\(instance distro-reapply-${kind}\\)`));
    expect(run.reapply.seconds).toBeLessThan(300);
  });
});

describe('Debian 12, the cases that do not depend on the kind (on the kinds VMCTX_DISTRO_SEED chose)', () => {
  it.each(['nopi', 'nocd'] as const)("DHCP fallback the kind's own way (%s: a CD without post-install, or no CD drive): a lease from the controller", (kase) => {
    const kind = kindsOf(kase)[0]!;
    const run = runOf(kind, kase);
    const boot = run.boots[0]!;
    expect(run.serial).toMatch(NO_CONTEXT[kase]);
    expect(run.serial).toMatch(DHCP_WAY[kind]);
    const [address] = addressesOf(boot.report);
    expect(address).toMatch(/^198\.51\.100\.(5\d|[6-9]\d)\/24$/);
    expectReachableAt(boot, address!);
  });

  it("IP-from-MAC CD, on the stock cloud-init guest too (issue 20): cloud-init alone reads it, and finds its address among the group's MACs", () => {
    const run = runOf(CLOUD_KIND, 'ipmac');
    const boot = run.boots[0]!;
    expect(run.serial).toMatch(/Cloud-init v\. \S+ finished at [^\n]*Datasource DataSourceNoCloud \[seed=\/dev\/sr0\]/);
    expect(run.serial).not.toMatch(/vmctx: contextualization starts/);
    expectReachableAt(boot, `${macAddress(CLOUD_INDEX)}/24`);
    expect(tagged(boot.report, 'LAB-ROUTE').some((r) => r.trim().startsWith(`default via 198.51.100.1 dev ${IFACE}`))).toBe(true);
    expect(tagged(boot.report, 'LAB-NETWORKD').join('\n')).toMatch(new RegExp(`${IFACE}\\s+ether\\s+routable\\s+configured`));
  });

  it('IP-from-MAC CD (one ISO for every kind): the address and host name from the MAC, kept by the network daemon', () => {
    const kind = kindsOf('ipmac')[0]!;
    const i = DISTRO_KINDS.indexOf(kind);
    const run = runOf(kind, 'ipmac');
    const boot = run.boots[0]!;
    expect(run.serial).toMatch(new RegExp(`vmctx: post-install: address ${macAddress(i).replace(/\./g, '\\.')} read from the MAC of ${IFACE}`));
    expect(run.serial).not.toMatch(/vmctx: post-install: error/);
    expectReachableAt(boot, `${macAddress(i)}/24`);
    expect(tagged(boot.report, 'LAB-HOSTNAME')).toEqual([`vm-${macAddress(i).replace(/\./g, '-')} vm-${macAddress(i).replace(/\./g, '-')}`]);
    expectPersisted(kind, boot.report);
  });
});
