/**
 * What of an update a running domain can take without a restart, and what waits for one (issue 21). The new
 * definition (as rendered) is compared with the running domain's live one (`virsh dumpxml`), not with its persistent
 * definition: a hand edit of the persistent one (`virsh setmaxmem --config`) that the update puts back never reached
 * the guest, and needs no restart.
 *
 * libvirt applies live (formatdomain "Memory Allocation", "CPU Allocation"; virsh setmem, setvcpus, change-media):
 * - the memory balloon (`<currentMemory>`, or `<memory>` when there is none) within the running maximum (`<memory>`);
 * - the online vCPUs (`<vcpu current=>`, or the count) within the running maximum (the `<vcpu>` count);
 * - the medium of a CD drive.
 * Everything else (a new maximum, the machine type, a device) is read by QEMU at its start only.
 */
import { childAttr, elements, firstElement, getAttr, parseXml, textOf, type XmlElement } from '@vmctx/template-renderer';
import { domainDrift } from './domain-drift.js';

export type LiveChange =
  | { kind: 'memory'; kib: number; said: string }
  | { kind: 'vcpus'; count: number; said: string }
  | { kind: 'media'; target: string; source: string; said: string };

export interface LiveVerdict {
  /** Applied to the running domain as well as to its definition. */
  live: LiveChange[];
  /** What the running guest takes only at a restart, and why, in words. */
  restart: string[];
}

interface Allocation {
  maxKib: number;
  currentKib: number;
  maxVcpus: number;
  currentVcpus: number;
}

/**
 * `rendered`: the definition deploy is about to define; `live`: the running domain's; `contextIso`: the path of the
 * VM's context ISO on the controller (its drive is found by it in the rendered XML); `removed`: elements the last
 * rendering had and this one has not (xml-diff.ts), which drift cannot see from this side.
 */
export function liveVerdict(rendered: string, live: string, contextIso: string | undefined, removed: readonly string[] = []): LiveVerdict {
  const want = parseXml(rendered, 'rendered domain');
  const have = parseXml(live, 'live domain');
  const a = allocation(want);
  const b = allocation(have);
  const out: LiveVerdict = { live: [], restart: [] };

  // A balloon above the running maximum says it alone (its maximum changed with it).
  const memory = `memory ${mib(b.currentKib)} → ${mib(a.currentKib)}`;
  if (a.currentKib > b.maxKib) out.restart.push(`${memory} is above the maximum (${mib(b.maxKib)})`);
  else {
    if (a.currentKib !== b.currentKib) out.live.push({ kind: 'memory', kib: a.currentKib, said: memory });
    if (a.maxKib !== b.maxKib) out.restart.push(`maximum memory ${mib(b.maxKib)} → ${mib(a.maxKib)}`);
  }
  const vcpus = `vCPUs ${b.currentVcpus} → ${a.currentVcpus}`;
  if (a.currentVcpus > b.maxVcpus) out.restart.push(`${vcpus} is above the maximum (${b.maxVcpus})`);
  else {
    if (a.currentVcpus !== b.currentVcpus) out.live.push({ kind: 'vcpus', count: a.currentVcpus, said: vcpus });
    if (a.maxVcpus !== b.maxVcpus) out.restart.push(`maximum vCPUs ${b.maxVcpus} → ${a.maxVcpus}`);
  }

  // The context ISO's drive: a CD's medium is swapped live; a read-only disk (isoMode: disk) cannot be.
  const drive = contextIso === undefined ? undefined : driveOf(want, contextIso);
  let mediaPath: string | undefined;
  if (drive) {
    // A drive the running domain does not have (moved to another bus, say) is a device change: drift says it.
    const running = disks(have).find((d) => childAttr(d, 'target', 'dev') === drive.target);
    if (running && childAttr(running, 'source', 'file') !== contextIso) {
      mediaPath = `/domain/devices/disk[${drive.target}]/source@file`;
      if (drive.cdrom) out.live.push({ kind: 'media', target: drive.target, source: contextIso!, said: `context CD ${drive.target} swapped` });
      else out.restart.push(`context disk ${drive.target} (a read-only disk, not a CD: its medium cannot be swapped live)`);
    }
  }

  for (const line of domainDrift(rendered, live, Number.MAX_SAFE_INTEGER)) {
    const path = line.slice(0, line.indexOf(':'));
    if (ALLOCATION_PATHS.some((p) => path === p || path.startsWith(`${p}@`)) || path === mediaPath) continue;
    // domainDrift says "wanted → found"; a change reads "running → new".
    const [want, have] = line.slice(path.length + 2).split(' → ');
    out.restart.push(`${NAMES[path] ?? path} ${have} → ${want}`);
  }
  out.restart.push(...removed);
  return out;
}

/** Compared by number above, whatever their units: libvirt writes them back in KiB. */
const ALLOCATION_PATHS = ['/domain/memory', '/domain/currentMemory', '/domain/vcpu'];

/** Words for the fields people change most; the element path for the rest. */
const NAMES: Record<string, string> = { '/domain/os/type@machine': 'machine type', '/domain@type': 'domain type', '/domain/cpu@mode': 'CPU mode' };

function allocation(root: XmlElement): Allocation {
  const memory = firstElement(root, 'memory');
  const current = firstElement(root, 'currentMemory');
  const maxKib = memory ? kib(memory) : 0;
  const vcpu = firstElement(root, 'vcpu');
  const maxVcpus = vcpu ? Number(textOf(vcpu).trim()) || 1 : 1;
  const online = vcpu ? getAttr(vcpu, 'current') : undefined;
  return { maxKib, currentKib: current ? kib(current) : maxKib, maxVcpus, currentVcpus: online ? Number(online) : maxVcpus };
}

// formatdomain "Memory Allocation": a scaled integer, KiB when no unit is given.
const UNIT: Record<string, number> = { b: 1 / 1024, bytes: 1 / 1024, k: 1, kib: 1, kb: 1000 / 1024, m: 1024, mib: 1024, mb: 1e6 / 1024, g: 1024 ** 2, gib: 1024 ** 2, gb: 1e9 / 1024, t: 1024 ** 3, tib: 1024 ** 3, tb: 1e12 / 1024 };

function kib(e: XmlElement): number {
  const unit = (getAttr(e, 'unit') ?? 'KiB').toLowerCase();
  return Math.round(Number(textOf(e).trim()) * (UNIT[unit] ?? 1));
}

function mib(kibs: number): string {
  return kibs % 1024 === 0 ? `${kibs / 1024} MiB` : `${kibs} KiB`;
}

function disks(root: XmlElement): XmlElement[] {
  const devices = firstElement(root, 'devices');
  return devices ? elements(devices, 'disk') : [];
}

function driveOf(root: XmlElement, iso: string): { target: string; cdrom: boolean } | undefined {
  const disk = disks(root).find((d) => childAttr(d, 'source', 'file') === iso);
  const target = disk && childAttr(disk, 'target', 'dev');
  return disk && target ? { target, cdrom: getAttr(disk, 'device') === 'cdrom' } : undefined;
}

/**
 * The id libvirt gave a running domain at its start (formatdomain: the `id` attribute of a running domain's <domain>),
 * from its live definition; undefined for a definition without one (an inactive one).
 */
export function runningDomainId(live: string): string | undefined {
  return /<domain\b[^>]*\sid=['"](\d+)['"]/.exec(live)?.[1];
}
