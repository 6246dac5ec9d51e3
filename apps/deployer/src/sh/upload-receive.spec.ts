/**
 * sh/upload-receive.sh under each shell a controller's `sh` may be: its protocol (resume-from first, frames in, the
 * identity last, its exits) on a temporary folder, as controller/upload.ts runs it (moved here from upload.spec.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sparseDigestOfBytes } from '../controller/sparse-digest.fixture.js';
import { FileIdentity } from './answers.js';
import { UPLOAD_RECEIVE_SH } from './sh.generated.js';

/** The shells a controller's `sh` may be (dash and busybox sh where installed). */
const SHELLS = [['dash'], ['bash', '--posix', '--norc'], ['busybox', 'sh']].filter(([cmd, ...rest]) => spawnSync(cmd!, [...rest, '-c', 'exit 0']).status === 0);

// Several 1 MiB chunks, and not a whole number of them.
const data = randomBytes(3 * 1024 * 1024 + 4321);
const sha256 = sparseDigestOfBytes(data);

/** The frames of upload.ts (sparse-frames.ts): `OFFSET LENGTH`, the bytes, ...; `end` when `ended`. */
const framed = (runs: ReadonlyArray<readonly [number, Buffer]>, ended = true) =>
  Buffer.concat([...runs.flatMap(([at, bytes]) => [Buffer.from(`${at} ${bytes.length}\n`), bytes]), Buffer.from(ended ? 'end\n' : '')]);
/** All of `data` from `from` on, in frames of 1 MiB. */
const framesOf = (from = 0, ended = true) => {
  const runs: Array<[number, Buffer]> = [];
  for (let at = from; at < data.length; at += 1024 * 1024) runs.push([at, data.subarray(at, Math.min(at + 1024 * 1024, data.length))]);
  return framed(runs, ended);
};

describe.each(SHELLS.map((shell) => [shell.join(' '), shell] as const))('upload-receive.sh under %s', (_name, [cmd, ...rest]) => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vmctx-receive-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const receive = (expected: string, { limit = '', input = framesOf(), size = data.length } = {}) =>
    spawnSync(cmd!, [...rest, '-c', `${limit}${UPLOAD_RECEIVE_SH}`, 'vmctx-upload', join(dir, '.part'), expected, join(dir, 'base.raw'), '0640', String(size)], { input, encoding: 'buffer' });

  it('writes, sums and publishes the bytes it reads, with the mode asked; its identity last (exit 0)', () => {
    const result = receive(sha256);
    expect(result.stderr.toString()).toBe('');
    expect(result.status).toBe(0);
    const lines = result.stdout.toString().trimEnd().split('\n');
    expect(lines[0]).toBe('resume-from 0 gzip');
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
    expect(result.stderr.toString()).toBe(`sparse sha256 on the controller is ${sha256}\n`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('takes the digest of the runs of data, adjacent frames merged: the one sparse-digest.ts gives for the file', () => {
    // Frames split where a reader of 1 MiB would not, and a hole of a block between two runs.
    const size = 5 * 1024 * 1024 + 333;
    const image = Buffer.alloc(size);
    data.copy(image, 0, 0, 2 * 1024 * 1024);
    data.copy(image, 2 * 1024 * 1024 + 65536, 0, size - 2 * 1024 * 1024 - 65536);
    const runs: Array<[number, Buffer]> = [
      [0, image.subarray(0, 300_000)],
      [300_000, image.subarray(300_000, 2 * 1024 * 1024)],
      [2 * 1024 * 1024 + 65536, image.subarray(2 * 1024 * 1024 + 65536)],
    ];
    const result = receive(sparseDigestOfBytes(image), { input: framed(runs), size });
    expect(result.stderr.toString()).toBe('');
    expect(result.status).toBe(0);
    expect(readFileSync(join(dir, 'base.raw')).equals(image)).toBe(true);
    // A block of zeros sent as data is another file's digest (runs are of data only): refused, removed.
    const zerosSent = receive(sparseDigestOfBytes(image), { input: framed([[0, image.subarray(0, 2 * 1024 * 1024 + 65536)], runs[2]!]), size });
    expect(zerosSent.status).toBe(3);
    expect(readdirSync(dir)).toEqual(['base.raw']);
  });

  it('fails a write error (exit 5) and removes the file', () => {
    // A file size limit (ulimit -f, in blocks of 512 or 1024 bytes): dd's writes fail with EFBIG past 64 blocks
    // (SIGXFSZ ignored).
    const result = receive(sha256, { limit: "trap '' XFSZ; ulimit -f 64\n" });
    expect(result.status).toBe(5);
    expect(result.stderr.toString()).toMatch(/dd: .*\.part.*: (File too large|I\/O error)/);
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

  it('keeps what arrived of a stream cut before its end, mid-frame too, for the next upload to resume (exit 7)', () => {
    const cut = framesOf().subarray(0, 1024 * 1024 + 300_000);
    const result = receive(sha256, { input: cut });
    expect(result.status).toBe(7);
    // The first frame whole, and of the second all that arrived: dd writes the short block at the end of its input.
    const arrived = cut.length - `0 1048576\n`.length - `1048576 1048576\n`.length;
    expect(result.stderr.toString()).toBe(`${arrived} of ${data.length} bytes are there; kept for the next upload to resume\n`);
    const part = readFileSync(join(dir, '.part'));
    expect(part.length).toBe(arrived);
    expect(part.equals(data.subarray(0, arrived))).toBe(true);
    // The next upload: told where to start, it says the run kept below it and sends the frames from there; the
    // digest covers the whole.
    const again = receive(sha256, { input: Buffer.concat([Buffer.from(`kept 0 ${part.length}\n`), framesOf(part.length)]) });
    expect(again.stdout.toString().split('\n')[0]).toBe(`resume-from ${part.length} gzip`);
    expect(again.status).toBe(0);
    expect(readFileSync(join(dir, 'base.raw')).equals(data)).toBe(true);
  });

  it('leaves what no frame covers a hole, and sets the whole size at `end`', () => {
    const size = 32 * 1024 * 1024;
    const image = Buffer.alloc(size);
    const runs: Array<[number, Buffer]> = [
      [65536, data.subarray(0, 2 * 65536)],
      [20 * 1024 * 1024, data.subarray(2 * 65536, 1024 * 1024)],
    ];
    for (const [at, bytes] of runs) bytes.copy(image, at);
    const result = receive(sparseDigestOfBytes(image), { input: framed(runs), size });
    expect(result.stderr.toString()).toBe('');
    expect(result.status).toBe(0);
    const published = join(dir, 'base.raw');
    expect(statSync(published).size).toBe(size);
    expect(statSync(published).blocks * 512).toBeLessThan(2 * 1024 * 1024);
    expect(readFileSync(published).equals(image)).toBe(true);
  });

  it('inflates a gzipped frame (z OFFSET LENGTH ZLENGTH) beside plain ones: the same file, the same digest', () => {
    const size = 4 * 1024 * 1024;
    const image = Buffer.alloc(size);
    const text = Buffer.from('a guest writes text that compresses well\n'.repeat(30_000)).subarray(0, 1024 * 1024);
    text.copy(image, 0);
    data.copy(image, 2 * 1024 * 1024, 0, 1024 * 1024);
    const packed = gzipSync(text, { level: 1 });
    const input = Buffer.concat([Buffer.from(`z 0 ${text.length} ${packed.length}\n`), packed, framed([[2 * 1024 * 1024, image.subarray(2 * 1024 * 1024, 3 * 1024 * 1024)]])]);
    const result = receive(sparseDigestOfBytes(image), { input, size });
    expect(result.stderr.toString()).toBe('');
    expect(result.status).toBe(0);
    expect(readFileSync(join(dir, 'base.raw')).equals(image)).toBe(true);
    // A gzip that inflates to more than it says writes no more than it says, and fails the digest (exit 3).
    const more = gzipSync(Buffer.concat([text, text]), { level: 1 });
    const over = receive(sparseDigestOfBytes(image), { input: Buffer.concat([Buffer.from(`z 0 ${text.length} ${more.length}\n`), more, Buffer.from('end\n')]), size });
    expect(over.status).toBe(3);
    for (const header of [`z 0 ${text.length}\n`, `z 0 ${text.length} 10 5\n`, `z 0 ${text.length} x\n`]) {
      expect(receive(sparseDigestOfBytes(image), { input: Buffer.from(`${header}end\n`), size }).status).toBe(5);
    }
  });

  it('refuses a frame that is not the protocol: out of order, past the size, not digits (exit 5), and removes the file', () => {
    const chunk = data.subarray(0, 1000);
    for (const input of [
      framed([[5000, chunk], [0, chunk]]),
      framed([[data.length - 10, chunk]]),
      Buffer.concat([Buffer.from('0 $((1))\n'), chunk]),
      // 2^64 - 1000 + 1000 wraps to 0 in the shell's arithmetic.
      Buffer.concat([Buffer.from(`1000 ${(2n ** 64n - 1000n).toString()}\n`), chunk]),
    ]) {
      const result = receive(sha256, { input });
      expect(result.status).toBe(5);
      expect(result.stderr.toString()).toMatch(/^bad frame/);
      expect(readdirSync(dir)).toEqual([]);
    }
  });

  it('leaves a part that another upload of the same bytes holds (its flock) alone, and receives under a name of its own', async () => {
    const part = join(dir, '.part');
    writeFileSync(part, data.subarray(0, 1000));
    const holder = spawn('flock', [part, 'sleep', '30'], { stdio: 'ignore' });
    try {
      while (spawnSync('flock', ['-n', part, 'true']).status === 0) await new Promise((r) => setTimeout(r, 20));
      const result = receive(sha256);
      expect(result.stdout.toString().split('\n')[0]).toBe('resume-from 0 gzip');
      expect(result.status).toBe(0);
      expect(readFileSync(join(dir, 'base.raw')).equals(data)).toBe(true);
      expect(readFileSync(part).equals(data.subarray(0, 1000))).toBe(true);
      expect(readdirSync(dir).sort()).toEqual(['.part', 'base.raw']);
    } finally {
      holder.kill();
    }
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
    const result = receive(sha256, { input: Buffer.concat([Buffer.from('kept 0 1000\n'), framesOf(1000)]) });
    expect(result.stderr.toString()).toBe('');
    expect(result.stdout.toString().split('\n')[0]).toBe('resume-from 1000 gzip');
    expect(result.status).toBe(0);
    expect(readFileSync(join(dir, 'base.raw')).equals(data)).toBe(true);
  });

  it('reads the kept part back: a kept part that is not the file fails the digest (exit 3) and is removed', () => {
    writeFileSync(join(dir, '.part'), randomBytes(1000));
    const result = receive(sha256, { input: Buffer.concat([Buffer.from('kept 0 1000\n'), framesOf(1000)]) });
    expect(result.status).toBe(3);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a kept run past what it holds, and a frame with bytes below it (exit 5)', () => {
    for (const input of [Buffer.from('kept 0 1001\nend\n'), Buffer.concat([Buffer.from('999 10\n'), data.subarray(0, 10)]), Buffer.from('kept 0 10 20\nend\n')]) {
      writeFileSync(join(dir, '.part'), data.subarray(0, 1000));
      const result = receive(sha256, { input });
      expect(result.status).toBe(5);
      expect(result.stderr.toString()).toMatch(/^bad frame/);
      expect(readdirSync(dir)).toEqual([]);
    }
  });

  it('starts again from nothing when more than the whole is kept (it cannot be a prefix)', () => {
    writeFileSync(join(dir, '.part'), Buffer.concat([data, Buffer.from('more')]));
    const result = receive(sha256);
    expect(result.stdout.toString().split('\n')[0]).toBe('resume-from 0 gzip');
    expect(result.status).toBe(0);
    expect(readFileSync(join(dir, 'base.raw')).equals(data)).toBe(true);
  });
});
