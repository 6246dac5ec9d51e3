import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sparseDigestOfBytes } from '../controller/sparse-digest.fixture.js';
import { ArtifactCache } from './cache.js';

const dir = mkdtempSync(join(tmpdir(), 'vmctx-cache-spec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe('ArtifactCache.digestOf: a base image is hashed once (issue 22)', () => {
  it('hashes a file once for its device, inode, size and mtime, in this process and the next; again once one changes', async () => {
    const image = join(dir, 'base.raw');
    writeFileSync(image, 'first bytes');
    // A whole second: utimes could not set back an mtime of nanoseconds.
    const mtime = 1_700_000_000;
    utimesSync(image, mtime, mtime);
    expect(await new ArtifactCache(join(dir, 'cache')).digestOf(image)).toEqual({ sha256: sha('first bytes'), sparseSha256: sparseDigestOfBytes(Buffer.from('first bytes')), size: 11 });
    // Other bytes of the same size under the same mtime: the remembered sum is given, the file is not read again.
    writeFileSync(image, 'other bytes');
    utimesSync(image, mtime, mtime);
    expect((await new ArtifactCache(join(dir, 'cache')).digestOf(image)).sha256).toBe(sha('first bytes'));
    // A new mtime is a new file to the cache.
    utimesSync(image, mtime, mtime + 1);
    expect((await new ArtifactCache(join(dir, 'cache')).digestOf(image)).sha256).toBe(sha('other bytes'));
  });

  it('reads again a file an earlier vmctx remembered by its sha256 alone, for its sparse digest', async () => {
    const image = join(dir, 'old.raw');
    writeFileSync(image, 'old bytes');
    const cache = join(dir, 'cache-old');
    const first = await new ArtifactCache(cache).digestOf(image);
    const remembered = JSON.parse(readFileSync(join(cache, 'digests.json'), 'utf8')) as Record<string, unknown>;
    // As an earlier vmctx wrote it, and a sum that is not the file's: what is read now is the file.
    writeFileSync(join(cache, 'digests.json'), JSON.stringify(Object.fromEntries(Object.keys(remembered).map((k) => [k, sha('not these')]))));
    expect(await new ArtifactCache(cache).digestOf(image)).toEqual(first);
  });

  it('says DEPLOY_IMAGE_UNREADABLE, with the path, for a file that is not there', async () => {
    await expect(new ArtifactCache(join(dir, 'cache')).digestOf(join(dir, 'none.raw'))).rejects.toMatchObject({ code: 'DEPLOY_IMAGE_UNREADABLE', message: expect.stringContaining('none.raw') });
  });
});
