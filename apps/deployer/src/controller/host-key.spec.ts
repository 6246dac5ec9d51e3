/**
 * Why host-key.ts reads key blobs itself rather than through ssh2's `utils.parseKey`: the blobs below, which a
 * controller could present, are judged rightly here and wrongly there. If ssh2 comes to judge them rightly, the
 * second half of each case fails, and host-key.ts can be replaced by it.
 */
import { utils } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { invalidKeyReason } from './host-key.js';

const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0].map((_, i) => (b.length >>> (24 - 8 * i)) & 0xff)), b]);
const ecdsa = utils.parseKey(utils.generateKeyPairSync('ecdsa', { bits: 256 }).public);
if (ecdsa instanceof Error || Array.isArray(ecdsa)) throw new Error('no ECDSA key');
const blob = ecdsa.getPublicSSH();
const curveOf384 = Buffer.from(blob);
curveOf384.write('nistp384', curveOf384.indexOf('nistp256', 20));

const ssh2Accepts = (b: Buffer) => !(utils.parseKey(b) instanceof Error);

describe('host key blobs: host-key.ts against ssh2 utils.parseKey', () => {
  it.each([
    ['trailing bytes after an ECDSA key', Buffer.concat([blob, Buffer.from('junk')])],
    ['an ECDSA key whose curve is not its type', curveOf384],
  ])('refuses %s (ssh2 accepts it)', (_, key) => {
    expect(invalidKeyReason(key)).toMatch(/not well formed/);
    expect(ssh2Accepts(key)).toBe(true);
  });

  it('reads a FIDO ed25519 host key, which OpenSSH accepts in known_hosts (ssh2 refuses it)', () => {
    const sk = Buffer.concat([str(Buffer.from('sk-ssh-ed25519@openssh.com')), str(Buffer.alloc(32, 1)), str(Buffer.from('ssh:'))]);
    expect(invalidKeyReason(sk)).toBeUndefined();
    expect(ssh2Accepts(sk)).toBe(false);
  });

  it('says what is wrong with a short ed25519 key (ssh2: "Unsupported key format")', () => {
    const short = Buffer.concat([str(Buffer.from('ssh-ed25519')), str(Buffer.alloc(31, 1))]);
    expect(invalidKeyReason(short)).toBe('the ssh-ed25519 key data is not well formed');
    expect((utils.parseKey(short) as Error).message).toBe('Unsupported key format');
  });
});
