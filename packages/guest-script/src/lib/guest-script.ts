/**
 * The guest's contextualization script, `/usr/local/bin/contextualization`, run at every boot from rc.local (or
 * the systemd unit): the seed's script made robust. POSIX sh for dash, bash and busybox ash alike, written in
 * sh/contextualization.sh and the files it sources (embedded by scripts/embed-sh.mjs); this module checks the
 * options and writes them as the script's header.
 *
 *  1. Find the context CD: by volume label (blkid, findfs, /dev/disk/by-label), else the seed's devices plus a
 *     few more (sr0 sr1 vdb vdc sdb ... ; ISO 9660 only there, so a data disk is never touched).
 *  2. Mount it read-only on /mnt when /mnt is free (post-install scripts that `cd /mnt` keep working), else on a
 *     private folder; a trap always unmounts it.
 *  3. Run its post-install from the CD folder, as root, under a time limit; once per instance id (the CD's
 *     `instance-id`, or a checksum of a Snooze CD) unless told to run at every boot.
 *  4. Without a CD drive, without a medium, when the mount fails or when the CD has no post-install: DHCP.
 *  5. Log to the serial console and /var/log/contextualization.log; exit 0 whatever happens.
 */
import { DEFAULT_CONTEXT_LABEL, shQuote, volumeLabelProblem } from '@vmctx/contract';
import { GuestScriptError } from './errors.js';
import { CONTEXTUALIZATION_SH } from './sh.generated.js';

export interface GuestScriptOptions {
  /** Volume label of the context CD. Default `CONTEXT`. */
  label?: string;
  /** Run post-install at every boot instead of once per instance id. Default false. */
  everyBoot?: boolean;
  /** Seconds post-install may run before it is stopped. Default 300. */
  timeoutSeconds?: number;
  /** Seconds a DHCP client may run. Default 60. */
  dhcpTimeoutSeconds?: number;
  /** Interface for the DHCP fallback; by default the first one that is not lo. */
  interface?: string;
  /** Devices (names under /dev) tried when no device has the label, in order. */
  devices?: readonly string[];
}

/** The seed's list (hdb sdb vdb xvdb sr0), the CD-ROMs first, plus the next device of each kind. */
export const DEFAULT_DEVICES: readonly string[] = ['sr0', 'sr1', 'vdb', 'vdc', 'vdd', 'sdb', 'sdc', 'sdd', 'hdb', 'hdc', 'hdd', 'xvdb', 'xvdc'];
/** The contract's default volume label, under its old name. */
export const DEFAULT_LABEL = DEFAULT_CONTEXT_LABEL;

interface ResolvedOptions {
  label: string;
  everyBoot: boolean;
  timeoutSeconds: number;
  dhcpTimeoutSeconds: number;
  interface: string;
  devices: readonly string[];
}

function bad(option: string, message: string): never {
  throw new GuestScriptError('GUEST_INVALID_OPTION', `${option}: ${message}`, option);
}

export function resolveGuestScriptOptions(options: GuestScriptOptions = {}): ResolvedOptions {
  const label = options.label ?? DEFAULT_LABEL;
  // The contract's rule: what blkid, findfs and /dev/disk/by-label give back unchanged.
  const problem = volumeLabelProblem(label);
  if (problem !== undefined) bad('label', problem);
  const seconds = (name: string, value: number | undefined, fallback: number): number => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < 1 || v > 86_400) bad(name, `${v} is not a whole number of seconds between 1 and 86400`);
    return v;
  };
  const iface = options.interface ?? '';
  if (iface !== '' && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/.test(iface)) bad('interface', `${JSON.stringify(iface)} is not an interface name`);
  const devices = options.devices ?? DEFAULT_DEVICES;
  if (devices.length === 0) bad('devices', 'the list is empty');
  for (const d of devices) if (!/^[a-z][a-z0-9]{1,15}$/.test(d)) bad('devices', `${JSON.stringify(d)} is not a device name under /dev`);
  return {
    label,
    everyBoot: options.everyBoot ?? false,
    timeoutSeconds: seconds('timeoutSeconds', options.timeoutSeconds, 300),
    dhcpTimeoutSeconds: seconds('dhcpTimeoutSeconds', options.dhcpTimeoutSeconds, 60),
    interface: iface,
    devices,
  };
}

/**
 * The options as the script's header: shell variable assignments, each the environment's VMCTX_* value when set,
 * else the option (sh/contextualization/options.sh holds those of the defaults, for runs from the source tree).
 */
export function optionsHeader(options: GuestScriptOptions = {}): string {
  const o = resolveGuestScriptOptions(options);
  return [
    `label=\${VMCTX_LABEL:-${shQuote(o.label)}}`,
    `every_boot=\${VMCTX_EVERY_BOOT:-${o.everyBoot ? 1 : 0}}`,
    `limit=\${VMCTX_TIMEOUT:-${o.timeoutSeconds}}`,
    `dhcp_limit=\${VMCTX_DHCP_TIMEOUT:-${o.dhcpTimeoutSeconds}}`,
    `iface=\${VMCTX_IFACE:-${shQuote(o.interface)}}`,
    `devices=${shQuote(o.devices.join(' '))}`,
    '',
  ].join('\n');
}

/** The text of `/usr/local/bin/contextualization`: sh/contextualization.sh with the options as its header. */
export function contextualizationScript(options: GuestScriptOptions = {}): string {
  const [head, tail] = CONTEXTUALIZATION_SH;
  return `${head}${optionsHeader(options)}${tail}`;
}
