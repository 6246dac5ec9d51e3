/**
 * VM identities: the UUID and MAC addresses a VM keeps across redeploys.
 *
 * Both are derived from (deployment, VM name) alone, so deploying the same deployment again gives the same
 * identity (libvirt refuses to redefine a name with another UUID: "domain 'x' already exists with uuid ..."),
 * and two VMs of one deployment, or two deployments, get different ones.
 *
 * IP-in-MAC (as Snooze and OpenNebula do): the MAC's last four octets carry the VM's IPv4 address, so one
 * context ISO can serve every VM and the guest reads its address from its own NIC. `ipv4FromMac` is the decoder.
 */
import { createHash } from 'node:crypto';
import { IP_IN_MAC_PREFIX } from '@vmctx/contract';
import { TemplateError } from './errors.js';

/** A MAC address in libvirt's canonical form: six two-digit lower-case hex octets joined by ':'. */
export type MacAddress = string;
/** A UUID in its canonical lower-case 8-4-4-4-12 form. */
export type Uuid = string;

/** Which range derived MACs are taken from. */
export type MacScheme =
  /** 46 hash bits with the locally administered bit set and the multicast bit clear (x2:, x6:, xa:, xe:). */
  | 'local'
  /** QEMU/KVM's own prefix 52:54:00 plus 24 hash bits (what virt-install and virsh pick; collides sooner). */
  | 'qemu';

export interface DeriveMacOptions {
  /** Index of the NIC on the VM (0 for the first). Each NIC gets its own MAC. Default 0. */
  nic?: number;
  /** Default 'local'. */
  scheme?: MacScheme;
}

/** What a VM's identity is made of; guest-script reads `macs` to find its NICs. */
export interface VmIdentity {
  deployment: string;
  name: string;
  uuid: Uuid;
  /** One MAC per NIC, in NIC order. */
  macs: MacAddress[];
}

/**
 * The name space of vmctx's derived UUIDs (itself the RFC 9562 v5 UUID of the URL "urn:vmctx:domain" in the
 * URL name space), so our UUIDs never equal another tool's v5 UUIDs of the same text.
 */
export const VMCTX_UUID_NAMESPACE: Uuid = 'ac5398ef-64bc-57fc-843a-eb2780f0c8cc';

/** OpenNebula's default MAC_PREFIX (02 is unicast and locally administered): the context CD contract's, which the guest reads back. */
export const IP_IN_MAC_DEFAULT_PREFIX = IP_IN_MAC_PREFIX;

/** The key both derivations hash: unambiguous for any pair of strings (a '/' in either cannot shift the cut). */
function identityKey(kind: string, deployment: string, vmName: string, extra: readonly number[] = []): string {
  if (deployment.length === 0) throw new TemplateError('TEMPLATE_INVALID_IDENTITY', 'deployment name is empty');
  if (vmName.length === 0) throw new TemplateError('TEMPLATE_INVALID_IDENTITY', 'VM name is empty');
  return JSON.stringify([kind, deployment, vmName, ...extra]);
}

function uuidBytes(uuid: Uuid): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

function formatUuid(bytes: Uint8Array): Uuid {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** RFC 9562 section 5.5 (UUID version 5): SHA-1 of name space bytes then name bytes, version and variant set. */
export function uuidV5(namespace: Uuid, name: string): Uuid {
  const digest = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  const bytes = digest.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // RFC 9562 5.5: version 5 in the high nibble of octet 6
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 4.1: variant 10xx in octet 8
  return formatUuid(bytes);
}

/** The UUID of VM `vmName` in deployment `deployment`: the same inputs always give the same UUID. */
export function deriveUuid(deployment: string, vmName: string): Uuid {
  return uuidV5(VMCTX_UUID_NAMESPACE, identityKey('uuid', deployment, vmName));
}

/** The MAC of NIC `opts.nic` (default 0) of VM `vmName` in deployment `deployment`. Always unicast. */
export function deriveMac(deployment: string, vmName: string, opts: DeriveMacOptions = {}): MacAddress {
  const nic = opts.nic ?? 0;
  if (!Number.isInteger(nic) || nic < 0) {
    throw new TemplateError('TEMPLATE_INVALID_IDENTITY', `NIC index ${nic} is not a non-negative integer`);
  }
  const digest = createHash('sha256').update(identityKey('mac', deployment, vmName, [nic]), 'utf8').digest();
  const octets = [...digest.subarray(0, 6)];
  if (opts.scheme === 'qemu') {
    octets.splice(0, 3, 0x52, 0x54, 0x00);
  } else {
    // IEEE 802 address: bit 0 of the first octet = group (multicast), bit 1 = locally administered.
    octets[0] = (octets[0]! & 0xfc) | 0x02;
  }
  return formatMac(octets);
}

/** The identity of one VM with `nics` NICs, all derived. */
export function deriveIdentity(deployment: string, vmName: string, nics = 1, scheme: MacScheme = 'local'): VmIdentity {
  return {
    deployment,
    name: vmName,
    uuid: deriveUuid(deployment, vmName),
    macs: Array.from({ length: nics }, (_, nic) => deriveMac(deployment, vmName, { nic, scheme })),
  };
}

function formatMac(octets: readonly number[]): MacAddress {
  return octets.map((o) => o.toString(16).padStart(2, '0')).join(':');
}

/**
 * Parses a MAC the way libvirt's virMacAddrParse does (six groups of one or two hex digits separated by ':'),
 * so Snooze's unpadded "54:56:c0:a8:7a:b" is read, and returns its octets, or undefined if it is not a MAC.
 */
export function parseMacOctets(text: string): number[] | undefined {
  const groups = text.trim().split(':');
  if (groups.length !== 6 || !groups.every((g) => /^[0-9a-fA-F]{1,2}$/.test(g))) return undefined;
  return groups.map((g) => parseInt(g, 16));
}

/** The canonical form of a MAC (lower case, zero padded); throws TEMPLATE_INVALID_MAC on anything else. */
export function normalizeMac(text: string): MacAddress {
  const octets = parseMacOctets(text);
  if (!octets) throw new TemplateError('TEMPLATE_INVALID_MAC', `${JSON.stringify(text)} is not a MAC address (expected six hex octets like 52:54:00:12:34:56)`);
  return formatMac(octets);
}

export function isMulticastMac(mac: MacAddress): boolean {
  const octets = parseMacOctets(mac);
  return octets !== undefined && (octets[0]! & 0x01) === 1;
}

export function isLocallyAdministeredMac(mac: MacAddress): boolean {
  const octets = parseMacOctets(mac);
  return octets !== undefined && (octets[0]! & 0x02) === 2;
}

function parseIpv4(ip: string): number[] {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) {
    throw new TemplateError('TEMPLATE_INVALID_IPV4', `${JSON.stringify(ip)} is not a dotted-quad IPv4 address`);
  }
  return parts.map(Number);
}

/**
 * The IP-in-MAC address of `ip`: the two octets of `prefix` (default 02:00, unicast and locally administered,
 * as OpenNebula) followed by the four octets of the address, zero padded (Snooze's leader forgot the padding).
 */
export function macFromIpv4(ip: string, prefix: string = IP_IN_MAC_DEFAULT_PREFIX): MacAddress {
  const prefixGroups = prefix.split(':');
  if (prefixGroups.length !== 2 || !prefixGroups.every((g) => /^[0-9a-fA-F]{1,2}$/.test(g))) {
    throw new TemplateError('TEMPLATE_INVALID_MAC', `IP-in-MAC prefix ${JSON.stringify(prefix)} is not two hex octets like 02:00`);
  }
  const head = prefixGroups.map((g) => parseInt(g, 16));
  if ((head[0]! & 0x01) === 1) {
    throw new TemplateError('TEMPLATE_INVALID_MAC', `IP-in-MAC prefix ${prefix} is multicast (bit 0 of its first octet is set); libvirt refuses multicast MACs`);
  }
  return formatMac([...head, ...parseIpv4(ip)]);
}

/** The decoder of IP-in-MAC: the IPv4 address in the last four octets of `mac`. */
export function ipv4FromMac(mac: string): string {
  const octets = parseMacOctets(mac);
  if (!octets) throw new TemplateError('TEMPLATE_INVALID_MAC', `${JSON.stringify(mac)} is not a MAC address`);
  return octets.slice(2).join('.');
}

/**
 * What libvirt says about a MAC it refuses (its own words, from virDomainNetDefParseXML), or undefined when
 * libvirt accepts it.
 */
export function macProblem(mac: string): string | undefined {
  const octets = parseMacOctets(mac);
  if (!octets) return `unable to parse mac address '${mac}'`;
  if ((octets[0]! & 0x01) === 1) return `expected unicast mac address, found multicast '${mac}'`;
  return undefined;
}
