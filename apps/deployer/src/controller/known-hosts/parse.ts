/** Parsing known_hosts files: every line form of sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT". */
import { readFile } from 'node:fs/promises';
import { DeployerError } from '../../errors.js';
import { fingerprintSha256, invalidKeyReason, keyTypeOf } from '../host-key.js';
import { HASH_MAGIC, type HostField, type HostKeyMarker, type KnownHosts, type KnownHostsEntry, type MalformedLine } from './types.js';

/* ------------------------------------------------------------------------------------------------------------
 * Parsing: hostfile.c `hostkeys_foreach_file`, `check_markers`, `extract_salt`; sshkey.c `sshkey_read`.
 * ---------------------------------------------------------------------------------------------------------- */

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
