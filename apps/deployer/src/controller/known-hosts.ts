/**
 * Host key checking as OpenSSH's ssh does it (OpenSSH 9.x: hostfile.c, match.c, sshconnect.c
 * `check_host_key`), for the ssh2 client, which hands its host verifier the server's key blob.
 *
 * Read, then decide, then (only for `--accept-new` and only for an unknown host) append:
 * - `parseKnownHosts`: every line form of sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"; malformed lines are skipped
 *   as OpenSSH skips them, and kept with their line number and reason so that a message can name them;
 * - `checkKnownHosts` / `checkHostKey`: known, unknown, changed (mismatch) or revoked, from the user's files
 *   (UserKnownHostsFile) and the global ones (GlobalKnownHostsFile) read as one list, as ssh reads them;
 * - `recordHostKey`: one line appended to the user's (first) file with one write and fsync, as
 *   `ssh -o StrictHostKeyChecking=accept-new` writes it (never to a global file);
 * - `hostKeyError`: the DeployerError for a key that is not known, with its fix.
 */
import { createHmac } from 'node:crypto';
import { lstat, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeFolder } from '@vmctx/contract';
import { fingerprintSha256, invalidKeyReason, keyTypeLabel, keyTypeOf, openSshKeyText } from './host-key.js';
import { quoteArg } from './shell-quote.js';
import { DeployerError } from '../errors.js';

export type HostKeyMarker = 'none' | 'cert-authority' | 'revoked';

/** The host field of a line: comma-separated patterns, or one hashed name (`|1|salt|hmac`). */
export type HostField =
  | { readonly kind: 'patterns'; readonly patterns: string }
  | { readonly kind: 'hashed'; readonly salt: Buffer; readonly text: string };

export interface KnownHostsEntry {
  /** 1-based, as OpenSSH counts lines in its messages. */
  readonly line: number;
  readonly marker: HostKeyMarker;
  readonly hosts: HostField;
  /** The key type name of the key blob (`ssh-ed25519`...). */
  readonly keyType: string;
  /** The wire-format key blob (RFC 4253 section 6.6). */
  readonly key: Buffer;
  readonly fingerprint: string;
  /** The line as written, for messages. */
  readonly text: string;
}

export interface MalformedLine {
  readonly line: number;
  readonly reason: string;
  readonly text: string;
}

export interface KnownHosts {
  readonly file: string;
  /** The file does not exist: every host is unknown. */
  readonly missing: boolean;
  readonly entries: readonly KnownHostsEntry[];
  readonly malformed: readonly MalformedLine[];
}

/** A line of a known_hosts file. */
export interface Located {
  readonly file: string;
  readonly line: number;
}

export interface ListedKey extends Located {
  readonly keyType: string;
  readonly fingerprint: string;
}

/**
 * ssh's GlobalKnownHostsFile when ssh_config does not set it (ssh_config(5); pathnames.h): read after the user's
 * file, never written.
 */
export const GLOBAL_KNOWN_HOSTS_FILES: readonly string[] = ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];

interface Presented {
  /** The user's file: the first one read, and the one `recordHostKey` appends to. */
  readonly file: string;
  /** Every file read, in the order ssh reads them: the user's, then the global ones. */
  readonly files: readonly { readonly file: string; readonly missing: boolean }[];
  /** How many of `files` are the user's (UserKnownHostsFile); the rest are global. */
  readonly userFiles: number;
  /** The name looked up: `host`, or `[host]:port` when the port is not 22. */
  readonly name: string;
  readonly keyType: string;
  readonly fingerprint: string;
  /** Lines of the files that OpenSSH would skip too; a message names them, as one may be the entry meant. */
  readonly malformed: readonly (MalformedLine & { readonly file: string })[];
  /** The user's file does not exist. */
  readonly missing: boolean;
}

export type HostKeyCheck =
  | (Presented & { readonly status: 'known' } & Located)
  | (Presented & { readonly status: 'unknown' })
  /** Keys are listed for the host and none is this one. */
  | (Presented & { readonly status: 'mismatch'; readonly expected: readonly ListedKey[] })
  /** An `@revoked` line of a pattern that matches the host holds this key: refused whatever else is listed. */
  | (Presented & { readonly status: 'revoked'; readonly revokedAt: readonly Located[] });

/* ------------------------------------------------------------------------------------------------------------
 * Parsing: hostfile.c `hostkeys_foreach_file`, `check_markers`, `extract_salt`; sshkey.c `sshkey_read`.
 * ---------------------------------------------------------------------------------------------------------- */

const HASH_MAGIC = '|1|';
/** HMAC-SHA1 salt: as long as the digest (hostfile.c `extract_salt`: `ssh_hmac_bytes(SSH_DIGEST_SHA1)`). */
const SALT_LENGTH = 20;

/** Strict base64 as OpenSSH's `b64_pton` reads it: padded to a multiple of 4, no stray bits. */
function decodeBase64(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

/**
 * The key type a line's type name stands for: the exact name, or an RSA signature algorithm name, which
 * `sshkey_type_from_name` also maps to ssh-rsa. (Short names like "ED25519" are refused by sshkey_read, as
 * `ssh-keygen -l -F` shows: the spec proves both.)
 */
function plainTypeOfName(name: string): string {
  return name === 'rsa-sha2-256' || name === 'rsa-sha2-512' ? 'ssh-rsa' : name;
}

const WS = /[ \t]/;

/** Index of the first space or tab in `text` from `from`, or the length. */
function tokenEnd(text: string, from: number): number {
  let i = from;
  while (i < text.length && !WS.test(text[i] as string)) i++;
  return i;
}

function skipWs(text: string, from: number): number {
  let i = from;
  while (i < text.length && WS.test(text[i] as string)) i++;
  return i;
}

type LineResult = { entry: KnownHostsEntry } | { malformed: MalformedLine } | undefined;

function parseLine(text: string, line: number): LineResult {
  const bad = (reason: string): LineResult => ({ malformed: { line, reason, text } });
  let at = skipWs(text, 0);
  if (at === text.length || text[at] === '#') return undefined;

  // At most one marker, a word of its own (check_markers).
  let marker: HostKeyMarker = 'none';
  if (text[at] === '@') {
    const end = tokenEnd(text, at);
    const word = text.slice(at, end);
    if (word === '@cert-authority') marker = 'cert-authority';
    else if (word === '@revoked') marker = 'revoked';
    else return bad(`unknown marker "${word}" (only @cert-authority and @revoked exist)`);
    if (end === text.length) return bad(`nothing after ${word}`);
    at = skipWs(text, end);
    if (text[at] === '@') return bad('more than one marker');
  }

  const hostsEnd = tokenEnd(text, at);
  const hostsText = text.slice(at, hostsEnd);
  let hosts: HostField;
  if (hostsText.startsWith('|')) {
    // Hashed: "|1|" base64(salt) "|" base64(HMAC-SHA1(salt, name)); anything else is a bad host hash.
    const rest = hostsText.startsWith(HASH_MAGIC) ? hostsText.slice(HASH_MAGIC.length) : undefined;
    const bar = rest?.indexOf('|') ?? -1;
    const salt = rest !== undefined && bar > 0 ? decodeBase64(rest.slice(0, bar)) : undefined;
    if (salt?.length !== SALT_LENGTH) return bad(`bad hashed host name "${hostsText.slice(0, 32)}" (expected |1|salt|hash)`);
    hosts = { kind: 'hashed', salt, text: hostsText };
  } else {
    hosts = { kind: 'patterns', patterns: hostsText };
  }

  at = skipWs(text, hostsEnd);
  if (at === text.length || text[at] === '#') return bad('no key after the host names');

  // sshkey_read: type name, whitespace, base64 blob whose own type must be the one named; the rest is a comment.
  const typeEnd = tokenEnd(text, at);
  const typeName = text.slice(at, typeEnd);
  if (typeEnd === text.length) return bad(`no key data after the key type "${typeName}"`);
  const blobAt = skipWs(text, typeEnd);
  if (blobAt === text.length || text[blobAt] === '#') return bad(`no key data after the key type "${typeName}"`);
  const key = decodeBase64(text.slice(blobAt, tokenEnd(text, blobAt)));
  if (key === undefined) return bad('the key data is not valid base64');
  const reason = invalidKeyReason(key);
  if (reason !== undefined) return bad(reason);
  const keyType = keyTypeOf(key) as string;
  if (plainTypeOfName(typeName) !== keyType) return bad(`the line says "${typeName}" but the key is ${keyType}`);

  return { entry: { line, marker, hosts, keyType, key, fingerprint: fingerprintSha256(key), text } };
}

/** Every entry and malformed line of a known_hosts file's text; `file` is only kept for messages. */
export function parseKnownHosts(text: string, file: string): KnownHosts {
  const entries: KnownHostsEntry[] = [];
  const malformed: MalformedLine[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, index) => {
    // OpenSSH drops only the "\n"; a "\r" left by an editor would make the key unreadable there. Accepted here.
    const result = parseLine(raw.endsWith('\r') ? raw.slice(0, -1) : raw, index + 1);
    if (result === undefined) return;
    if ('entry' in result) entries.push(result.entry);
    else malformed.push(result.malformed);
  });
  return { file, missing: false, entries, malformed };
}

/** Reads and parses a known_hosts file; a missing file (or folder) is an empty one that says so. */
export async function readKnownHosts(file: string): Promise<KnownHosts> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { file, missing: true, entries: [], malformed: [] };
    throw new DeployerError('SSH_HOST_KEY_FILE_UNREADABLE', `cannot read known_hosts file ${file}: ${(error as Error).message}`, {
      where: file,
      cause: error,
    });
  }
  return parseKnownHosts(text, file);
}

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

/* ------------------------------------------------------------------------------------------------------------
 * Recording: hostfile.c `add_host_to_hostfile` / `write_host_entry` (unhashed, no address, lower case).
 * ---------------------------------------------------------------------------------------------------------- */

/** Characters a host name must not hold to be written as a plain (not pattern) name. */
const NOT_IN_HOST = /[\s,*?!#[\]|@]/;

/** The line `recordHostKey` appends for a host and its key (without the newline). */
export function knownHostsLine(host: string, port: number, key: Buffer): string {
  if (host.length === 0 || NOT_IN_HOST.test(host) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DeployerError('SSH_HOST_KEY_BAD_HOST', `cannot record a host key for host ${JSON.stringify(host)} port ${port}: not a plain host name and port`, {
      where: host,
    });
  }
  const reason = invalidKeyReason(key);
  if (reason !== undefined) {
    throw new DeployerError('SSH_HOST_KEY_INVALID', `${host}:${port} presented a host key that is not one: ${reason}`, { where: `${host}:${port}` });
  }
  return `${knownHostsName(host, port)} ${openSshKeyText(key)}`;
}

/**
 * Appends the line for `host`, `port` and `key` to `knownHostsFile` (the user's file, as ssh's accept-new does;
 * never a global one), creating the file (0600) and its folder (0700) when missing: one write, then fsync (and
 * fsync of the folder when the file is new). Other lines are never rewritten; a last line without its newline
 * gets one first. Only for a host `checkHostKey` found unknown (`--accept-new`): a changed key is never recorded.
 */
export async function recordHostKey(knownHostsFile: string, host: string, port: number, key: Buffer): Promise<{ file: string; text: string }> {
  const text = knownHostsLine(host, port, key);
  const fail = (what: string, error: unknown): DeployerError =>
    new DeployerError('SSH_HOST_KEY_RECORD_FAILED', `cannot record the host key of ${knownHostsName(host, port)} in ${knownHostsFile}: ${what}: ${(error as Error).message}; the file is as it was`, {
      where: knownHostsFile,
      cause: error,
    });
  const folder = dirname(knownHostsFile);
  try {
    await makeFolder(folder, 0o700);
  } catch (error) {
    throw fail(`creating ${folder}`, error);
  }
  const isNew = await lstat(knownHostsFile).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
  );
  let handle;
  try {
    handle = await open(knownHostsFile, 'a+', 0o600);
  } catch (error) {
    throw fail('opening it', error);
  }
  try {
    const { size } = await handle.stat();
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    const data = Buffer.from(`${prefix}${text}\n`, 'utf8');
    // O_APPEND: the kernel puts the whole write at the end, even if another writer appended meanwhile.
    const { bytesWritten } = await handle.write(data, 0, data.length);
    if (bytesWritten !== data.length) throw new Error(`short write (${bytesWritten} of ${data.length} bytes)`);
    await handle.sync();
  } catch (error) {
    throw fail('appending', error);
  } finally {
    await handle.close();
  }
  if (isNew) {
    // The new directory entry is durable only once its folder is synced.
    const dir = await open(folder, 'r').catch(() => undefined);
    await dir?.sync().catch(() => undefined);
    await dir?.close();
  }
  return { file: knownHostsFile, text };
}

/* ------------------------------------------------------------------------------------------------------------
 * Refusing: the message of ssh for each case, with what to do.
 * ---------------------------------------------------------------------------------------------------------- */

export type HostKeyErrorCode = 'SSH_HOST_KEY_UNKNOWN' | 'SSH_HOST_KEY_CHANGED' | 'SSH_HOST_KEY_REVOKED';

function malformedNote(result: Presented): string {
  return result.files
    .map(({ file }) => {
      const malformed = result.malformed.filter((m) => m.file === file);
      if (malformed.length === 0) return '';
      const shown = malformed.slice(0, 5).map((m) => `\n  line ${m.line}: ${m.reason}`);
      const more = malformed.length > 5 ? `\n  and ${malformed.length - 5} more` : '';
      return `\nNote: ${file} has lines that ssh skips too (one may be the entry you meant):${shown.join('')}${more}`;
    })
    .join('');
}

/** "not in the user's file (why), nor in its other files, nor in the global ones (which exist or not)". */
function whereLooked(result: Presented): string {
  const [user, ...rest] = result.files;
  const named = (files: Presented['files']) => files.map(({ file, missing }) => (missing ? `${file} (missing)` : file)).join(', ');
  const more = rest.slice(0, result.userFiles - 1);
  const globals = rest.slice(result.userFiles - 1);
  const own = `${result.file} (${user?.missing ? 'which does not exist yet' : 'which lists no key for it'})`;
  return `${own}${more.length > 0 ? `, nor in ${named(more)}` : ''}${globals.length > 0 ? `, nor in the global ${named(globals)}` : ''}`;
}

/**
 * The error to throw when a controller's host key is not known. Nothing was sent to the controller: the
 * connection is closed during the key exchange.
 */
export function hostKeyError(
  result: Exclude<HostKeyCheck, { status: 'known' }>,
  controllerName: string,
  host: string,
  port: number,
): DeployerError {
  const name = knownHostsName(host, port);
  const key = `${keyTypeLabel(result.keyType)} key ${result.fingerprint}`;
  const file = quoteArg(result.file);
  const state = 'Connection closed before login; nothing was done on the controller.';
  switch (result.status) {
    case 'unknown': {
      return new DeployerError(
        'SSH_HOST_KEY_UNKNOWN',
        `${controllerName}: the host key of ${name} is not known: it presented ${key}, not in ${whereLooked(result)}. ${state}\n` +
          `Check that fingerprint on the controller (ssh-keygen -lf /etc/ssh/ssh_host_${keyFileStem(result.keyType)}_key.pub), then either ` +
          `rerun with --accept-new to record it, or record it yourself:\n  ssh-keyscan -p ${port} ${quoteArg(host)} >> ${file}` +
          malformedNote(result),
        { where: controllerName },
      );
    }
    case 'mismatch': {
      const listed = result.expected.map((e) => `\n  ${e.file}:${e.line}: ${keyTypeLabel(e.keyType)} key ${e.fingerprint}`);
      // Every file that lists another key must lose it (a global one needs whoever administers it).
      const holding = [...new Set(result.expected.map((e) => e.file))];
      const fixes = holding.map((f) => `\n  ssh-keygen -R ${quoteArg(name)} -f ${quoteArg(f)}`).join('');
      return new DeployerError(
        'SSH_HOST_KEY_CHANGED',
        `${controllerName}: REMOTE HOST IDENTIFICATION HAS CHANGED for ${name}: it presented ${key}, but the known keys are:${listed.join('')}\n` +
          'Someone could be intercepting the connection (man-in-the-middle), or the host key was replaced. ' +
          `${state} A changed key is never accepted, not even with --accept-new.\n` +
          `Once you trust the change (check the fingerprint on the controller), remove the old key and connect again with --accept-new:` +
          fixes,
        { where: controllerName },
      );
    }
    case 'revoked': {
      const lines = result.revokedAt.map(({ file: revokedIn, line }) => `${revokedIn}:${line}`).join(', ');
      return new DeployerError(
        'SSH_HOST_KEY_REVOKED',
        `${controllerName}: ${name} presented ${key}, which is marked @revoked (${lines}): a stolen key may be used to ` +
          `impersonate this host. ${state}\nThe controller needs a new host key; a revoked key is never accepted.`,
        { where: controllerName },
      );
    }
  }
}

/** The file name part of sshd's default host key for a type (`/etc/ssh/ssh_host_<stem>_key`). */
function keyFileStem(type: string): string {
  if (type === 'ssh-ed25519') return 'ed25519';
  if (type === 'ssh-rsa') return 'rsa';
  if (type.startsWith('ecdsa-')) return 'ecdsa';
  if (type === 'ssh-dss') return 'dsa';
  return '*';
}
