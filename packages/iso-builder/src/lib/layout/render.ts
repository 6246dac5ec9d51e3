/**
 * The third phase: the bytes of everything a placement placed before the file data (path tables, directories,
 * continuation areas), read from the placement and the walk and nothing else. The volume descriptors are the
 * writer's (from `volumes`), and so is file data.
 */
import { SECTOR_SIZE } from '../encoding.js';
import {
  FLAG_DIRECTORY,
  FLAG_MULTI_EXTENT,
  identifierField,
  RECORD_HEADER,
  recordLength,
  writeDirectoryRecord,
  writeLatin1Identifier,
  writeRecordHeader,
  writeUcs2Identifier,
} from '../directory-record.js';
import { buildPathTable, type PathTableEntry } from '../path-table.js';
import { areaBytes, inlineBytes, repeatedEntries, writePlainEntries, type PackedSystemUse, type RepeatedEntries } from '../rock-ridge.js';
import { isoIdentifier, jolietPathIdentifier, type PlacedJolietDir, type PlacedPrimaryDir, type Placement } from './place.js';
import { extentSizes, fileSize, linksOf, MAX_EXTENT_BYTES, typeBits, type PackedRecord } from './records.js';

/** The bytes of everything `placement` placed before the file data, except the volume descriptors. */
export function renderMetadata(placement: Placement): Buffer {
  const { isoDirs, jolietDirs, pathTables } = placement;
  const metadata = Buffer.alloc(placement.metadataSectors * SECTOR_SIZE);
  const isoTable: PathTableEntry[] = isoDirs.map((d) => ({ identifier: isoIdentifier(d.dir), extent: d.extent, parent: d.dir.parent ? d.dir.parent.isoNumber : 1 }));
  const jolietTable: PathTableEntry[] = jolietDirs.map((d) => ({
    identifier: jolietPathIdentifier(d.dir),
    extent: d.extent,
    parent: d.dir.parent ? d.dir.parent.jolietNumber : 1,
  }));
  buildPathTable(isoTable, false).copy(metadata, pathTables.isoL * SECTOR_SIZE);
  buildPathTable(isoTable, true).copy(metadata, pathTables.isoM * SECTOR_SIZE);
  buildPathTable(jolietTable, false).copy(metadata, pathTables.jolietL * SECTOR_SIZE);
  buildPathTable(jolietTable, true).copy(metadata, pathTables.jolietM * SECTOR_SIZE);

  const last = repeatedEntries();
  for (const dir of isoDirs) renderPrimaryDirectory(metadata, placement, dir, last);
  for (const dir of jolietDirs) renderJolietDirectory(metadata, placement, dir);
  for (const dir of isoDirs) {
    for (const [packed, locations] of dir.areaLocations) {
      locations.forEach((loc, i) => areaBytes(packed, i, locations).copy(metadata, loc.sector * SECTOR_SIZE + loc.offset));
    }
  }
  return metadata;
}

/** The records of a file of `size` bytes from sector `extent`: one a part of at most MAX_EXTENT_BYTES (6.5.1). */
function fileRecords(extent: number, size: number): { extent: number; size: number; flags: number }[] {
  const sizes = extentSizes(size);
  return sizes.map((part, i) => ({
    extent: extent + (i * MAX_EXTENT_BYTES) / SECTOR_SIZE,
    size: part,
    flags: i < sizes.length - 1 ? FLAG_MULTI_EXTENT : 0,
  }));
}

/** Identifiers of the "." and ".." records (ECMA-119 6.8.2.2). */
const DOT_ID = Buffer.from([0]);
const DOT_DOT_ID = Buffer.from([1]);

function renderPrimaryDirectory(metadata: Buffer, placement: Placement, dir: PlacedPrimaryDir, last: RepeatedEntries): void {
  const { isoDirs, dataSectors } = placement;
  const base = dir.extent * SECTOR_SIZE;
  const offsets = dir.offsets;
  const parent = dir.dir.parent ? (isoDirs[dir.dir.parent.isoNumber - 1] as PlacedPrimaryDir) : dir;
  const dotRecord = (at: number, of: PlacedPrimaryDir, identifier: Buffer, packed: PackedSystemUse): void => {
    const systemUse = inlineBytes(packed, dir.areaLocations.get(packed) ?? []);
    writeDirectoryRecord(metadata, at, { extent: of.extent, size: of.size, date: of.dir.entry.attrs.mtime, flags: FLAG_DIRECTORY, identifier, systemUse });
  };
  dotRecord(base + (offsets[0] as number), dir, DOT_ID, dir.dotSua);
  dotRecord(base + (offsets[1] as number), parent, DOT_DOT_ID, dir.dotDotSua);
  let i = 2;
  for (const record of dir.children) {
    const child = record.entry;
    if (child.dir) {
      const sub = isoDirs[child.dir.isoNumber - 1] as PlacedPrimaryDir;
      writePrimaryRecord(metadata, base + (offsets[i++] as number), dir, record, sub.extent, sub.size, FLAG_DIRECTORY, last);
      continue;
    }
    const size = fileSize(child);
    const extent = dataSectors.get(child) as number;
    if (size <= MAX_EXTENT_BYTES) writePrimaryRecord(metadata, base + (offsets[i++] as number), dir, record, extent, size, 0, last);
    else for (const r of fileRecords(extent, size)) writePrimaryRecord(metadata, base + (offsets[i++] as number), dir, record, r.extent, r.size, r.flags, last);
  }
}

/** One record of the primary tree, with its Rock Ridge entries (written in place when they fit it). */
function writePrimaryRecord(metadata: Buffer, at: number, dir: PlacedPrimaryDir, record: PackedRecord, extent: number, size: number, flags: number, last: RepeatedEntries): void {
  const child = record.entry;
  const id = child.isoName;
  const a = child.attrs;
  if (record.sua) {
    const systemUse = inlineBytes(record.sua, dir.areaLocations.get(record.sua) ?? []);
    writeDirectoryRecord(metadata, at, { extent, size, date: a.mtime, flags, identifier: { text: id, encoding: 'latin1' }, systemUse });
    return;
  }
  writeRecordHeader(metadata, at, recordLength(id.length, record.plainLength), extent, size, a.mtime, flags, id.length);
  writeLatin1Identifier(metadata, at, id);
  const sua = at + RECORD_HEADER + identifierField(id.length);
  writePlainEntries(metadata, sua, child.name, child.nameBytes, typeBits(child.node) | a.mode, linksOf(child), a, last);
}

function renderJolietDirectory(metadata: Buffer, placement: Placement, dir: PlacedJolietDir): void {
  const { jolietDirs, dataSectors } = placement;
  const base = dir.extent * SECTOR_SIZE;
  const offsets = dir.offsets;
  const parent = dir.dir.parent ? (jolietDirs[dir.dir.parent.jolietNumber - 1] as PlacedJolietDir) : dir;
  const dotLength = recordLength(1, 0);
  writeRecordHeader(metadata, base + (offsets[0] as number), dotLength, dir.extent, dir.size, dir.dir.entry.attrs.mtime, FLAG_DIRECTORY, 1);
  metadata[base + (offsets[0] as number) + RECORD_HEADER] = 0; // "."
  writeRecordHeader(metadata, base + (offsets[1] as number), dotLength, parent.extent, parent.size, parent.dir.entry.attrs.mtime, FLAG_DIRECTORY, 1);
  metadata[base + (offsets[1] as number) + RECORD_HEADER] = 1; // ".."
  let i = 2;
  for (const child of dir.dir.jolietOrder) {
    const date = child.attrs.mtime;
    if (child.dir) {
      const sub = jolietDirs[child.dir.jolietNumber - 1] as PlacedJolietDir;
      writeJolietRecord(metadata, base + (offsets[i++] as number), sub.extent, sub.size, date, FLAG_DIRECTORY, child.jolietName);
      continue;
    }
    const size = fileSize(child);
    const extent = dataSectors.get(child) as number;
    if (size <= MAX_EXTENT_BYTES) writeJolietRecord(metadata, base + (offsets[i++] as number), extent, size, date, 0, child.jolietName);
    else for (const r of fileRecords(extent, size)) writeJolietRecord(metadata, base + (offsets[i++] as number), r.extent, r.size, date, r.flags, child.jolietName);
  }
}

function writeJolietRecord(metadata: Buffer, at: number, extent: number, size: number, date: number, flags: number, name: string): void {
  writeRecordHeader(metadata, at, recordLength(name.length * 2, 0), extent, size, date, flags, name.length * 2);
  writeUcs2Identifier(metadata, at, name);
}
