import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { sha256File, sha256Stream } from './sha256.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'disk-builder-sha-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const reference = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('sha256File', () => {
  it('hashes an empty file', async () => {
    await writeFile(join(dir, 'empty'), '');
    expect(await sha256File(join(dir, 'empty'))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it.each([7, 1000, 4096, 10_000])('gives the same digest whatever the chunk size (%i bytes)', async (chunkSize) => {
    const data = Buffer.from(Array.from({ length: 9_999 }, (_, i) => (i * 31 + (i >> 8)) & 0xff));
    await writeFile(join(dir, 'data'), data);
    const progress: number[] = [];
    expect(await sha256File(join(dir, 'data'), { chunkSize, onProgress: (n) => progress.push(n) })).toBe(reference(data));
    expect(progress.at(-1)).toBe(9_999);
    expect(progress.length).toBe(Math.ceil(9_999 / chunkSize));
  });

  it('says which file is missing', async () => {
    await expect(sha256File(join(dir, 'nope'))).rejects.toMatchObject({ code: 'DISK_NOT_FOUND', message: expect.stringContaining('nope') });
  });

  it('refuses a folder with a read error', async () => {
    await expect(sha256File(dir)).rejects.toMatchObject({ code: 'DISK_READ_FAILED' });
  });
});

describe('sha256Stream', () => {
  it('hashes what a stream gives, chunk by chunk, as sha256File hashes the same bytes in a file', async () => {
    const data = Buffer.from(Array.from({ length: 9_999 }, (_, i) => (i * 7) & 0xff));
    await writeFile(join(dir, 'same'), data);
    const progress: number[] = [];
    const chunks = [data.subarray(0, 10), data.subarray(10, 5000), data.subarray(5000)];
    expect(await sha256Stream(Readable.from(chunks), 'standard input', { onProgress: (n) => progress.push(n) })).toBe(await sha256File(join(dir, 'same')));
    expect(progress).toEqual([10, 5000, 9_999]);
    expect(await sha256Stream(Readable.from([]), 'standard input')).toBe(reference(Buffer.alloc(0)));
  });

  it('says what could not be read', async () => {
    const failing = new Readable({ read() { this.destroy(new Error('EIO')); } });
    await expect(sha256Stream(failing, 'standard input')).rejects.toMatchObject({ code: 'DISK_READ_FAILED', message: expect.stringContaining('standard input') });
  });
});
