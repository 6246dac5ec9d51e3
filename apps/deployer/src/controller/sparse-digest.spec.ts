import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileDigests } from './sparse-digest.js';
import { sparseDigestOfBytes } from './sparse-digest.fixture.js';
import { BLOCK } from './sparse-frames.js';

const dir = mkdtempSync(join(tmpdir(), 'vmctx-sparse-digest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The definition in sparse-digest.ts's header, written out block by block over the whole buffer. */
function byDefinition(bytes: Buffer): string {
  const runs: Array<[number, number]> = [];
  const data = createHash('sha256');
  for (let at = 0; at < bytes.length; at += BLOCK) {
    const block = bytes.subarray(at, at + BLOCK);
    if (block.every((b) => b === 0)) continue;
    const last = runs.at(-1);
    if (last && last[0] + last[1] === at) last[1] += block.length;
    else runs.push([at, block.length]);
    data.update(block);
  }
  const text = `vmctx-sparse-sha256 ${bytes.length} ${BLOCK}\n${runs.map(([a, l]) => `${a} ${l}\n`).join('')}data ${data.digest('hex')}\n`;
  return createHash('sha256').update(text).digest('hex');
}

describe('sparse digest', () => {
  const image = Buffer.alloc(3 * 1024 * 1024 + 4097);
  randomBytes(3 * BLOCK + 7).copy(image, BLOCK);
  randomBytes(2 * 1024 * 1024).copy(image, 1024 * 1024 - 1000); // across a read of 1 MiB
  image[image.length - 1] = 9; // the last block, shorter

  it('is the digest its definition gives, and the file reading gives it with the sha256 of the whole', async () => {
    const path = join(dir, 'image.raw');
    writeFileSync(path, image);
    expect(sparseDigestOfBytes(image)).toBe(byDefinition(image));
    expect(await fileDigests(path)).toEqual({ sha256: createHash('sha256').update(image).digest('hex'), sparseSha256: byDefinition(image), size: image.length });
  });

  it('tells apart files that differ by one byte, in data or in a hole, or by their size of zeros at the end', () => {
    const seen = new Set([sparseDigestOfBytes(image)]);
    for (const at of [BLOCK + 5, 20 * BLOCK + 3, image.length - 1]) {
      const other = Buffer.from(image);
      other[at] = other[at]! ^ 1;
      seen.add(sparseDigestOfBytes(other));
    }
    seen.add(sparseDigestOfBytes(Buffer.concat([image, Buffer.alloc(1)])));
    seen.add(sparseDigestOfBytes(Buffer.alloc(0)));
    seen.add(sparseDigestOfBytes(Buffer.alloc(BLOCK)));
    expect(seen.size).toBe(7);
  });
});
