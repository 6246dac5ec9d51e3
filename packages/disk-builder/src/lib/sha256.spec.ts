import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from './sha256.js';

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
