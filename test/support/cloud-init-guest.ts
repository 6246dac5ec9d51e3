/**
 * The lab's stock cloud-init guest (issue 20; tools/lab/guests/cloud-init.sh: Debian 12 built as genericcloud is,
 * netplan + systemd-networkd + systemd-resolved + cloud-init, nothing of vmctx) booted by guest-distros with vmctx's
 * default context CD (cloud-init's NoCloud seed beside Snooze's layout, label cidata). One guest answers every case
 * in three boots (each about 45-100 s under TCG, so as few as possible):
 *   boot 1  the static context (address, MTU, routes with a metric, DNS, host name, key, files, a script): applied;
 *   boot 2  the same CD after a power-off: cloud-init sees the same instance id and applies nothing again;
 *   boot 3  an edited context on the same ISO path (no instanceId: its hash changes): applied again at this boot,
 *           and as its network is DHCP, the lease from the controller's dnsmasq is the DHCP case too.
 * Each boot is followed to its lab report (files/lab-report, after cloud-final) and pinged from the controller.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { writeIsoFromFiles } from '@vmctx/iso-builder';
import { buildCdTree, parseContext, type ContextInput } from '@vmctx/guest-script';
import { addressesOf, reportOf } from './distro-guests.js';
import { labStaticNetwork } from './lab-contexts.js';
import { bootGuest, type Guest, type LabController, type LabEnv, type RunResult, ssh, sshOk, upload } from './lab.js';

/** The kind tools/lab/guests/build.sh builds apart from the vmctx kinds (cloud-init.raw in its cache). */
export const CLOUD_KIND = 'cloud-init';
export const CLOUD_ADDRESS = '198.51.100.140';
export const CLOUD_NAME = 'distro-cloud-init';
const MAC = '52:54:00:d1:0c:01';
/** What cloud-init prints at the end of its last stage, with the NoCloud CD it read (cc_final_message). */
export const CLOUD_FINISHED = /Cloud-init v\. \S+ finished at [^\n]*Datasource DataSourceNoCloud \[seed=\/dev\/sr0\]/;

export function cloudStaticContext(key: string): ContextInput {
  return {
    hostname: 'ci-1.lab.example',
    network: labStaticNetwork(`${CLOUD_ADDRESS}/24`),
    ssh: { authorizedKeys: [key] },
    files: [
      { path: '/etc/distro-motd', content: 'configured by vmctx\n', mode: '0644' },
      { path: '/etc/distro/secret', content: 'secret\n', mode: '0600' },
    ],
    scripts: [
      { name: 'report', content: '#!/bin/sh\necho "DISTRO-SCRIPT ip=$VMCTX_IP iface=$VMCTX_INTERFACE host=$(hostname)" >/dev/console\necho first >/run/distro-first\n' },
      // The context's order: this one sees what the first wrote.
      { name: 'second', content: '#!/bin/sh\necho "DISTRO-SCRIPT-2 after=$(cat /run/distro-first)" >/dev/console\n' },
    ],
  };
}

/** The context edited: another host name, DHCP, another file content, another script. */
export function cloudEditedContext(key: string): ContextInput {
  return {
    hostname: 'ci-2.lab.example',
    network: { method: 'dhcp' },
    ssh: { authorizedKeys: [key] },
    files: [{ path: '/etc/distro-motd', content: 'edited by vmctx\n', mode: '0644' }],
    scripts: [{ name: 'edited', content: '#!/bin/sh\necho "DISTRO-EDITED host=$(hostname)" >/dev/console\n' }],
  };
}

export interface CloudBoot {
  /** The console of this boot alone. */
  console: string;
  report: string[];
  address: string | undefined;
  ping: RunResult;
  /** Seconds from virsh start to cloud-init's "finished" line. */
  finished: number | undefined;
}

export interface CloudRun {
  lc: LabController;
  boots: CloudBoot[];
  error?: unknown;
}

async function ping(env: LabEnv, lc: LabController, address: string): Promise<RunResult> {
  let result: RunResult = { stdout: '', stderr: 'not tried', code: -1 };
  for (let i = 0; i < 3; i++) {
    result = await ssh(env, lc, ['ping', '-c', '1', '-W', '3', address]);
    if (result.code === 0) break;
  }
  return result;
}

/** Follows one boot's console (libvirt truncates the log at each start) to its report; pings what it reports. */
async function followBoot(env: LabEnv, guest: Guest, n: number, limitMs: number): Promise<CloudBoot> {
  const started = Date.now();
  let finished: number | undefined;
  for (;;) {
    const text = guest.serial();
    if (finished === undefined && CLOUD_FINISHED.test(text)) finished = (Date.now() - started) / 1000;
    const report = reportOf(text, n);
    if (report) {
      const address = addressesOf(report)[0]?.split('/')[0];
      const result = address ? await ping(env, guest.lc, address) : { stdout: '', stderr: 'no address in the report', code: -1 };
      return { console: text, report, address, ping: result, finished };
    }
    if (Date.now() - started > limitMs) throw new Error(`${guest.name} on ${guest.lc.name}: no report of boot ${n} after ${limitMs} ms:\n${text.slice(-3000)}`);
    await sleep(500);
  }
}

/** Off, whichever way: the report synced the disk, so a hard stop loses nothing the checks need. */
async function stop(env: LabEnv, guest: Guest): Promise<void> {
  await ssh(env, guest.lc, ['virsh', 'destroy', guest.name]);
  await guest.waitForShutdown(60_000);
}

/**
 * The CDs the guest boots, written under `dir`: the first uploaded to `lc` (its path there returned), the edited one
 * kept for the third boot. Both vmctx's default CD (vmctx context iso, vmctx deploy): both layouts, label cidata.
 */
export async function cloudIsos(env: LabEnv, lc: LabController, dir: string, key: string): Promise<{ iso: string; editedLocal: string }> {
  const first = `${dir}/cloud-first.iso`;
  const editedLocal = `${dir}/cloud-edited.iso`;
  await writeIsoFromFiles(buildCdTree(parseContext(cloudStaticContext(key)), 'both'), first, { epoch: 1_700_000_000, label: 'cidata' });
  await writeIsoFromFiles(buildCdTree(parseContext(cloudEditedContext(key)), 'both'), editedLocal, { epoch: 1_700_000_000, label: 'cidata' });
  const iso = `${lc.images}/${CLOUD_NAME}.iso`;
  await upload(env, lc, first, iso);
  return { iso, editedLocal };
}

/**
 * The three boots of one guest on `disk` (an overlay on the cloud-init base) with the CD at `iso`; before the third,
 * the edited CD (`editedLocal`) is uploaded over it, as a redeploy of an edited context puts a new CD in place.
 */
export async function runCloudGuest(env: LabEnv, run: CloudRun, disk: string, iso: string, editedLocal: string, limitMs: number): Promise<void> {
  let guest: Guest | undefined;
  try {
    guest = await bootGuest(env, run.lc, { name: CLOUD_NAME, disk, iso, mac: MAC, memoryMiB: 256 });
    for (let n = 1; n <= 3; n++) {
      if (n > 1) {
        await stop(env, guest);
        // The edited CD at the same path (the upload refuses to write over a file it did not make: the old one goes first).
        if (n === 3) {
          await sshOk(env, run.lc, ['rm', '-f', iso]);
          await upload(env, run.lc, editedLocal, iso);
        }
        await sshOk(env, run.lc, ['virsh', 'start', CLOUD_NAME]);
      }
      run.boots.push(await followBoot(env, guest, n, limitMs));
    }
  } catch (error) {
    run.error = error;
  } finally {
    if (guest) await guest.destroy().catch(() => undefined);
    await ssh(env, run.lc, ['rm', '-f', disk, iso, `${run.lc.images}/${CLOUD_NAME}.serial.log`]).catch(() => undefined);
  }
}

/** Boot `n` of the run, or the error (and the end of the console) that kept the guest from getting there. */
export function cloudBoot(run: CloudRun | undefined, n: number): CloudBoot {
  const boot = run?.boots[n - 1];
  if (!boot) throw new Error(`${CLOUD_NAME}: boot ${n} not reported (${String(run?.error)}); console:\n${run?.boots.at(-1)?.console.slice(-3000) ?? ''}`);
  return boot;
}
