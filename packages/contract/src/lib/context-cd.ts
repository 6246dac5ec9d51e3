/**
 * The context CD's contract: what the CD that vmctx writes (iso-builder, guest-script), the domain that
 * attaches it (template-renderer) and the script that finds and reads it in the guest (guest-script) must
 * agree on. Constants only, and the one label rule: no package depends on another for these.
 */

/** The volume label of a context CD unless told otherwise (Snooze's, and the guest script's default). */
export const DEFAULT_CONTEXT_LABEL = 'CONTEXT';

/**
 * The volume label cloud-init's NoCloud datasource looks for (cloud-init docs, Datasources > NoCloud: "The
 * filesystem volume label must be cidata or CIDATA"; DataSourceNoCloud._get_devices asks blkid for
 * LABEL=CIDATA and LABEL=cidata). Lower case, as cloud-localds writes it and FreeBSD's /dev/iso9660/cidata shows
 * it. The default label of a CD that carries the NoCloud files (vmctx context iso --format both|cloud-init).
 */
export const NOCLOUD_LABEL = 'cidata';

/**
 * The NoCloud seed files, at the root of the CD (cloud-init docs, Datasources > NoCloud: /user-data and
 * /meta-data are required, /network-config and /vendor-data optional).
 */
export const NOCLOUD_FILES = { metaData: 'meta-data', userData: 'user-data', networkConfig: 'network-config' } as const;

/** ECMA-119 8.4.6: the Volume Identifier field is 32 bytes. */
export const MAX_CONTEXT_LABEL_LENGTH = 32;

/**
 * The characters of a volume label: ECMA-119's d-characters (A-Z, 0-9, `_`) plus what genisoimage and the
 * Linux kernel accept as well and what the tools that consume a label need: lower case (cloud-init's NoCloud
 * seed is `cidata`), `-` and `.`.
 *
 * One rule for both sides, the stricter of the two that were written: iso-builder allowed an inner space,
 * the guest script refused it. A space is refused because the guest finds its CD by label through
 * `blkid -L`, `findfs LABEL=` and `/dev/disk/by-label/`, where udev writes a space as `\x20`: a CD whose
 * label has a space could be written but not reliably found, and the label would have to be quoted in every
 * shell line that names it. Every label the guest script accepts, iso-builder writes.
 */
const LABEL_CHARACTER = /^[A-Za-z0-9_.-]$/;

/** What is wrong with a volume label, or undefined when it is one. Each package wraps it in its own error. */
export function volumeLabelProblem(label: string): string | undefined {
  if (label.length === 0) return 'volume label is empty';
  if (label.length > MAX_CONTEXT_LABEL_LENGTH) {
    return `volume label "${label}" is ${label.length} characters long; ECMA-119 8.4.6 allows at most ${MAX_CONTEXT_LABEL_LENGTH}`;
  }
  const bad = [...label].find((c) => !LABEL_CHARACTER.test(c));
  if (bad !== undefined) return `volume label "${label}" contains ${JSON.stringify(bad)}; use letters, digits, "_", "-" or "."`;
  return undefined;
}

export function isVolumeLabel(label: string): boolean {
  return volumeLabelProblem(label) === undefined;
}

/**
 * The first two octets of a MAC that carries an IPv4 address in its last four (IP-in-MAC, OpenNebula's
 * MAC_PREFIX): `02` is a locally administered unicast address. template-renderer writes such MACs; the
 * guest's post-install reads the address back from them.
 */
export const IP_IN_MAC_PREFIX = '02:00';

/** The files of a context CD, as paths from its root (Snooze's layout plus vmctx's own). */
export const CONTEXT_FILES = {
  /** The script the guest runs as root (0755); without it the guest falls back to DHCP. */
  postInstall: 'post-install',
  /** What makes the CD new to a guest: post-install runs once per instance id (0444). */
  instanceId: 'instance-id',
  /** KEY='value' lines: Snooze's network keys, then vmctx's (0444). */
  network: 'common/network',
  /** ifupdown `up` lines (0444). */
  routes: 'common/routes',
  /** Public keys for root (0444). */
  authorizedKeys: 'ssh/authorized_keys',
} as const;

/** Folders of a context CD: files to write (`files/N` and `files/N.meta`, 0400) and user scripts (0500). */
export const CONTEXT_FOLDERS = { files: 'files', scripts: 'scripts' } as const;

/**
 * The libvirt alias (`<alias name='...'/>`, which must start with `ua-`) of the disk that holds the context
 * ISO: how a rewrite, a lint or a reader of a domain finds it again among the domain's disks.
 */
export const CONTEXT_DISK_ALIAS = 'ua-vmctx-context';
