import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VmctxError } from '@vmctx/contract';
import type { ControllerConfig } from '../config/types.js';
import { ControllerConnection } from './connection.js';
import { fingerprintSha256, invalidKeyReason, keyTypeLabel, keyTypeOf } from './host-key.js';
import {
  checkHostKey as checkHostKeyWithGlobals,
  checkKnownHosts,
  GLOBAL_KNOWN_HOSTS_FILES,
  entriesForHost,
  hashKnownHostsName,
  hostKeyError,
  knownHostsName,
  listedKeyTypes,
  matchPattern,
  parseKnownHosts,
  recordHostKey,
  type HostKeyCheck,
} from './known-hosts.js';

/** A key made by ssh-keygen: its public key line's `type base64` text and the wire blob (base64-decoded). */
interface Key {
  file: string;
  text: string;
  type: string;
  blob: Buffer;
}

let dir: string;
const keys: Record<string, Key> = {};

async function makeKey(name: string, args: string[]): Promise<Key> {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', ...args, '-N', '', '-C', `${name}@test`, '-f', file]);
  const [type, b64] = (await readFile(`${file}.pub`, 'utf8')).split(' ') as [string, string];
  return { file, text: `${type} ${b64}`, type, blob: Buffer.from(b64, 'base64') };
}

/** Line numbers that `ssh-keygen -l -F name -f file` reports (-l makes it parse keys, so bad lines drop out). */
function sshKeygenFind(file: string, name: string): number[] {
  const run = spawnSync('ssh-keygen', ['-l', '-F', name, '-f', file], { encoding: 'utf8' });
  return [...run.stdout.matchAll(/^# Host .* found: line (\d+)/gm)].map((m) => Number(m[1]));
}

/** The check on a user's file alone: this machine's /etc/ssh/ssh_known_hosts takes no part in these tests. */
const checkHostKey = (options: Parameters<typeof checkHostKeyWithGlobals>[0]) => checkHostKeyWithGlobals({ globalKnownHostsFiles: [], ...options });

let fileCount = 0;
async function knownHostsFile(lines: string[]): Promise<string> {
  const file = join(dir, `known_hosts.${++fileCount}`);
  await writeFile(file, lines.map((l) => `${l}\n`).join(''));
  return file;
}

function hostPort(name: string): [string, number] {
  const m = /^\[(.*)\]:(\d+)$/.exec(name);
  return m ? [m[1] as string, Number(m[2])] : [name, 22];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmctx-known-hosts-'));
  const made = await Promise.all([
    makeKey('ed1', ['-t', 'ed25519']),
    makeKey('ed2', ['-t', 'ed25519']),
    makeKey('ed3', ['-t', 'ed25519']),
    makeKey('rsa1', ['-t', 'rsa', '-b', '2048']),
    makeKey('rsa2', ['-t', 'rsa', '-b', '2048']),
    makeKey('ec256', ['-t', 'ecdsa', '-b', '256']),
    makeKey('ec384', ['-t', 'ecdsa', '-b', '384']),
    makeKey('ec521', ['-t', 'ecdsa', '-b', '521']),
  ]);
  for (const key of made) keys[key.file.slice(dir.length + 1)] = key;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const k = (name: string): Key => keys[name] as Key;

describe('fingerprintSha256 and keyTypeOf', () => {
  it('give what ssh-keygen -lf prints, for ed25519, rsa and the three ecdsa curves', () => {
    for (const key of Object.values(keys)) {
      // "256 SHA256:... comment (ED25519)"
      const [, fingerprint, , label] = execFileSync('ssh-keygen', ['-lf', `${key.file}.pub`], { encoding: 'utf8' }).trim().split(' ');
      expect(fingerprintSha256(key.blob)).toBe(fingerprint);
      expect(keyTypeOf(key.blob)).toBe(key.type);
      expect(`(${keyTypeLabel(key.type)})`).toBe(label);
      expect(invalidKeyReason(key.blob)).toBeUndefined();
    }
  });

  it('refuse blobs that are not keys: truncated, trailing bytes, empty, a wrong curve', () => {
    const ed = k('ed1').blob;
    expect(invalidKeyReason(ed.subarray(0, ed.length - 1))).toMatch(/not well formed/);
    expect(invalidKeyReason(Buffer.concat([ed, Buffer.from([0])]))).toMatch(/not well formed/);
    expect(invalidKeyReason(Buffer.alloc(0))).toMatch(/key type string/);
    expect(keyTypeOf(Buffer.from([0, 0, 0, 9, 0x61]))).toBeUndefined();
    // ecdsa-sha2-nistp256 naming curve nistp384 inside.
    const ec = k('ec256').blob;
    const forged = Buffer.from(ec);
    forged.write('nistp384', 4 + 19 + 4, 'latin1');
    expect(invalidKeyReason(forged)).toMatch(/not well formed/);
    const unknownType = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-foo'), Buffer.from([0, 0, 0, 0])]);
    expect(invalidKeyReason(unknownType)).toMatch(/unsupported key type "ssh-foo"/);
  });
});

describe('matchPattern (match.c)', () => {
  it('treats * and ? as globs and everything else, brackets included, literally', () => {
    expect(matchPattern('[10.0.0.1]:2201', '[10.0.0.?]:22*')).toBe(true);
    expect(matchPattern('web-1.lab', '*.lab')).toBe(true);
    expect(matchPattern('lab', '*.lab')).toBe(false);
    expect(matchPattern('abc', 'a**c')).toBe(true);
    expect(matchPattern('', '*')).toBe(true);
    expect(matchPattern('a', '')).toBe(false);
  });

  it('agrees with a reference regex on random subjects and patterns', () => {
    const toRegex = (p: string) => new RegExp(`^${[...p].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.[\]:]/g, '\\$&'))).join('')}$`, 's');
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b', '.', ':', '[') }), fc.string({ unit: fc.constantFrom('a', 'b', '.', '*', '?', '[') }), (s, p) => {
        expect(matchPattern(s, p)).toBe(toRegex(p).test(s));
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseKnownHosts and entriesForHost against ssh-keygen -F', () => {
  it('finds exactly the lines ssh-keygen finds, over every line form', async () => {
    const ed = k('ed1').text;
    const rsa = k('rsa1').text;
    const ec = k('ec384').text;
    const lines = [
      '# a comment',
      '',
      '   # an indented comment',
      `[127.0.0.1]:2201,lc1.lab ${ed} recorded by hand`,
      `127.0.0.1 ${rsa}`,
      `\t 10.0.0.* \t${ec}`,
      `*.lab,!db.lab ${ed}`,
      `@revoked * ${rsa}`,
      `@cert-authority *.lab,[127.0.0.1]:* ${ed}`,
      `[127.0.0.1]:22?? ${ec}`,
      `WEB.LAB ${ed}`,
      `rsa-alias.lab rsa-sha2-256 ${rsa.split(' ')[1]}`,
      `short.lab ED25519 ${ed.split(' ')[1]}`,
      'bad',
      `@bogus x ${ed}`,
      `@revoked @revoked x ${ed}`,
      'x ssh-ed25519 AAAA',
      `x ssh-rsa ${ed.split(' ')[1]}`,
      `x ${ed.split(' ')[0]}`,
      `x ${ed.split(' ')[0]} # comment`,
      `|1|abc|def ${ed}`,
      `x ssh-ed25519 ${ed.split(' ')[1]?.slice(0, -1)}`,
      `!x,x ${ed}`,
      `x,?,* ${ed}`,
    ];
    const file = await knownHostsFile(lines);
    const parsed = parseKnownHosts(await readFile(file, 'utf8'), file);
    // ('[h]:22' is never looked up: ssh names port 22 by the plain host.)
    const names = ['127.0.0.1', '[127.0.0.1]:2201', '[127.0.0.1]:2299', 'lc1.lab', 'web.lab', 'db.lab', '10.0.0.7', '[10.0.0.7]:2201', 'x', 'y', 'rsa-alias.lab', 'short.lab', 'lab'];
    for (const name of names) {
      const [host, port] = hostPort(name);
      expect(entriesForHost(parsed, host, port).map((e) => e.line), name).toEqual(sshKeygenFind(file, name));
    }
    expect(parsed.malformed.map((m) => m.line)).toEqual([13, 14, 15, 16, 17, 18, 19, 20, 21, 22]);
    expect(parsed.entries.find((e) => e.line === 12)?.keyType).toBe('ssh-rsa');
  });

  it('says why each malformed line is skipped', () => {
    const ed = k('ed1').text;
    const parsed = parseKnownHosts(['bad', `@bogus h ${ed}`, 'h ssh-ed25519 AAAA', `h ssh-rsa ${ed.split(' ')[1]}`, `|1|abc|def ${ed}`, `h ${ed}`].join('\n'), 'kh');
    expect(parsed.malformed).toEqual([
      { line: 1, reason: 'no key after the host names', text: 'bad' },
      { line: 2, reason: 'unknown marker "@bogus" (only @cert-authority and @revoked exist)', text: `@bogus h ${ed}` },
      { line: 3, reason: 'the key blob does not start with a key type string', text: 'h ssh-ed25519 AAAA' },
      { line: 4, reason: 'the line says "ssh-rsa" but the key is ssh-ed25519', text: `h ssh-rsa ${ed.split(' ')[1]}` },
      { line: 5, reason: 'bad hashed host name "|1|abc|def" (expected |1|salt|hash)', text: `|1|abc|def ${ed}` },
    ]);
    expect(parsed.entries.map((e) => e.line)).toEqual([6]);
  });

  const hostArb = fc.constantFrom('a', 'b', 'ab', 'a.lab', 'b.lab', '127.0.0.1');
  const portArb = fc.constantFrom(22, 2201, 2202);
  const patternArb = fc.oneof(
    hostArb,
    fc.tuple(hostArb, portArb).map(([h, p]) => knownHostsName(h, p)),
    fc.constantFrom('*', '?', '*.lab', 'a*', '[127.0.0.1]:*', '[*]:2201', '??', '*b'),
  );
  const fieldArb = fc.array(fc.tuple(fc.boolean(), patternArb), { minLength: 1, maxLength: 3 }).map((ps) => ps.map(([neg, p]) => (neg ? `!${p}` : p)).join(','));

  it('agrees with ssh-keygen -F on random files of patterns, negations and markers', async () => {
    const lineArb = fc.tuple(fc.constantFrom('', '', '@revoked ', '@cert-authority '), fieldArb, fc.constantFrom('ed1', 'rsa1', 'ec256'));
    await fc.assert(
      fc.asyncProperty(fc.array(lineArb, { minLength: 1, maxLength: 6 }), fc.array(fc.tuple(hostArb, portArb), { minLength: 1, maxLength: 4 }), async (lines, queries) => {
        const file = await knownHostsFile(lines.map(([marker, field, key]) => `${marker}${field} ${k(key).text}`));
        const parsed = parseKnownHosts(await readFile(file, 'utf8'), file);
        for (const [host, port] of queries) {
          expect(entriesForHost(parsed, host, port).map((e) => e.line)).toEqual(sshKeygenFind(file, knownHostsName(host, port)));
        }
      }),
      { numRuns: 40 },
    );
  });

  it('matches hashed entries written by ssh-keygen -H, with the same verdicts as before hashing', async () => {
    const lines = [
      `127.0.0.1 ${k('ed1').text}`,
      `[127.0.0.1]:2201 ${k('ed2').text}`,
      `[127.0.0.1]:2202,lc2.lab ${k('rsa1').text}`,
      `lc3.lab ${k('ec256').text}`,
    ];
    const plainFile = await knownHostsFile(lines);
    const hashedFile = await knownHostsFile(lines);
    execFileSync('ssh-keygen', ['-H', '-f', hashedFile], { stdio: 'ignore' });
    const hashedText = await readFile(hashedFile, 'utf8');
    expect(hashedText).not.toContain('127.0.0.1');
    const plain = parseKnownHosts(await readFile(plainFile, 'utf8'), plainFile);
    const hashed = parseKnownHosts(hashedText, hashedFile);
    expect(hashed.malformed).toEqual([]);
    expect(hashed.entries.every((e) => e.hosts.kind === 'hashed')).toBe(true);
    const queries: Array<[string, number]> = [['127.0.0.1', 22], ['127.0.0.1', 2201], ['127.0.0.1', 2202], ['lc2.lab', 22], ['lc3.lab', 22], ['LC3.lab', 22], ['lc4.lab', 22], ['127.0.0.1', 2203]];
    for (const [host, port] of queries) {
      const name = knownHostsName(host, port);
      expect(entriesForHost(hashed, host, port).map((e) => e.line), name).toEqual(sshKeygenFind(hashedFile, name));
      for (const key of ['ed1', 'ed2', 'rsa1', 'ec256', 'ed3']) {
        const verdict = (c: HostKeyCheck) => [c.status, 'expected' in c ? c.expected.map((e) => e.fingerprint) : []];
        expect(verdict(checkKnownHosts(hashed, host, port, k(key).blob)), `${name} ${key}`).toEqual(verdict(checkKnownHosts(plain, host, port, k(key).blob)));
      }
    }
    // The hash is HMAC-SHA1 of the looked-up name, keyed by the salt.
    const first = hashed.entries[0];
    if (first?.hosts.kind !== 'hashed') throw new Error('expected a hashed entry');
    expect(hashKnownHostsName('127.0.0.1', first.hosts.salt)).toBe(first.hosts.text);
  });
});

describe('checkHostKey', () => {
  it('knows, refuses a changed key of the same or another type, and does not know', async () => {
    const file = await knownHostsFile([`# lab`, `[127.0.0.1]:2201 ${k('ed1').text}`, `[127.0.0.1]:2202 ${k('rsa1').text}`]);
    const check = (port: number, key: string) => checkHostKey({ knownHostsFile: file, host: '127.0.0.1', port, key: k(key).blob });
    expect(await check(2201, 'ed1')).toMatchObject({ status: 'known', line: 2, name: '[127.0.0.1]:2201' });
    expect(await check(2201, 'ed2')).toMatchObject({
      status: 'mismatch',
      keyType: 'ssh-ed25519',
      fingerprint: fingerprintSha256(k('ed2').blob),
      expected: [{ line: 2, keyType: 'ssh-ed25519', fingerprint: fingerprintSha256(k('ed1').blob) }],
    });
    // OpenSSH 9 ("Offending RSA key"): any listed key that is not this one is a change, whatever its type.
    expect(await check(2202, 'ed1')).toMatchObject({ status: 'mismatch', expected: [{ line: 3, keyType: 'ssh-rsa' }] });
    expect(await check(2203, 'ed1')).toMatchObject({ status: 'unknown', keyType: 'ssh-ed25519', fingerprint: fingerprintSha256(k('ed1').blob) });
    // The plain name is port 22 only.
    expect(await check(22, 'ed1')).toMatchObject({ status: 'unknown', name: '127.0.0.1' });
  });

  it('treats a missing file, or a missing folder, as knowing no host', async () => {
    for (const file of [join(dir, 'nope'), join(dir, 'no', 'such', 'known_hosts')]) {
      expect(await checkHostKey({ knownHostsFile: file, host: 'h', port: 22, key: k('ed1').blob })).toMatchObject({ status: 'unknown', missing: true });
    }
  });

  it('refuses a revoked key even when it is also listed as known', async () => {
    const file = await knownHostsFile([`[127.0.0.1]:2201 ${k('ed1').text}`, `@revoked * ${k('ed1').text}`]);
    expect(await checkHostKey({ knownHostsFile: file, host: '127.0.0.1', port: 2201, key: k('ed1').blob })).toMatchObject({ status: 'revoked', revokedAt: [{ file, line: 2 }] });
    // Revoking a key does not change the verdict on another.
    expect(await checkHostKey({ knownHostsFile: file, host: '127.0.0.1', port: 2201, key: k('ed2').blob })).toMatchObject({ status: 'mismatch' });
  });

  it('never takes a @cert-authority line for a host key, as a match or as a change', () => {
    const parsed = parseKnownHosts(`@cert-authority * ${k('ed1').text}\n`, 'kh');
    expect(checkKnownHosts(parsed, 'h', 22, k('ed1').blob).status).toBe('unknown');
    expect(checkKnownHosts(parsed, 'h', 22, k('ed2').blob).status).toBe('unknown');
  });

  it('follows wildcards and negations', () => {
    const parsed = parseKnownHosts([`*.lab,!db.lab ${k('ed1').text}`, `[10.0.0.?]:2201 ${k('ed2').text}`, `* ${k('ec256').text}`].join('\n'), 'kh');
    expect(checkKnownHosts(parsed, 'web.lab', 22, k('ed1').blob)).toMatchObject({ status: 'known', line: 1 });
    expect(checkKnownHosts(parsed, 'WEB.LAB', 22, k('ed1').blob)).toMatchObject({ status: 'known', line: 1 });
    // db.lab is negated on line 1, but `*` on line 3 still names it (with another key).
    expect(checkKnownHosts(parsed, 'db.lab', 22, k('ed1').blob)).toMatchObject({ status: 'mismatch', expected: [{ line: 3 }] });
    expect(checkKnownHosts(parsed, '10.0.0.5', 2201, k('ed2').blob)).toMatchObject({ status: 'known', line: 2 });
    expect(checkKnownHosts(parsed, '10.0.0.55', 2201, k('ed2').blob)).toMatchObject({ status: 'mismatch' });
    // `*` matches "[h]:port" too, as in OpenSSH.
    expect(checkKnownHosts(parsed, 'h', 2201, k('ec256').blob)).toMatchObject({ status: 'known', line: 3 });
    expect(listedKeyTypes(parsed, 'web.lab', 22)).toEqual(['ssh-ed25519', 'ecdsa-sha2-nistp256']);
  });

  it('accepts the key listed under the plain name on another port, as ssh does, but never refuses because of it', () => {
    const parsed = parseKnownHosts(`127.0.0.1 ${k('ed1').text}\n`, 'kh');
    expect(checkKnownHosts(parsed, '127.0.0.1', 2201, k('ed1').blob)).toMatchObject({ status: 'known', line: 1, name: '127.0.0.1' });
    expect(checkKnownHosts(parsed, '127.0.0.1', 2201, k('ed2').blob)).toMatchObject({ status: 'unknown', name: '[127.0.0.1]:2201' });
    expect(entriesForHost(parsed, '127.0.0.1', 2201)).toEqual([]);
  });

  it('keeps the malformed lines in the verdict', () => {
    const parsed = parseKnownHosts(`[127.0.0.1]:2201 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\n`, 'kh');
    expect(checkKnownHosts(parsed, '127.0.0.1', 2201, k('ed1').blob)).toMatchObject({ status: 'unknown', malformed: [{ line: 1 }] });
  });

  it('refuses a presented blob that is no key', () => {
    expect(() => checkKnownHosts(parseKnownHosts('', 'kh'), 'h', 22, Buffer.from('junk'))).toThrow(VmctxError);
  });
});

describe('the user file and the global ones, read as one list as ssh reads them', () => {
  const check = (own: string, globals: string[], port: number, key: string) =>
    checkHostKeyWithGlobals({ knownHostsFile: own, globalKnownHostsFiles: globals, host: '127.0.0.1', port, key: k(key).blob });

  it("reads ssh's GlobalKnownHostsFile by default", () => {
    expect(GLOBAL_KNOWN_HOSTS_FILES).toEqual(['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']);
  });

  it('knows a key listed only in a global file, and says which file and line', async () => {
    const own = await knownHostsFile(['# mine']);
    const global = await knownHostsFile(['# global', `[127.0.0.1]:2201 ${k('ed1').text}`, `127.0.0.1 ${k('ed2').text}`]);
    expect(await check(own, [global], 2201, 'ed1')).toMatchObject({ status: 'known', file: global, line: 2, files: [{ file: own, missing: false }, { file: global, missing: false }] });
    // The plain name in the global file vouches for the same key on another port, as in the user's file.
    expect(await check(own, [global], 2202, 'ed2')).toMatchObject({ status: 'known', file: global, line: 3 });
    // Read after the user's file, which does not have to exist.
    expect(await check(join(dir, 'no-such-file'), [global], 2201, 'ed1')).toMatchObject({ status: 'known', file: global, missing: true });
  });

  it('refuses a key revoked in either file, whatever the other one lists', async () => {
    const listed = await knownHostsFile([`[127.0.0.1]:2201 ${k('ed1').text}`]);
    const revoked = await knownHostsFile([`# revoked`, `@revoked * ${k('ed1').text}`]);
    expect(await check(listed, [revoked], 2201, 'ed1')).toMatchObject({ status: 'revoked', revokedAt: [{ file: revoked, line: 2 }] });
    expect(await check(revoked, [listed], 2201, 'ed1')).toMatchObject({ status: 'revoked', revokedAt: [{ file: revoked, line: 2 }] });
    // An @revoked line alone makes a revoked key, not an unknown one (no --accept-new for it).
    expect(await check(await knownHostsFile([]), [revoked], 2201, 'ed1')).toMatchObject({ status: 'revoked' });
  });

  it('refuses a key that changed against either file; one listed in either is known though the other lists another', async () => {
    const empty = await knownHostsFile([]);
    const own = await knownHostsFile([`[127.0.0.1]:2201 ${k('ed2').text}`]);
    const global = await knownHostsFile([`[127.0.0.1]:2201 ${k('ed1').text}`]);
    expect(await check(empty, [global], 2201, 'ed2')).toMatchObject({ status: 'mismatch', expected: [{ file: global, line: 1, keyType: 'ssh-ed25519' }] });
    // ssh decides on the lines of both files as one list: a key listed in either is known (sshconnect.c).
    expect(await check(own, [global], 2201, 'ed1')).toMatchObject({ status: 'known', file: global, line: 1 });
    expect(await check(own, [global], 2201, 'ed2')).toMatchObject({ status: 'known', file: own, line: 1 });
    expect(await check(own, [global], 2201, 'ed3')).toMatchObject({
      status: 'mismatch',
      expected: [
        { file: own, line: 1, fingerprint: fingerprintSha256(k('ed2').blob) },
        { file: global, line: 1, fingerprint: fingerprintSha256(k('ed1').blob) },
      ],
    });
  });

  it("takes a global @cert-authority line for no host key, and keeps each file's malformed lines apart", async () => {
    const own = await knownHostsFile(['bad']);
    const global = await knownHostsFile([`@cert-authority * ${k('ed1').text}`, 'also bad']);
    expect(await check(own, [global], 2201, 'ed1')).toMatchObject({
      status: 'unknown',
      malformed: [
        { file: own, line: 1 },
        { file: global, line: 2 },
      ],
    });
  });

  it('treats a missing global file as empty, fails on one it cannot read, and reads the same file once', async () => {
    const own = await knownHostsFile([`[127.0.0.1]:2201 ${k('ed1').text}`]);
    const missing = join(dir, 'no', 'ssh_known_hosts');
    expect(await check(own, [missing], 2201, 'ed1')).toMatchObject({ status: 'known', files: [{ file: own }, { file: missing, missing: true }] });
    // A folder where the file should be: it cannot be read, and may have held a revocation.
    const folder = join(dir, 'a-folder');
    await mkdir(folder, { recursive: true });
    await expect(check(own, [folder], 2201, 'ed1')).rejects.toMatchObject({ code: 'SSH_HOST_KEY_FILE_UNREADABLE', kind: 'io' });
    expect((await check(own, [own], 2201, 'ed1')).files).toEqual([{ file: own, missing: false }]);
  });
});

describe('recordHostKey', () => {
  it('creates folder (0700) and file (0600), writes the line ssh writes, and the host is then known to us and to ssh-keygen', async () => {
    const file = join(dir, 'fresh', 'ssh', 'known_hosts');
    await recordHostKey(file, '127.0.0.1', 2201, k('ed1').blob);
    expect((await stat(join(dir, 'fresh'))).mode & 0o777).toBe(0o700);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toBe(`[127.0.0.1]:2201 ${k('ed1').text}\n`);
    expect(await checkHostKey({ knownHostsFile: file, host: '127.0.0.1', port: 2201, key: k('ed1').blob })).toMatchObject({ status: 'known', line: 1 });
    expect(sshKeygenFind(file, '[127.0.0.1]:2201')).toEqual([1]);
    expect(sshKeygenFind(file, '127.0.0.1')).toEqual([]);
  });

  it('appends after the other lines without touching them, adding a missing final newline', async () => {
    const file = join(dir, 'append_known_hosts');
    const before = `# keep me\r\n|1|x|y garbage\nlc1 ${k('rsa1').text}`;
    await writeFile(file, before);
    await recordHostKey(file, 'LC2.Lab', 22, k('ec521').blob);
    await recordHostKey(file, '::1', 2202, k('ed2').blob);
    expect(await readFile(file, 'utf8')).toBe(`${before}\nlc2.lab ${k('ec521').text}\n[::1]:2202 ${k('ed2').text}\n`);
    expect(await checkHostKey({ knownHostsFile: file, host: 'lc2.lab', port: 22, key: k('ec521').blob })).toMatchObject({ status: 'known', line: 4 });
    expect(sshKeygenFind(file, '[::1]:2202')).toEqual([5]);
  });

  it('refuses names that would be patterns, and blobs that are no key', async () => {
    const file = join(dir, 'refused_known_hosts');
    for (const host of ['*', 'a,b', '!a', 'a b', '', '[a]']) {
      await expect(recordHostKey(file, host, 22, k('ed1').blob)).rejects.toMatchObject({ code: 'SSH_HOST_KEY_BAD_HOST', kind: 'input' });
    }
    await expect(recordHostKey(file, 'h', 22, Buffer.from('junk'))).rejects.toMatchObject({ code: 'SSH_HOST_KEY_INVALID' });
    expect(existsSync(file)).toBe(false);
  });

  it('round-trips: every recorded key is known afterwards, and others for the same host are changes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('a', 'b.lab', '127.0.0.1'), fc.constantFrom(22, 2201), fc.constantFrom('ed1', 'rsa1', 'ec384')), { minLength: 1, maxLength: 5 }), async (records) => {
        const file = join(dir, `rt_${++fileCount}`, 'known_hosts');
        const seen = new Map<string, string[]>();
        for (const [host, port, key] of records) {
          const name = knownHostsName(host, port);
          const check = await checkHostKey({ knownHostsFile: file, host, port, key: k(key).blob });
          // As --accept-new: record only what is unknown.
          if (check.status === 'unknown') await recordHostKey(file, host, port, k(key).blob);
          if (check.status === 'unknown') seen.set(name, [...(seen.get(name) ?? []), key]);
          const after = await checkHostKey({ knownHostsFile: file, host, port, key: k(key).blob });
          // ssh's verdict: the port's own name first; on another port, the plain name may still vouch for this key.
          const own = seen.get(name) ?? [];
          const plain = port === 22 ? [] : (seen.get(host) ?? []);
          const expected = own.includes(key) ? 'known' : own.length > 0 ? 'mismatch' : plain.includes(key) ? 'known' : 'unknown';
          expect(after.status).toBe(expected);
          expect(after.status).not.toBe('unknown');
        }
      }),
      { numRuns: 25 },
    );
  });
});

describe('hostKeyError', () => {
  it('shows fingerprint, type and both fixes for an unknown key, and the fix works', async () => {
    const file = join(dir, 'unknown_known_hosts');
    await writeFile(file, `lc9 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\n`);
    const check = await checkHostKey({ knownHostsFile: file, host: '127.0.0.1', port: 2201, key: k('ed1').blob });
    if (check.status === 'known') throw new Error('expected unknown');
    const error = hostKeyError(check, 'lc1', '127.0.0.1', 2201);
    expect(error).toBeInstanceOf(VmctxError);
    expect(error).toMatchObject({ code: 'SSH_HOST_KEY_UNKNOWN', kind: 'remote', where: 'lc1' });
    expect(error.message).toContain(`ED25519 key ${fingerprintSha256(k('ed1').blob)}`);
    expect(error.message).toContain('--accept-new');
    expect(error.message).toContain(`ssh-keyscan -p 2201 127.0.0.1 >> ${file}`);
    expect(error.message).toContain('line 1: the ssh-ed25519 key data is not well formed');
  });

  it('shows the offending lines of a changed key, and its ssh-keygen -R fix removes them', async () => {
    const file = await knownHostsFile([`lc2 ${k('ed3').text}`, `[127.0.0.1]:2201 ${k('ed1').text}`, `[127.0.0.1]:2201 ${k('rsa1').text}`]);
    const check = await checkHostKey({ knownHostsFile: file, host: '127.0.0.1', port: 2201, key: k('ed2').blob });
    if (check.status !== 'mismatch') throw new Error('expected mismatch');
    const error = hostKeyError(check, 'lc1', '127.0.0.1', 2201);
    expect(error).toMatchObject({ code: 'SSH_HOST_KEY_CHANGED', kind: 'remote', where: 'lc1' });
    expect(error.message).toContain(`${file}:2: ED25519 key ${fingerprintSha256(k('ed1').blob)}`);
    expect(error.message).toContain(`${file}:3: RSA key ${fingerprintSha256(k('rsa1').blob)}`);
    expect(error.message).toContain('not even with --accept-new');
    const fix = /\n {2}(ssh-keygen -R .*)$/.exec(error.message)?.[1];
    expect(fix).toBe(`ssh-keygen -R '[127.0.0.1]:2201' -f ${file}`);
    execFileSync('sh', ['-c', fix as string], { stdio: 'ignore' });
    expect(await checkHostKey({ knownHostsFile: file, host: '127.0.0.1', port: 2201, key: k('ed2').blob })).toMatchObject({ status: 'unknown' });
    expect(await checkHostKey({ knownHostsFile: file, host: 'lc2', port: 22, key: k('ed3').blob })).toMatchObject({ status: 'known' });
  });

  it('names the global files too: where it looked, each file listing another key with its fix, the revoking line', async () => {
    const own = await knownHostsFile([`[127.0.0.1]:2201 ${k('ed2').text}`]);
    const global = await knownHostsFile([`# global`, `[127.0.0.1]:2201 ${k('rsa1').text}`]);
    const missing = join(dir, 'missing_known_hosts2');
    const verdict = (key: string) => checkHostKeyWithGlobals({ knownHostsFile: own, globalKnownHostsFiles: [global, missing], host: '127.0.0.1', port: 2201, key: k(key).blob });

    const changed = await verdict('ed1');
    if (changed.status !== 'mismatch') throw new Error('expected mismatch');
    const message = hostKeyError(changed, 'lc1', '127.0.0.1', 2201).message;
    expect(message).toContain(`${own}:1: ED25519 key`);
    expect(message).toContain(`${global}:2: RSA key`);
    const fixes = [...message.matchAll(/\n {2}(ssh-keygen -R .*)/g)].map((m) => m[1] as string);
    expect(fixes).toEqual([`ssh-keygen -R '[127.0.0.1]:2201' -f ${own}`, `ssh-keygen -R '[127.0.0.1]:2201' -f ${global}`]);
    for (const fix of fixes) execFileSync('sh', ['-c', fix], { stdio: 'ignore' });

    const unknown = await verdict('ed1');
    if (unknown.status !== 'unknown') throw new Error('expected unknown once both fixes ran');
    const said = hostKeyError(unknown, 'lc1', '127.0.0.1', 2201).message;
    expect(said).toContain(`not in ${own} (which lists no key for it), nor in the global ${global}, ${missing} (missing).`);
    expect(said).toContain(`>> ${own}`);

    await writeFile(global, `@revoked [127.0.0.1]:* ${k('ed1').text}\n`);
    const revoked = await verdict('ed1');
    if (revoked.status !== 'revoked') throw new Error('expected revoked');
    expect(hostKeyError(revoked, 'lc1', '127.0.0.1', 2201)).toMatchObject({ code: 'SSH_HOST_KEY_REVOKED', message: expect.stringContaining(`marked @revoked (${global}:1)`) });
  });

  it('refuses a revoked key with its own code', async () => {
    const file = await knownHostsFile([`@revoked * ${k('ed1').text}`]);
    const check = await checkHostKey({ knownHostsFile: file, host: 'h', port: 22, key: k('ed1').blob });
    if (check.status !== 'revoked') throw new Error('expected revoked');
    const error = hostKeyError(check, 'lc1', 'h', 22);
    expect(error).toMatchObject({ code: 'SSH_HOST_KEY_REVOKED', kind: 'remote', where: 'lc1' });
    expect(error.message).toContain(`${file}:1`);
  });
});

/**
 * The verdicts of ssh itself (StrictHostKeyChecking=yes) against a local sshd, on the same files: the proof
 * that "known", "unknown", "mismatch" and "revoked" mean what they mean to OpenSSH. Skipped without sshd.
 */
describe('against ssh and sshd', () => {
  let port = 0;
  let sshdPid: number | undefined;

  beforeAll(async () => {
    if (!existsSync('/usr/sbin/sshd')) return;
    port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as { port: number };
        server.close(() => resolve(p));
      });
    });
    const config = join(dir, 'sshd_config');
    await writeFile(config, [`Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${k('ed1').file}`, `HostKey ${k('rsa1').file}`, `PidFile ${join(dir, 'sshd.pid')}`, 'UsePAM no', ''].join('\n'));
    const run = spawnSync('/usr/sbin/sshd', ['-f', config, '-E', join(dir, 'sshd.log')]);
    // An sshd that is installed but does not start is a failure, not a reason to skip.
    if (run.status !== 0) throw new Error(`sshd did not start: ${run.stderr}`);
    // sshd writes its pid file once it listens; on a busy machine that can take seconds.
    for (let i = 0; i < 400 && !existsSync(join(dir, 'sshd.pid')); i++) await new Promise((r) => setTimeout(r, 20));
    sshdPid = Number((await readFile(join(dir, 'sshd.pid'), 'utf8').catch(() => '')).trim()) || undefined;
    if (sshdPid === undefined) throw new Error(`sshd wrote no pid file: ${await readFile(join(dir, 'sshd.log'), 'utf8').catch(() => '')}`);
  }, 20_000);

  afterAll(() => {
    if (sshdPid !== undefined) process.kill(sshdPid);
  });

  function sshVerdict(file: string, global = '/dev/null', strict = 'yes'): string {
    const run = spawnSync(
      'ssh',
      ['-F', '/dev/null', '-o', `UserKnownHostsFile=${file}`, '-o', `GlobalKnownHostsFile=${global}`, '-o', `StrictHostKeyChecking=${strict}`, '-o', 'BatchMode=yes', '-o', 'HostKeyAlgorithms=ssh-ed25519', '-o', 'ConnectTimeout=5', '-p', String(port), 'nobody@127.0.0.1', 'true'],
      { encoding: 'utf8', timeout: 10_000 },
    );
    if (/was revoked/.test(run.stderr)) return 'revoked';
    if (/HAS CHANGED/.test(run.stderr)) return 'mismatch';
    if (/No ED25519 host key is known/.test(run.stderr)) return 'unknown';
    if (/Permission denied/.test(run.stderr)) return 'known';
    return `unclassified: ${run.stderr}`;
  }

  it('gives the verdict ssh gives, for each kind of file', async (context) => {
    if (sshdPid === undefined) context.skip();
    const name = `[127.0.0.1]:${port}`;
    const cases: string[][] = [
      [`${name} ${k('ed1').text}`],
      [`${name} ${k('ed2').text}`],
      [`${name} ${k('rsa2').text}`],
      [`[127.0.0.1]:${port + 1} ${k('ed2').text}`],
      [`127.0.0.1 ${k('ed1').text}`],
      [`127.0.0.1 ${k('ed2').text}`],
      [`${name} ${k('ed1').text}`, `@revoked * ${k('ed1').text}`],
      [`@cert-authority * ${k('ed1').text}`],
      [`*,!127.0.0.1 ${k('ed1').text}`],
      [`[127.0.0.?]:* ${k('ed2').text}`],
      [`!${name},* ${k('ed1').text}`],
      [`${name} ssh-ed25519 AAAA`, `garbage`],
      [`${name} ${k('rsa2').text}`, `${name} ${k('ed1').text}`],
    ];
    for (const lines of cases) {
      const file = await knownHostsFile(lines);
      const ours = (await checkHostKey({ knownHostsFile: file, host: '127.0.0.1', port, key: k('ed1').blob })).status;
      expect(ours, lines.join(' / ')).toBe(sshVerdict(file));
    }
    // Hashed by ssh-keygen, and a key recorded by us.
    const hashed = await knownHostsFile([`${name} ${k('ed1').text}`]);
    execFileSync('ssh-keygen', ['-H', '-f', hashed], { stdio: 'ignore' });
    expect(sshVerdict(hashed)).toBe('known');
    expect((await checkHostKey({ knownHostsFile: hashed, host: '127.0.0.1', port, key: k('ed1').blob })).status).toBe('known');
    const recorded = join(dir, 'recorded-for-ssh', 'known_hosts');
    await recordHostKey(recorded, '127.0.0.1', port, k('ed1').blob);
    expect(sshVerdict(recorded)).toBe('known');
  });

  // Each case: [user's file, global file]. Every verdict here differs from a check of the user's file alone.
  it('gives the verdict ssh gives with a global file and @revoked lines', async (context) => {
    if (sshdPid === undefined) context.skip();
    const name = `[127.0.0.1]:${port}`;
    const cases: Array<[string[], string[]]> = [
      [[], [`${name} ${k('ed1').text}`]],
      [[], [`127.0.0.1 ${k('ed1').text}`]],
      [[], [`${name} ${k('ed2').text}`]],
      [[`${name} ${k('ed2').text}`], [`${name} ${k('ed1').text}`]],
      [[`${name} ${k('ed1').text}`], [`@revoked * ${k('ed1').text}`]],
      [[`${name} ${k('ed1').text}`], [`@revoked ${name} ${k('ed1').text}`, `${name} ${k('ed1').text}`]],
      [[], [`@revoked [127.0.0.1]:* ${k('ed1').text}`]],
      [[`${name} ${k('ed2').text}`], [`# nothing for it`, `@cert-authority * ${k('ed2').text}`, `@revoked * ${k('ed1').text}`]],
    ];
    for (const [userLines, globalLines] of cases) {
      const [user, global] = [await knownHostsFile(userLines), await knownHostsFile(globalLines)];
      const ours = await checkHostKeyWithGlobals({ knownHostsFile: user, globalKnownHostsFiles: [global], host: '127.0.0.1', port, key: k('ed1').blob });
      const alone = await checkHostKey({ knownHostsFile: user, host: '127.0.0.1', port, key: k('ed1').blob });
      const label = `user: ${userLines.join(' / ')}; global: ${globalLines.join(' / ')}`;
      expect(ours.status, label).toBe(sshVerdict(user, global));
      expect(alone.status, `${label}: the user's file alone gives another verdict`).not.toBe(ours.status);
    }
  });

  it("records with --accept-new what ssh's accept-new records, in the user's file only, and refuses what it refuses", async (context) => {
    if (sshdPid === undefined) context.skip();
    const name = `[127.0.0.1]:${port}`;
    // [user's file, global file]: unknown to both, known to the global one, revoked there, changed against it.
    const cases: Array<[string[], string[]]> = [
      [[`# mine`], [`# global`]],
      [[], [`${name} ${k('ed1').text}`]],
      [[], [`@revoked * ${k('ed1').text}`]],
      [[`${name} ${k('ed1').text}`], [`@revoked ${name} ${k('ed1').text}`]],
      [[`other.lab ${k('ed2').text}`], [`${name} ${k('ed2').text}`]],
    ];
    for (const [userLines, globalLines] of cases) {
      const label = `user: ${userLines.join(' / ')}; global: ${globalLines.join(' / ')}`;
      const [sshUser, ourUser, global] = [await knownHostsFile(userLines), await knownHostsFile(userLines), await knownHostsFile(globalLines)];
      const globalBefore = await readFile(global, 'utf8');
      const theirs = sshVerdict(sshUser, global, 'accept-new');
      const controller: ControllerConfig = { name: 'lc1', host: '127.0.0.1', port, user: 'nobody', identityFile: k('ed3').file, knownHosts: ourUser, imageDir: '/tmp', where: 'controllers[0]' };
      // sshd refuses the login (no key of ours is authorized for nobody): what matters is whether the host key got that far.
      const error = await ControllerConnection.open(controller, { acceptNew: true, globalKnownHostsFiles: [global], readyTimeoutMs: 10_000 }).then(
        (connection) => {
          connection.close();
          throw new Error('logged in as nobody');
        },
        (e: unknown) => e as VmctxError,
      );
      const ours = { SSH_AUTH_FAILED: 'known', SSH_HOST_KEY_REVOKED: 'revoked', SSH_HOST_KEY_CHANGED: 'mismatch' }[error.code as string] ?? error.message;
      expect(ours, label).toBe(theirs);
      expect(await readFile(ourUser, 'utf8'), label).toBe(await readFile(sshUser, 'utf8'));
      expect(await readFile(global, 'utf8'), label).toBe(globalBefore);
    }
  });
});
