/** Deciding: known, unknown, changed or revoked, from the user's and the global files read as one list. */
import { DeployerError } from '../../errors.js';
import { fingerprintSha256, invalidKeyReason, keyTypeOf } from '../host-key.js';
import { hostFieldMatches, knownHostsName } from './match.js';
import { readKnownHosts } from './parse.js';
import { GLOBAL_KNOWN_HOSTS_FILES, type HostKeyCheck, type KnownHosts, type Presented } from './types.js';

/* ------------------------------------------------------------------------------------------------------------
 * Deciding: hostfile.c `check_hostkeys_by_key_or_type` and `check_key_not_revoked`, sshconnect.c
 * `check_host_key`.
 * ---------------------------------------------------------------------------------------------------------- */

/**
 * ssh loads the lines naming the host from every file into one list (sshconnect.c `check_host_key`: the user's
 * files, then the system's, through `load_hostkeys`) and decides on that list: a key listed in any file is
 * known, even when another file lists another key for the host; a key revoked in any file is refused.
 */
function verdictFor(files: readonly KnownHosts[], name: string, key: Buffer, presented: Presented): HostKeyCheck {
  const matching = files.flatMap((knownHosts) =>
    knownHosts.entries.filter((entry) => hostFieldMatches(entry.hosts, name)).map((entry) => ({ file: knownHosts.file, entry })),
  );
  const revoked = matching.filter(({ entry }) => entry.marker === 'revoked' && entry.key.equals(key));
  if (revoked.length > 0) return { ...presented, status: 'revoked', revokedAt: revoked.map(({ file, entry }) => ({ file, line: entry.line })) };
  // CA lines only vouch for certificates, which a plain host key is not: they neither accept nor refuse it.
  const plain = matching.filter(({ entry }) => entry.marker === 'none');
  const same = plain.find(({ entry }) => entry.key.equals(key));
  if (same !== undefined) return { ...presented, status: 'known', file: same.file, line: same.entry.line };
  if (plain.length > 0) {
    const expected = plain.map(({ file, entry: { line, keyType, fingerprint } }) => ({ file, line, keyType, fingerprint }));
    return { ...presented, status: 'mismatch', expected };
  }
  return { ...presented, status: 'unknown' };
}

/**
 * The verdict on the key `key` presented by `host` at `port`, as ssh gives it with StrictHostKeyChecking:
 * - revoked: an `@revoked` line for the host holds this key (whatever else is listed);
 * - known: a plain line for the host holds this key;
 * - mismatch: plain lines for the host hold other keys. As OpenSSH 9 does (checked with ssh against sshd), a
 *   key of *another type* listed for the host is a mismatch too ("Offending RSA key"): ssh avoids that case
 *   by offering the listed types first (`listedKeyTypes`), which the connection should do as well;
 * - unknown: nothing is listed for the host.
 * `knownHosts` is one file, or the user's file followed by the global ones: their lines are one list, as ssh
 * reads them (so a key known in one file is known; revoked in one, refused).
 * A plain `host` pattern names port 22 only; `[host]:port` names that port. Like ssh (sshconnect.c "checking
 * without port identifier"), a host on another port whose lookup finds nothing is accepted when the plain
 * name lists this very key; a different key under the plain name does not make it a mismatch.
 */
export function checkKnownHosts(knownHosts: KnownHosts | readonly KnownHosts[], host: string, port: number, key: Buffer, userFiles = 1): HostKeyCheck {
  const reason = invalidKeyReason(key);
  if (reason !== undefined) {
    throw new DeployerError('SSH_HOST_KEY_INVALID', `${host}:${port} presented a host key that is not one: ${reason}`, {
      where: `${host}:${port}`,
    });
  }
  const files = (Array.isArray(knownHosts) ? knownHosts : [knownHosts]) as readonly KnownHosts[];
  const user = files[0];
  if (user === undefined) throw new Error('checkKnownHosts needs at least the user known_hosts file');
  const presented = (name: string): Presented => ({
    file: user.file,
    files: files.map(({ file, missing }) => ({ file, missing })),
    userFiles,
    name,
    keyType: keyTypeOf(key) as string,
    fingerprint: fingerprintSha256(key),
    malformed: files.flatMap(({ file, malformed }) => malformed.map((m) => ({ ...m, file }))),
    missing: user.missing,
  });
  const name = knownHostsName(host, port);
  const verdict = verdictFor(files, name, key, presented(name));
  if (verdict.status !== 'unknown' || port === 22) return verdict;
  const plainName = knownHostsName(host, 22);
  const fallback = verdictFor(files, plainName, key, presented(plainName));
  return fallback.status === 'known' || fallback.status === 'revoked' ? fallback : verdict;
}

/**
 * `checkKnownHosts` on the user's files (`knownHostsFile`, then `moreKnownHostsFiles`: ssh's UserKnownHostsFile) and
 * the global ones (default: ssh's, GLOBAL_KNOWN_HOSTS_FILES); a file named twice is read once; a missing file lists
 * nothing, one that cannot be read fails the check (it may hold a revocation).
 */
export async function checkHostKey(options: {
  knownHostsFile: string;
  moreKnownHostsFiles?: readonly string[];
  globalKnownHostsFiles?: readonly string[];
  host: string;
  port: number;
  key: Buffer;
}): Promise<HostKeyCheck> {
  const user = [...new Set([options.knownHostsFile, ...(options.moreKnownHostsFiles ?? [])])];
  const globals = [...new Set(options.globalKnownHostsFiles ?? GLOBAL_KNOWN_HOSTS_FILES)].filter((file) => !user.includes(file));
  const files = await Promise.all([...user, ...globals].map((file) => readKnownHosts(file)));
  return checkKnownHosts(files, options.host, options.port, options.key, user.length);
}
