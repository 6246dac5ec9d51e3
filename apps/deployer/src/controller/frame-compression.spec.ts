import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AUTO_BELOW, FrameCompression } from './frame-compression.js';

const MiB = 1024 * 1024;
const text = Buffer.from('a guest writes text that compresses well\n'.repeat(30_000)).subarray(0, MiB);

/** The clock performance.now gives in these tests. */
let now = 1000;
/** Sends `total` bytes in 1 MiB frames at `rate` bytes a second. */
function send(compression: FrameCompression, total: number, rate: number): void {
  vi.spyOn(performance, 'now').mockImplementation(() => now);
  for (let sent = 0; sent < total; sent += MiB) {
    now += (MiB * 1000) / rate;
    compression.onSent(MiB);
  }
}

afterEach(() => vi.restoreAllMocks());

describe('FrameCompression', () => {
  it('auto: compresses once the link measured from the 12th to the 44th MiB is under 32 MB/s, not before, not on a fast one', () => {
    const slow = new FrameCompression('auto', true);
    send(slow, 43 * MiB, 12.5e6);
    expect(slow.active).toBe(false);
    send(slow, 2 * MiB, 12.5e6);
    expect(slow.active).toBe(true);
    expect(slow.measured).toBeCloseTo(12.5e6, -5);
    const fast = new FrameCompression('auto', true);
    send(fast, 64 * MiB, 2 * AUTO_BELOW);
    expect(fast.active).toBe(false);
    // Without gzip on the controller, never.
    const none = new FrameCompression('auto', false);
    send(none, 64 * MiB, 1e6);
    expect(none.active).toBe(false);
  });

  it('on: from the first frame where gzip is there; off: never', () => {
    expect(new FrameCompression('on', true).active).toBe(true);
    expect(new FrameCompression('on', false).active).toBe(false);
    const off = new FrameCompression('off', true);
    send(off, 64 * MiB, 1e6);
    expect(off.active).toBe(false);
  });

  it('gives the gzip of a frame that shrinks, nothing for one that does not; after four of those in a row, 16 MiB go without trying', async () => {
    const c = new FrameCompression('on', true);
    expect(gunzipSync((await c.compress(text))!).equals(text)).toBe(true);
    for (let i = 0; i < 3; i++) expect(await c.compress(randomBytes(64 * 1024))).toBeUndefined();
    expect(c.active).toBe(true);
    expect(await c.compress(randomBytes(64 * 1024))).toBeUndefined();
    expect(c.active).toBe(false);
    send(c, 15 * MiB, 1e6);
    expect(c.active).toBe(false);
    send(c, MiB, 1e6);
    expect(c.active).toBe(true);
    expect(await c.compress(text)).toBeDefined();
  });
});
