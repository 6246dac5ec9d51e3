import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BLOCK, MAX_FRAME, sparseFrames } from './sparse-frames.js';

const dir = mkdtempSync(join(tmpdir(), 'vmctx-frames-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** All that an async iterable gives (Node 20 has no Array.fromAsync). */
async function collect(frames: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const piece of frames) out.push(piece);
  return out;
}

/** A file of `size` bytes, holes but for the runs given. */
function fileWith(name: string, size: number, runs: ReadonlyArray<readonly [number, Buffer]>): string {
  const path = join(dir, name);
  writeFileSync(path, '');
  truncateSync(path, size);
  const fd = openSync(path, 'r+');
  for (const [at, bytes] of runs) writeSync(fd, bytes, 0, bytes.length, at);
  closeSync(fd);
  return path;
}

/**
 * The frames of the file from `from`, parsed back: [offset, bytes] each, the `kept` runs below `from` as [offset,
 * length], and whether `end` closed them.
 */
async function framesOf(path: string, size: number, from = 0): Promise<{ runs: Array<[number, Buffer]>; kept: Array<[number, number]>; ended: boolean; wire: number }> {
  const file = await open(path);
  const stream = Buffer.concat(await collect(sparseFrames(file, from, size)));
  await file.close();
  const runs: Array<[number, Buffer]> = [];
  const kept: Array<[number, number]> = [];
  let at = 0;
  for (;;) {
    const newline = stream.indexOf(10, at);
    if (newline < 0) throw new Error(`no header at ${at}`);
    const header = stream.subarray(at, newline).toString();
    at = newline + 1;
    if (header === 'end') return { runs, kept, ended: at === stream.length, wire: stream.length };
    const fields = header.split(' ');
    if (fields[0] === 'kept') {
      kept.push([Number(fields[1]), Number(fields[2])]);
      continue;
    }
    const [offset, length] = fields.map(Number) as [number, number];
    runs.push([offset, stream.subarray(at, at + length)]);
    at += length;
  }
}

/** The file the frames give on a controller that held [0, from) of `base` already. */
function rebuilt(size: number, runs: ReadonlyArray<readonly [number, Buffer]>, base?: Buffer, from = 0): Buffer {
  const out = Buffer.alloc(size);
  base?.copy(out, 0, 0, from);
  for (const [at, bytes] of runs) bytes.copy(out, at);
  return out;
}

describe('sparseFrames', () => {
  const size = 40 * 1024 * 1024 + 777;
  const a = randomBytes(3 * BLOCK + 100);
  const b = randomBytes(MAX_FRAME + 5 * BLOCK);
  // A run of zeros written in the middle of data: a hole too, as SEEK_DATA would not find.
  const c = Buffer.concat([randomBytes(BLOCK), Buffer.alloc(2 * BLOCK), randomBytes(10)]);
  const path = fileWith('image.raw', size, [
    [BLOCK, a],
    [10 * 1024 * 1024, b],
    [30 * 1024 * 1024, c],
    [size - 5, randomBytes(5)],
  ]);

  it('sends each block that is not all zeros, in order, at most MAX_FRAME a frame, then end; nothing else', async () => {
    const { runs, ended, wire } = await framesOf(path, size);
    expect(ended).toBe(true);
    const local = await open(path).then(async (f) => {
      const whole = Buffer.alloc(size);
      await f.read(whole, 0, size, 0);
      await f.close();
      return whole;
    });
    expect(rebuilt(size, runs).equals(local)).toBe(true);
    expect(runs.every(([, bytes]) => bytes.length <= MAX_FRAME)).toBe(true);
    expect(runs.map(([at]) => at)).toEqual([...runs.map(([at]) => at)].sort((x, y) => x - y));
    // The data is a, b, c less its zero blocks, and the last block of the file (5 bytes of data in it).
    const sent = runs.reduce((sum, [, bytes]) => sum + bytes.length, 0);
    const lastBlock = size - (size - (size % BLOCK));
    expect(sent).toBe(4 * BLOCK + b.length + BLOCK + BLOCK + lastBlock);
    expect(wire - sent).toBeLessThan(runs.length * 24 + 4);
  });

  it('from an offset, sends only what lies past it, the first block cut there, and says the runs below it as kept', async () => {
    const from = 10 * 1024 * 1024 + 12345;
    const all = await framesOf(path, size);
    const local = rebuilt(size, all.runs);
    const { runs, kept } = await framesOf(path, size, from);
    expect(runs[0]![0]).toBe(from);
    // a's blocks (the last one 100 bytes of data) and b's head up to `from`: the runs sparse-digest.ts counts, cut there.
    expect(kept).toEqual([
      [BLOCK, 4 * BLOCK],
      [10 * 1024 * 1024, 12345],
    ]);
    expect(rebuilt(size, runs, local, from).equals(local)).toBe(true);
    // Less a's 4 blocks, and b's first 12345 bytes.
    const total = (rs: typeof runs) => rs.reduce((sum, [, bytes]) => sum + bytes.length, 0);
    expect(total(runs)).toBe(total(all.runs) - 4 * BLOCK - 12345);
  });

  it('gives a file of holes as `end` alone, and an empty file too', async () => {
    expect(await framesOf(fileWith('holes.raw', 5 * 1024 * 1024, []), 5 * 1024 * 1024)).toEqual({ runs: [], kept: [], ended: true, wire: 4 });
    expect(await framesOf(fileWith('empty.raw', 0, []), 0)).toEqual({ runs: [], kept: [], ended: true, wire: 4 });
  });

  it('says so when the file is shorter than its size: it changed while it was sent', async () => {
    const file = await open(fileWith('short.raw', 1000, [[0, randomBytes(1000)]]));
    await expect(collect(sparseFrames(file, 0, 5000))).rejects.toThrow('the file ended at 1000 of 5000 bytes');
    await file.close();
  });
});
