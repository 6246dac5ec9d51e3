/**
 * The lab's Debian 12 guests (tools/lab/guests), as the distro suite uses them: built (or found in the cache) by
 * tools/lab/guests/build.sh, each kind's base image put in a controller's image folder, and the report their
 * `lab-report` prints on the serial console (LAB-* lines between LAB-REPORT-BEGIN boot=N and LAB-REPORT-END boot=N).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hostPath, type LabController, REPO_ROOT } from './lab.js';

/** The kinds tools/lab/guests/kinds.sh builds (GUESTS_KINDS), with vmctx's script; build.sh also builds `cloud-init` (guest-distros' IP-from-MAC case, deployer-distro). */
export const DISTRO_KINDS = ['sysv-ifupdown', 'systemd-ifupdown', 'systemd-networkd', 'systemd-nm'] as const;
export type DistroKind = (typeof DISTRO_KINDS)[number];
/** The name udev gives the lab's virtio NIC in these guests (GUESTS_IFACE). */
export const DISTRO_IFACE = 'ens2';
/**
 * Appended to these guests' kernel command line. The lab's network is IPv4 only: nothing sends a router
 * advertisement, and systemd-networkd holds a link "configuring" through its router solicitations, so whatever waits
 * for it (cloud-init's systemd-networkd-wait-online before its `init` stage, lab-report's wait on the networkd kind)
 * waited 12-13 s at every boot for an answer that never comes (measured on the lab: the cloud-init guest's
 * wait-online 13.4 s, 0.25 s without IPv6; boot to report 84 s and 59 s; the networkd kind 36 s and 23 s). Nothing of
 * vmctx configures IPv6, so no check loses anything by the guests not having it.
 */
export const DISTRO_CMDLINE = 'ipv6.disable=1';

/** Builds the guests when the cache does not hold them (quick when it does); returns the cache folder. */
export function buildDistroGuests(): string {
  return execFileSync(`${REPO_ROOT}tools/lab/guests/build.sh`, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/**
 * Puts a kind's base image into the controller's image folder as `distro-base-KIND.raw` (a hard link to the cache,
 * as `lab` seeds debian-base.raw; a copy across file systems); returns its path on the controller and its size.
 */
export function seedDistroBase(cache: string, lc: LabController, kind: DistroKind | 'cloud-init'): { path: string; size: number } {
  const source = join(cache, `${kind}.raw`);
  const path = `${lc.images}/distro-base-${kind}.raw`;
  const local = hostPath(lc, path);
  if (!(existsSync(local) && statSync(local).ino === statSync(source).ino)) {
    rmSync(local, { force: true });
    try {
      linkSync(source, local);
    } catch {
      copyFileSync(source, local);
    }
  }
  return { path, size: statSync(source).size };
}

/** The LAB-* lines of the report of boot `boot`, without their tag's prefix kept apart: ['LAB-ADDR ...', ...]. */
export function reportOf(serial: string, boot: number): string[] | undefined {
  const lines = serial.split(/\r?\n/);
  const begin = lines.findIndex((l) => l.endsWith(`LAB-REPORT-BEGIN boot=${boot}`));
  if (begin < 0) return undefined;
  const end = lines.findIndex((l, i) => i > begin && l.endsWith(`LAB-REPORT-END boot=${boot}`));
  if (end < 0) return undefined;
  return lines.slice(begin + 1, end).filter((l) => l.startsWith('LAB-'));
}

/** The values of one tag in a report: tagged(report, 'LAB-ADDR') gives what follows 'LAB-ADDR ' on each line. */
export function tagged(report: string[], tag: string): string[] {
  return report.filter((l) => l.startsWith(`${tag} `)).map((l) => l.slice(tag.length + 1));
}

/** The IPv4 addresses (ADDR/LEN) the report's LAB-ADDR lines show. */
export function addressesOf(report: string[]): string[] {
  return tagged(report, 'LAB-ADDR').flatMap((l) => [...l.matchAll(/ inet (\d+\.\d+\.\d+\.\d+\/\d+)/g)].map((m) => m[1]!));
}
