/** Matching a host against the host field of a line, as OpenSSH matches it. */
import { createHmac } from 'node:crypto';
import { HASH_MAGIC, type HostField, type KnownHosts, type KnownHostsEntry } from './types.js';

/* ------------------------------------------------------------------------------------------------------------
 * Matching: match.c `match_pattern`, `match_pattern_list`, `match_hostname`; hostfile.c `host_hash`,
 * `match_maybe_hashed`. Patterns match bytes, so strings are compared as their UTF-8 bytes (latin1 below).
 * ---------------------------------------------------------------------------------------------------------- */

/** ASCII-only lower case, as C's tolower() in the C locale. */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

function bytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/**
 * The name ssh looks up for a host and port (misc.c `put_host_port`): `host` for port 22, else
 * `[host]:port`; lower-cased as ssh lower-cases the host name it connects to.
 */
export function knownHostsName(host: string, port: number): string {
  const lower = asciiLower(host);
  return port === 22 ? lower : `[${lower}]:${port}`;
}

/** match.c `match_pattern`: `*` any run of bytes, `?` one byte, anything else itself (so `[` is literal). */
export function matchPattern(subject: string, pattern: string): boolean {
  // Greedy with one backtrack point: the last `*` seen; equivalent to the recursive form, in linear space.
  let s = 0;
  let p = 0;
  let starP = -1;
  let starS = 0;
  while (s < subject.length) {
    if (p < pattern.length && (pattern[p] === '?' || (pattern[p] !== '*' && pattern[p] === subject[s]))) {
      s++;
      p++;
    } else if (p < pattern.length && pattern[p] === '*') {
      starP = p++;
      starS = s;
    } else if (starP >= 0) {
      p = starP + 1;
      s = ++starS;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** The length above which match.c gives up on a subpattern (`sub[1024]`) and answers "no match". */
const MAX_SUBPATTERN = 1023;

/**
 * match.c `match_pattern_list` with lower-casing: 1 when some pattern matches and no negated one does, -1
 * when a negated pattern (`!pat`) matches, 0 otherwise.
 */
export function matchPatternList(subject: string, list: string): 1 | 0 | -1 {
  const s = bytes(asciiLower(subject));
  let positive = false;
  for (const raw of bytes(asciiLower(list)).split(',')) {
    const negated = raw.startsWith('!');
    const sub = negated ? raw.slice(1) : raw;
    if (sub.length >= MAX_SUBPATTERN) return 0;
    if (matchPattern(s, sub)) {
      if (negated) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

/** `|1|` base64(salt) `|` base64(HMAC-SHA1 keyed by the salt, of the name): hostfile.c `host_hash`. */
export function hashKnownHostsName(name: string, salt: Buffer): string {
  return `${HASH_MAGIC}${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

/** Whether a line's host field names `name` (a `knownHostsName`), as `match_maybe_hashed` decides. */
export function hostFieldMatches(hosts: HostField, name: string): boolean {
  if (hosts.kind === 'hashed') return hashKnownHostsName(name, hosts.salt) === hosts.text;
  return matchPatternList(name, hosts.patterns) === 1;
}

/** Every valid line whose host field names `host` at `port`, markers included, in file order. */
export function entriesForHost(knownHosts: KnownHosts, host: string, port: number): KnownHostsEntry[] {
  const name = knownHostsName(host, port);
  return knownHosts.entries.filter((entry) => hostFieldMatches(entry.hosts, name));
}

/**
 * The key types listed (without marker) for a host, in file order: what ssh puts first in its host key
 * algorithms (sshconnect.c `order_hostkeyalgs`) so that a server with several keys shows one that is known.
 */
export function listedKeyTypes(knownHosts: KnownHosts, host: string, port: number): string[] {
  const types = entriesForHost(knownHosts, host, port)
    .filter((entry) => entry.marker === 'none')
    .map((entry) => entry.keyType);
  return [...new Set(types)];
}
