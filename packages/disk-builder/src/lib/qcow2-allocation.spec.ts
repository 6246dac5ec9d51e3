import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocateImage, refcountBlocksNeeded } from './qcow2-allocation.js';

/** An independent check, as `qemu-img check` does: every used cluster has refcount 1, every other 0. */
function checkRefcounts(clusterBits: number, l1Size: number): void {
  const cs = 2 ** clusterBits;
  const a = allocateImage(clusterBits, l1Size);
  const bytes = (index: number) => a.clusters.get(index) ?? new Uint8Array(cs);
  const u64 = (offset: number) => {
    const c = bytes(Math.floor(offset / cs));
    const at = offset % cs;
    return c.length >= at + 8 ? Number(new DataView(c.buffer, c.byteOffset, c.byteLength).getBigUint64(at)) : 0;
  };
  const used = new Set<number>([0]);
  const tableEntries = (a.refcountTableClusters * cs) / 8;
  for (let c = 0; c < a.refcountTableClusters; c++) used.add(a.refcountTableOffset / cs + c);
  const blocks: number[] = [];
  for (let i = 0; i < tableEntries; i++) {
    const offset = u64(a.refcountTableOffset + 8 * i);
    blocks.push(offset);
    if (offset) used.add(offset / cs);
  }
  for (let c = 0; c < Math.ceil((l1Size * 8) / cs); c++) used.add(a.l1TableOffset / cs + c);
  const perBlock = cs / 2;
  const totalClusters = Math.ceil(a.length / cs);
  const wrong: string[] = [];
  for (let c = 0; c < totalClusters; c++) {
    const block = blocks[Math.floor(c / perBlock)] ?? 0;
    const b = block ? bytes(block / cs) : new Uint8Array(cs);
    const i = (c % perBlock) * 2;
    const refcount = b.length > i + 1 ? (b[i]! << 8) | b[i + 1]! : 0;
    if (refcount !== (used.has(c) ? 1 : 0)) wrong.push(`cluster ${c}: refcount ${refcount}`);
  }
  expect(wrong.slice(0, 5)).toEqual([]);
  // The L1 table lies inside the file and reads as zeros.
  expect(a.l1TableOffset + l1Size * 8).toBeLessThanOrEqual(a.length);
  for (let c = a.l1TableOffset / cs; c < (a.l1TableOffset + l1Size * 8) / cs; c++) expect(bytes(c).every((x) => x === 0)).toBe(true);
}

describe('allocateImage', () => {
  it('puts everything in the first three clusters and the L1 table after them while one block suffices', () => {
    const a = allocateImage(16, 4096);
    expect(a).toMatchObject({ l1TableOffset: 3 * 65536, refcountTableOffset: 65536, refcountTableClusters: 1, length: 3 * 65536 + 32768 });
    expect([...a.clusters.keys()]).toEqual([1, 2]);
  });

  it.each([
    [9, 32768],
    [9, 2097152], // the refcount table moves
    [10, 131072],
    [12, 1048576],
  ])('keeps refcounts consistent with 2^%i-byte clusters and %i L1 entries', (bits, l1Size) => {
    checkRefcounts(bits, l1Size);
  });

  it('keeps refcounts consistent for any cluster size and L1 size (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 9, max: 13 }), fc.integer({ min: 1, max: 300_000 }), (bits, l1Size) => {
        checkRefcounts(bits, l1Size);
      }),
      { numRuns: 25 },
    );
  });
});

describe('refcountBlocksNeeded (qcow2_refcount_metadata_size)', () => {
  it('finds the fixed point of blocks counting data, themselves and their table', () => {
    expect(refcountBlocksNeeded(3, 65536, false)).toBe(1);
    // 512-byte clusters: 256 refcounts a block, 64 entries a table cluster.
    expect(refcountBlocksNeeded(255, 512, false)).toBe(2); // 255 + 2 blocks + 1 table cluster > 256
    expect(refcountBlocksNeeded(253, 512, false)).toBe(1);
  });
});
