import { describe, expect, it } from 'vitest';
import { ChunkFanOut } from './fan-out.js';
import type { Chunk } from './sparse-frames.js';

const MiB = 1024 * 1024;

/** A file of `count` chunks of 1 MiB (every third all zeros), counting what was read and how many readings. */
function source(count: number) {
  const seen = { reads: 0, readings: 0 };
  const read = async function* (): AsyncGenerator<Chunk> {
    seen.readings += 1;
    for (let at = 0; at < count * MiB; at += MiB) {
      seen.reads += 1;
      await new Promise((resolve) => setImmediate(resolve));
      const zeros = (at / MiB) % 3 === 2;
      yield { at, bytes: Buffer.alloc(MiB, zeros ? 0 : 1), zeros };
    }
  };
  return { seen, read };
}

async function drain(chunks: AsyncIterable<Chunk>): Promise<number[]> {
  const at: number[] = [];
  for await (const chunk of chunks) at.push(chunk.at);
  return at;
}

describe('ChunkFanOut', () => {
  it('reads once, once every consumer joined or left, and gives each that joined every chunk; one that leaves gets none', async () => {
    const { seen, read } = source(12);
    const fanOut = new ChunkFanOut(4, read, 4 * MiB);
    const a = drain(fanOut.join());
    const b = drain(fanOut.join());
    fanOut.leave();
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.readings).toBe(0);
    const c = drain(fanOut.join());
    const all = [...Array(12).keys()].map((n) => n * MiB);
    expect(await a).toEqual(all);
    expect(await b).toEqual(all);
    expect(await c).toEqual(all);
    expect(seen).toEqual({ reads: 12, readings: 1 });
  });

  it('holds the reading back once a stalled consumer is a bound behind, and goes on when it stops', async () => {
    const { seen, read } = source(40);
    const fanOut = new ChunkFanOut(2, read, 4 * MiB);
    const fast = drain(fanOut.join());
    const slow = fanOut.join()[Symbol.asyncIterator]() as AsyncGenerator<Chunk>;
    await slow.next();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // 4 MiB of data queued for the stalled one, the chunks of zeros (no memory of their own) beside them, and the one read.
    expect(seen.reads).toBeLessThanOrEqual(8);
    await slow.return(undefined);
    expect(await fast).toHaveLength(40);
    expect(seen.reads).toBe(40);
  });

  it('gives a reading error to every consumer', async () => {
    const fanOut = new ChunkFanOut(2, async function* () {
      yield { at: 0, bytes: Buffer.alloc(10, 1), zeros: false };
      throw new Error('EIO reading the image');
    });
    const results = await Promise.allSettled([drain(fanOut.join()), drain(fanOut.join())]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'fulfilled'))).toEqual(['EIO reading the image', 'EIO reading the image']);
  });
});
