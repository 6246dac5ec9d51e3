/**
 * Where QEMU puts the refcount structures and the L1 table of a new image.
 *
 * `qemu-img create` does not lay a fresh image out by formula: it writes a header, a one-cluster refcount table
 * and one refcount block, opens the image, allocates the first three clusters, then grows the L1 table with the
 * ordinary cluster allocator (QEMU block/qcow2.c qcow2_co_create, qcow2-cluster.c qcow2_grow_l1_table). When
 * the L1 table reaches clusters the first refcount block does not cover, the allocator adds refcount blocks,
 * retries, and may move the refcount table (qcow2-refcount.c alloc_refcount_block, update_refcount,
 * qcow2_refcount_area). The result depends on that path, so this module replays it, step for step, on an
 * in-memory model of the file. Each step names the QEMU function it follows.
 *
 * Model: refcounts are 16 bits (refcount_order 4); every write is kept per cluster, later writes replacing
 * earlier ones (a freed refcount table keeps its stale entries in the file, as in QEMU's output).
 */
import { DiskBuilderError } from './errors.js';

/** qcow2.rst "Host cluster management": QEMU's 8 MiB limit on the refcount table. */
const MAX_REFTABLE_BYTES = 8 * 1024 * 1024;
/** update_refcount / alloc_refcount_block ask their caller to search for free clusters again. */
const EAGAIN = -11;

export interface AllocationResult {
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  /** Content of every cluster other than the header cluster that holds non-zero bytes, by cluster index. */
  clusters: Map<number, Uint8Array>;
  /** File length: the end of the furthest write. */
  length: number;
}

export function allocateImage(clusterBits: number, l1Size: number): AllocationResult {
  return new AllocationModel(clusterBits).create(l1Size);
}

class AllocationModel {
  private readonly cs: number;
  /** Refcount entries per refcount block: cluster_size * 8 / 16. */
  private readonly rbs: number;
  /** The active refcount table, in memory (offsets of refcount blocks). */
  private table: number[];
  private tableBytes: Uint8Array;
  private tableOffset: number;
  /** Refcount blocks by file offset; the same arrays are the file content of those clusters. */
  private readonly blocks = new Map<number, Uint8Array>();
  private readonly clusters = new Map<number, Uint8Array>();
  private freeClusterIndex = 0;
  private length = 0;

  constructor(clusterBits: number) {
    this.cs = 2 ** clusterBits;
    this.rbs = this.cs / 2;
    // qcow2_co_create: the header cluster, then a refcount table at cluster 1 whose entry 0 points at an
    // empty refcount block at cluster 2, written as two whole clusters.
    this.table = new Array<number>(this.cs / 8).fill(0);
    this.tableBytes = new Uint8Array(this.cs);
    this.tableOffset = this.cs;
    this.clusters.set(1, this.tableBytes);
    this.setTableEntry(0, 2 * this.cs);
    this.writeBlock(2 * this.cs, new Uint8Array(this.cs));
    this.extend(3 * this.cs);
  }

  create(l1Size: number): AllocationResult {
    // qcow2_co_create: "Allocate the first three clusters" (header, refcount table, refcount block).
    if (this.allocClusters(3) !== 0) throw new Error('qcow2 allocation model: the first clusters are not free');
    // qcow2_grow_l1_table (via qcow2_co_truncate): allocate l1_size * 8 bytes, write them (all zero).
    const l1Bytes = l1Size * 8;
    const l1Offset = l1Size > 0 ? this.allocClusters(Math.ceil(l1Bytes / this.cs)) * this.cs : 0;
    if (l1Size > 0) this.writeZeros(l1Offset, l1Bytes);
    return {
      l1TableOffset: l1Offset,
      refcountTableOffset: this.tableOffset,
      refcountTableClusters: (this.table.length * 8) / this.cs,
      clusters: new Map([...this.clusters].filter(([index, data]) => index !== 0 && data.some((b) => b !== 0))),
      length: this.length,
    };
  }

  // qcow2-refcount.c qcow2_alloc_clusters: find free clusters, count them, again while asked to.
  private allocClusters(count: number): number {
    for (;;) {
      const first = this.allocClustersNoref(count);
      if (this.updateRefcount(first, count, false) !== EAGAIN) return first;
    }
  }

  // alloc_clusters_noref: the next `count` contiguous clusters with refcount 0, from free_cluster_index on.
  private allocClustersNoref(count: number): number {
    for (let i = 0; i < count; i++) {
      const index = this.freeClusterIndex++;
      if (this.getRefcount(index) !== 0) i = -1; // "goto retry": start the run again after this cluster
    }
    return this.freeClusterIndex - count;
  }

  // qcow2_get_refcount: 0 for clusters beyond the table or under a missing refcount block.
  private getRefcount(cluster: number): number {
    const tableIndex = Math.floor(cluster / this.rbs);
    if (tableIndex >= this.table.length) return 0;
    const blockOffset = this.table[tableIndex] ?? 0;
    if (blockOffset === 0) return 0;
    return readU16(this.blocks.get(blockOffset)!, cluster % this.rbs);
  }

  // update_refcount: add or remove one reference to `count` clusters from `first`; on failure (EAGAIN)
  // undo what was done so far and pass the failure up.
  private updateRefcount(first: number, count: number, decrease: boolean): number {
    if (count === 0) return 0;
    let oldTableIndex = -1;
    let block: Uint8Array | undefined;
    let cluster = first;
    let ret = 0;
    for (; cluster < first + count; cluster++) {
      const tableIndex = Math.floor(cluster / this.rbs);
      if (tableIndex !== oldTableIndex) {
        const loaded = this.allocRefcountBlock(cluster);
        if (typeof loaded === 'number') {
          ret = loaded;
          break;
        }
        block = loaded;
      }
      oldTableIndex = tableIndex;
      const index = cluster % this.rbs;
      const refcount = readU16(block!, index) + (decrease ? -1 : 1);
      if (refcount === 0 && cluster < this.freeClusterIndex) this.freeClusterIndex = cluster;
      writeU16(block!, index, refcount);
    }
    if (ret < 0) this.updateRefcount(first, cluster - first, !decrease);
    return ret;
  }

  // alloc_refcount_block: the refcount block covering `cluster`, allocating it (and growing the refcount
  // table) when missing; EAGAIN after any allocation, so that the caller searches again.
  private allocRefcountBlock(cluster: number): Uint8Array | number {
    const tableIndex = Math.floor(cluster / this.rbs);
    const existing = tableIndex < this.table.length ? (this.table[tableIndex] ?? 0) : 0;
    if (existing !== 0) return this.blocks.get(existing)!;

    const newBlock = this.allocClustersNoref(1);
    const block = new Uint8Array(this.cs);
    if (Math.floor(newBlock / this.rbs) === tableIndex) {
      // "The block describes itself".
      writeU16(block, newBlock % this.rbs, 1);
    } else {
      // "Described somewhere else": count it first, which may itself allocate.
      const ret = this.updateRefcount(newBlock, 1, false);
      if (ret < 0) return ret;
    }
    this.writeBlock(newBlock * this.cs, block);

    if (tableIndex < this.table.length) {
      // "If the refcount table is big enough, just hook the block up there".
      this.setTableEntry(tableIndex, newBlock * this.cs);
      return EAGAIN;
    }
    // Grow the refcount table: new self-describing refcount structures after everything counted so far.
    const blocksUsed = Math.ceil(Math.max(cluster + 1, newBlock + 1) / this.rbs);
    this.refcountArea(blocksUsed * this.rbs * this.cs, tableIndex, newBlock * this.cs);
    return EAGAIN;
  }

  // qcow2_refcount_area (additional_clusters 0, exact_size false): a new refcount table 1.5 times as large as
  // needed, new refcount blocks covering themselves and the table, then the old table freed.
  private refcountArea(startOffset: number, newIndex: number, newOffset: number): void {
    const totalBlocks = refcountBlocksNeeded(startOffset / this.cs, this.cs, true);
    const areaIndex = Math.floor(startOffset / this.cs / this.rbs);
    const perCluster = this.cs / 8;
    const tableSize = Math.ceil((totalBlocks + Math.ceil(totalBlocks / 2)) / perCluster) * perCluster;
    if (tableSize * 8 > MAX_REFTABLE_BYTES) {
      throw new DiskBuilderError('DISK_SIZE_TOO_LARGE', 'the refcount table would exceed QEMU\'s 8 MiB limit; use a larger cluster size');
    }
    const tableClusters = (tableSize * 8) / this.cs;
    const newTable = new Array<number>(tableSize).fill(0);
    for (let i = 0; i < Math.min(tableSize, this.table.length); i++) newTable[i] = this.table[i] ?? 0;
    newTable[newIndex] = newOffset;

    let additional = 0;
    for (let i = areaIndex; i < totalBlocks; i++) if (!newTable[i]) additional++;
    const tableOffset = startOffset + additional * this.cs;
    const endOffset = tableOffset + tableClusters * this.cs;

    let blockOffset = startOffset;
    for (let i = areaIndex; i < totalBlocks; i++) {
      let block: Uint8Array;
      if (newTable[i]) {
        block = this.blocks.get(newTable[i]!)!;
      } else {
        block = new Uint8Array(this.cs);
        newTable[i] = blockOffset;
        this.writeBlock(blockOffset, block);
        blockOffset += this.cs;
      }
      // "Set the refcount of all of the new refcount structures to 1".
      const firstCovered = i * this.rbs * this.cs;
      if (firstCovered < endOffset) {
        let j = firstCovered < startOffset ? (startOffset - firstCovered) / this.cs : 0;
        const end = Math.min((endOffset - firstCovered) / this.cs, this.rbs);
        for (; j < end; j++) writeU16(block, j, 1);
      }
    }

    // Write the new table, switch the header to it, free the old one (its bytes stay in the file).
    const oldOffset = this.tableOffset;
    const oldSize = this.table.length;
    this.table = newTable;
    this.tableBytes = new Uint8Array(tableClusters * this.cs);
    newTable.forEach((offset, i) => writeU64(this.tableBytes, i, offset));
    for (let c = 0; c < tableClusters; c++) {
      this.clusters.set(tableOffset / this.cs + c, this.tableBytes.subarray(c * this.cs, (c + 1) * this.cs));
    }
    this.tableOffset = tableOffset;
    this.extend(endOffset);
    this.updateRefcount(oldOffset / this.cs, Math.ceil((oldSize * 8) / this.cs), true);
  }

  private setTableEntry(index: number, offset: number): void {
    this.table[index] = offset;
    writeU64(this.tableBytes, index, offset);
  }

  private writeBlock(offset: number, block: Uint8Array): void {
    this.blocks.set(offset, block);
    this.clusters.set(offset / this.cs, block);
    this.extend(offset + this.cs);
  }

  private writeZeros(offset: number, bytes: number): void {
    for (let at = offset; at < offset + bytes; at = (Math.floor(at / this.cs) + 1) * this.cs) {
      const index = Math.floor(at / this.cs);
      const end = Math.min(offset + bytes, (index + 1) * this.cs);
      const old = this.clusters.get(index);
      if (!old) continue;
      const copy = old.slice();
      copy.fill(0, at - index * this.cs, end - index * this.cs);
      this.clusters.set(index, copy);
    }
    this.extend(offset + bytes);
  }

  private extend(end: number): void {
    this.length = Math.max(this.length, end);
  }
}

// qcow2.c qcow2_refcount_metadata_size: refcount blocks needed to count `clusters` clusters and themselves
// and their table (a fixed point), with room for a table half as large again when `generous`.
export function refcountBlocksNeeded(clusters: number, clusterSize: number, generous: boolean): number {
  const blocksPerTableCluster = clusterSize / 8;
  const refcountsPerBlock = clusterSize / 2;
  let table = 0;
  let blocks = 0;
  let n = 0;
  let last: number;
  let total = clusters;
  let generousLeft = generous;
  do {
    last = n;
    blocks = Math.ceil((total + table + blocks) / refcountsPerBlock);
    table = Math.ceil(blocks / blocksPerTableCluster);
    n = total + blocks + table;
    if (n === last && generousLeft) {
      total += Math.ceil(table / 2);
      n = 0;
      generousLeft = false;
    }
  } while (n !== last);
  return blocks;
}

function readU16(block: Uint8Array, index: number): number {
  return (block[index * 2]! << 8) | block[index * 2 + 1]!;
}
function writeU16(block: Uint8Array, index: number, value: number): void {
  block[index * 2] = value >> 8;
  block[index * 2 + 1] = value & 0xff;
}
function writeU64(bytes: Uint8Array, index: number, value: number): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setBigUint64(index * 8, BigInt(value));
}
