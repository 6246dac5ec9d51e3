/**
 * sh/upload-receive.sh under each shell a controller's `sh` may be: its protocol (resume-from first, the identity
 * last, its exits) on a temporary folder, as controller/upload.ts runs it (moved here from upload.spec.ts).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileIdentity } from './answers.js';
import { UPLOAD_RECEIVE_SH } from './sh.generated.js';

/** The shells a controller's `sh` may be (dash and busybox sh where installed). */
const SHELLS = [['dash'], ['bash', '--posix', '--norc'], ['busybox', 'sh']].filter(([cmd, ...rest]) => spawnSync(cmd!, [...rest, '-c', 'exit 0']).status === 0);

// Several 1 MiB chunks, and not a whole number of them.
const data = randomBytes(3 * 1024 * 1024 + 4321);
const sha256 = createHash('sha256').update(data).digest('hex');

describe.each(SHELLS.map((shell) => [shell.join(' '), shell] as const))('upload-receive.sh under %s', (_name, [cmd, ...rest]) => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vmctx-receive-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const receive = (expected: string, { limit = '', input = data } = {}) =>
    spawnSync(cmd!, [...rest, '-c', `${limit}${UPLOAD_RECEIVE_SH}`, 'vmctx-upload', join(dir, '.part'), expected, join(dir, 'base.raw'), '0640', String(data.length)], { input, encoding: 'buffer' });

  it('writes, sums and publishes the bytes it reads, with the mode asked; its identity last (exit 0)', () => {
    const result = receive(sha256);
    expect(result.stderr.toString()).toBe('');
    expect(result.status).toBe(0);
    const lines = result.stdout.toString().trimEnd().split('\n');
    expect(lines[0]).toBe('resume-from 0');
    const info = statSync(join(dir, 'base.raw'), { bigint: true });
    expect(lines).toHaveLength(2);
    expect(FileIdentity.parse(lines[1])).toMatch(new RegExp(`^${info.dev}:${info.ino}:`));
    expect(readdirSync(dir)).toEqual(['base.raw']);
    expect(readFileSync(join(dir, 'base.raw')).equals(data)).toBe(true);
    expect(statSync(join(dir, 'base.raw')).mode & 0o7777).toBe(0o640);
  });

  it('removes what it wrote when the sum is not the one expected (exit 3, the sum it found on stderr)', () => {
    const result = receive('f'.repeat(64));
    expect(result.status).toBe(3);
    expect(result.stderr.toString()).toBe(`sha256 on the controller is ${sha256}\n`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('fails a write error (exit 5) even though every byte was summed, and removes the file', () => {
    // A file size limit (ulimit -f, in blocks of 512 or 1024 bytes): tee's writes fail with EFBIG past 64 blocks
    // (SIGXFSZ ignored) while its copy to sha256sum goes on.
    const result = receive(sha256, { limit: "trap '' XFSZ; ulimit -f 64\n" });
    expect(result.status).toBe(5);
    expect(result.stderr.toString()).toMatch(/tee: .*\.part: (File too large|I\/O error)/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('never replaces what is at the final name, nor follows a link there (exit 6), and removes the temporary file', () => {
    writeFileSync(join(dir, 'base.raw'), 'old');
    const taken = receive(sha256);
    expect(taken.status).toBe(6);
    expect(taken.stderr.toString()).toContain(`${join(dir, 'base.raw')} exists already; it was not replaced\n`);
    expect(readFileSync(join(dir, 'base.raw'), 'utf8')).toBe('old');
    rmSync(join(dir, 'base.raw'));
    const elsewhere = mkdtempSync(join(dir, 'elsewhere-'));
    symlinkSync(elsewhere, join(dir, 'base.raw'));
    expect(receive(sha256).status).toBe(6);
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(lstatSync(join(dir, 'base.raw')).isSymbolicLink()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['base.raw', expect.stringMatching(/^elsewhere-/)]);
  });

  it('keeps fewer bytes than the whole for the next upload to resume (exit 7)', () => {
    const result = receive(sha256, { input: data.subarray(0, 5000) });
    expect(result.status).toBe(7);
    expect(result.stderr.toString()).toBe(`5000 of ${data.length} bytes are there; kept for the next upload to resume\n`);
    expect(readFileSync(join(dir, '.part')).equals(data.subarray(0, 5000))).toBe(true);
  });

  it('does not write through a link planted at its temporary name', () => {
    const target = join(dir, 'target');
    writeFileSync(target, 'untouched');
    symlinkSync(target, join(dir, '.part'));
    const result = receive(sha256);
    expect(result.status).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('untouched');
    expect(readFileSync(join(dir, 'base.raw')).equals(data)).toBe(true);
  });

  it('says first how much it holds already, and sums the kept part with the rest', () => {
    writeFileSync(join(dir, '.part'), data.subarray(0, 1000));
    const result = receive(sha256, { input: data.subarray(1000) });
    expect(result.stderr.toString()).toBe('');
    expect(result.stdout.toString().split('\n')[0]).toBe('resume-from 1000');
    expect(result.status).toBe(0);
    expect(readFileSync(join(dir, 'base.raw')).equals(data)).toBe(true);
  });

  it('starts again from nothing when more than the whole is kept (it cannot be a prefix)', () => {
    writeFileSync(join(dir, '.part'), Buffer.concat([data, Buffer.from('more')]));
    const result = receive(sha256);
    expect(result.stdout.toString().split('\n')[0]).toBe('resume-from 0');
    expect(result.status).toBe(0);
    expect(readFileSync(join(dir, 'base.raw')).equals(data)).toBe(true);
  });
});
