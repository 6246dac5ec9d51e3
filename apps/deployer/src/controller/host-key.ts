/**
 * SSH public keys as the wire sends them: the "public key blob" of RFC 4253 section 6.6, which ssh2 hands to
 * a host verifier as a Buffer, and which is the second field of an OpenSSH public key line base64-decoded.
 *
 *   string    key type name ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", ...)
 *   ...       key data, whose layout depends on the type (below, with the section that defines it)
 *
 * `string` and `mpint` are RFC 4251 section 5: a uint32 big-endian length, then that many bytes.
 *
 * Not ssh2's `utils.parseKey` (issue 23 asked): on a blob it accepts trailing bytes and an ECDSA key whose curve is
 * not its type's (its own TODO), refuses the FIDO host keys OpenSSH reads in known_hosts (`sk-ssh-ed25519@openssh.com`,
 * `sk-ecdsa-sha2-nistp256@openssh.com`) and says only "Unsupported key format" (host-key.spec.ts shows each). A host
 * key is what lets vmctx act as root on a controller: it is checked here, field by field.
 */
import { createHash } from 'node:crypto';
import { DeployerError } from '../errors.js';

/** One RFC 4251 `string`/`mpint` read from `blob` at `offset`, or undefined when the length runs past the end. */
function readString(blob: Buffer, offset: number): { value: Buffer; next: number } | undefined {
  if (offset + 4 > blob.length) return undefined;
  const length = blob.readUInt32BE(offset);
  const next = offset + 4 + length;
  if (next > blob.length) return undefined;
  return { value: blob.subarray(offset + 4, next), next };
}

/** Reads `count` strings one after the other; the blob must end exactly after them. */
function readFields(blob: Buffer, count: number): Buffer[] | undefined {
  const fields: Buffer[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const field = readString(blob, offset);
    if (field === undefined) return undefined;
    fields.push(field.value);
    offset = field.next;
  }
  return offset === blob.length ? fields : undefined;
}

/** Uncompressed EC point lengths (SEC 1 section 2.3.3: 0x04 || X || Y), per curve of RFC 5656 section 10.1. */
const EC_POINT_LENGTH: Readonly<Record<string, number>> = { nistp256: 65, nistp384: 97, nistp521: 133 };

function validEcdsa(fields: Buffer[], curve: string): boolean {
  const [, curveName, point] = fields;
  return curveName?.toString('latin1') === curve && point !== undefined && point.length === EC_POINT_LENGTH[curve] && point[0] === 0x04;
}

/**
 * The layout of each key type OpenSSH reads in known_hosts, as a check that the blob is one. The field
 * count includes the type name itself.
 */
const LAYOUTS: Readonly<Record<string, { fields: number; valid: (fields: Buffer[]) => boolean }>> = {
  // RFC 8709 section 4: string "ssh-ed25519", string key (32 octets).
  'ssh-ed25519': { fields: 2, valid: (f) => f[1]?.length === 32 },
  // RFC 4253 section 6.6: string "ssh-rsa", mpint e, mpint n.
  'ssh-rsa': { fields: 3, valid: (f) => (f[1]?.length ?? 0) > 0 && (f[2]?.length ?? 0) > 0 },
  // RFC 4253 section 6.6: string "ssh-dss", mpint p, q, g, y.
  'ssh-dss': { fields: 5, valid: (f) => f.slice(1).every((x) => x.length > 0) },
  // RFC 5656 section 3.1: string "ecdsa-sha2-<curve>", string <curve>, string Q.
  'ecdsa-sha2-nistp256': { fields: 3, valid: (f) => validEcdsa(f, 'nistp256') },
  'ecdsa-sha2-nistp384': { fields: 3, valid: (f) => validEcdsa(f, 'nistp384') },
  'ecdsa-sha2-nistp521': { fields: 3, valid: (f) => validEcdsa(f, 'nistp521') },
  // OpenSSH PROTOCOL.u2f "SSH U2F/FIDO key formats": the plain key's fields, then string application.
  'sk-ecdsa-sha2-nistp256@openssh.com': { fields: 4, valid: (f) => validEcdsa(f, 'nistp256') },
  'sk-ssh-ed25519@openssh.com': { fields: 3, valid: (f) => f[1]?.length === 32 },
};

/** OpenSSH's short names (sshkey.c `keytypes[].shortname`), as `ssh-keygen -l` and ssh's messages print them. */
const LABELS: Readonly<Record<string, string>> = {
  'ssh-ed25519': 'ED25519',
  'ssh-rsa': 'RSA',
  'ssh-dss': 'DSA',
  'ecdsa-sha2-nistp256': 'ECDSA',
  'ecdsa-sha2-nistp384': 'ECDSA',
  'ecdsa-sha2-nistp521': 'ECDSA',
  'sk-ecdsa-sha2-nistp256@openssh.com': 'ECDSA-SK',
  'sk-ssh-ed25519@openssh.com': 'ED25519-SK',
};

/** The key type name a blob starts with, or undefined when the blob does not even hold a first string. */
export function keyTypeOf(blob: Buffer): string | undefined {
  const first = readString(blob, 0);
  if (first === undefined || first.value.length === 0) return undefined;
  return first.value.toString('latin1');
}

/**
 * Why `blob` is not a public key of a type that OpenSSH reads in known_hosts, or undefined when it is one.
 * OpenSSH certificates (`*-cert-v01@openssh.com`) are never a plain host key and are refused here.
 */
export function invalidKeyReason(blob: Buffer): string | undefined {
  const type = keyTypeOf(blob);
  if (type === undefined) return 'the key blob does not start with a key type string';
  const layout = LAYOUTS[type];
  if (layout === undefined) return `unsupported key type "${type}"`;
  const fields = readFields(blob, layout.fields);
  if (fields === undefined || !layout.valid(fields)) return `the ${type} key data is not well formed`;
  return undefined;
}

/** `ED25519`, `RSA`, `ECDSA`...: the key type as ssh and `ssh-keygen -l` print it. */
export function keyTypeLabel(type: string): string {
  return LABELS[type] ?? type;
}

/**
 * The fingerprint that `ssh-keygen -lf` and ssh print: SHA-256 of the whole blob, base64 without the `=`
 * padding, after `SHA256:` (OpenSSH sshkey.c `fingerprint_b64`).
 */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The `type base64` pair of an OpenSSH public key line (sshkey.c `sshkey_write`), without a comment. */
export function openSshKeyText(blob: Buffer): string {
  const reason = invalidKeyReason(blob);
  if (reason !== undefined) throw new DeployerError('SSH_HOST_KEY_INVALID', `not an SSH public key: ${reason}`);
  return `${keyTypeOf(blob)} ${blob.toString('base64')}`;
}
