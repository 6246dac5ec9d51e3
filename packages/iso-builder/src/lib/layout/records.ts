/**
 * The second phase's first half: each directory's records laid out within the directory, from the walk alone.
 * A primary directory's Rock Ridge entries are packed (what does not fit a record goes to continuation areas,
 * placed later with the sectors) and its records given their offsets; a Joliet directory's records likewise,
 * without System Use. Also what a record of a file says of its size and links.
 */
import { SECTOR_SIZE } from '../encoding.js';
import { RecordPlacer, recordLength, systemUseRoom } from '../directory-record.js';
import { erEntry, packSystemUse, plainEntriesLength, rockRidgeEntries, spEntry, type PackedSystemUse } from '../rock-ridge.js';
import type { TreeNode } from '../tree.js';
import type { Dir, Entry } from './walk.js';

/** Largest extent of one record: a multiple of the sector size below 4 GiB (9.1.4 is a 32-bit field). */
export const MAX_EXTENT_BYTES = 0xfffff800;

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/** A child's record in a primary directory: its Rock Ridge entries packed (`sua`), or written in place (`plainLength`). */
export interface PackedRecord {
  readonly entry: Entry;
  /**
   * Rock Ridge entries that need continuation areas, kept from placing to rendering. Entries that fit in
   * their record are not kept: they are built again when the record is written, so that a tree of many
   * files holds a few numbers per file rather than several small buffers.
   */
  readonly sua?: PackedSystemUse;
  /** Length of RR+NM+PX+TF when they fit the record and are written directly; 0 when `sua` is used. */
  readonly plainLength: number;
}

/** A primary directory's records, laid out: the "." and ".." System Use, one record a child, and offsets. */
export interface PrimaryRecords {
  readonly dotSua: PackedSystemUse;
  readonly dotDotSua: PackedSystemUse;
  /** In the directory's primary order (Dir.isoOrder). */
  readonly children: readonly PackedRecord[];
  /** Offsets of the records in the directory ("." and ".." first; a multi-extent file has one a part). */
  readonly offsets: readonly number[];
  /** The directory's size in bytes: whole sectors. */
  readonly size: number;
}

export interface JolietRecords {
  readonly offsets: readonly number[];
  readonly size: number;
}

export function typeBits(node: TreeNode): number {
  return node.kind === 'directory' ? S_IFDIR : node.kind === 'symlink' ? S_IFLNK : S_IFREG;
}

export function fileSize(entry: Entry): number {
  return entry.node.kind === 'file' ? entry.node.size : 0;
}

/** Records a file of this size needs: one per extent of at most MAX_EXTENT_BYTES (ECMA-119 6.5.1 multi-extent). */
function extentCount(entry: Entry): number {
  return entry.isDirectory ? 1 : Math.max(1, Math.ceil(fileSize(entry) / MAX_EXTENT_BYTES));
}

export function extentSizes(size: number): number[] {
  if (size <= MAX_EXTENT_BYTES) return [size];
  const parts: number[] = [];
  for (let left = size; left > 0; left -= MAX_EXTENT_BYTES) parts.push(Math.min(left, MAX_EXTENT_BYTES));
  return parts;
}

/** PX links (RRIP 4.1.1): a directory's "." and its name and its subdirectories' "..", a file's names. */
export function linksOf(entry: Entry): number {
  return entry.dir ? 2 + entry.dir.subdirCount : entry.links;
}

function rrFor(entry: Entry, links: number, name: string | null): Buffer[] {
  const node = entry.node;
  return rockRidgeEntries({ name, mode: typeBits(node) | entry.attrs.mode, links, attrs: entry.attrs, ...(node.kind === 'symlink' ? { target: node.target } : {}) });
}

/** Packs the Rock Ridge entries of a primary directory's records and places them, in order. */
export function primaryRecords(dir: Dir, encoder: 'fast' | 'entries'): PrimaryRecords {
  const self = dir.entry;
  const parentEntry = dir.parent ? dir.parent.entry : self;
  const dotEntries = rrFor(self, linksOf(self), null);
  if (dir.parent === null) dotEntries.unshift(spEntry());
  if (dir.parent === null) dotEntries.push(erEntry());
  const dotSua = packSystemUse(dotEntries, systemUseRoom(1));
  const dotDotSua = packSystemUse(rrFor(parentEntry, linksOf(parentEntry), null), systemUseRoom(1));
  const placer = new RecordPlacer(SECTOR_SIZE);
  placer.add(suaRecordLength(1, dotSua));
  placer.add(suaRecordLength(1, dotDotSua));
  const children: PackedRecord[] = [];
  for (const child of dir.isoOrder) {
    const idLength = child.isoName.length;
    const plain = plainEntriesLength(child.nameBytes);
    let record: PackedRecord;
    let recordSize: number;
    if (encoder === 'fast' && child.node.kind !== 'symlink' && plain <= systemUseRoom(idLength)) {
      // The common case: written straight into the directory when it is rendered, nothing kept.
      record = { entry: child, plainLength: plain };
      recordSize = recordLength(idLength, plain);
    } else {
      const sua = packSystemUse(rrFor(child, linksOf(child), child.name), systemUseRoom(idLength));
      record = { entry: child, sua, plainLength: 0 };
      recordSize = suaRecordLength(idLength, sua);
    }
    children.push(record);
    // Every part of a multi-extent file carries the same entries (Linux takes the name from the last part).
    placer.add(recordSize, extentCount(child));
  }
  return { dotSua, dotDotSua, children, offsets: placer.offsets, size: placer.size };
}

function suaRecordLength(idLength: number, packed: PackedSystemUse): number {
  const inline = packed.inline.reduce((s, b) => s + b.length, 0) + (packed.areas.length > 0 ? 28 : 0);
  return recordLength(idLength, inline);
}

/** Places a Joliet directory's records, in order ("." and ".." have no System Use in this tree). */
export function jolietRecords(dir: Dir): JolietRecords {
  const placer = new RecordPlacer(SECTOR_SIZE);
  placer.add(recordLength(1, 0), 2);
  for (const child of dir.jolietOrder) placer.add(recordLength(child.jolietName.length * 2, 0), extentCount(child));
  return { offsets: placer.offsets, size: placer.size };
}
