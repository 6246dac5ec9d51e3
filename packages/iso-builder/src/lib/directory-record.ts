/**
 * ECMA-119 9.1: directory records. A record is at most 255 bytes, has an even length, and never crosses a
 * logical sector (6.8.1.1): a record that does not fit in what is left of a sector starts the next one.
 */
import { writeBoth16, writeBoth32, writeShortDate } from './encoding.js';

/** ECMA-119 9.1.6: file flags. */
export const FLAG_DIRECTORY = 0x02;
export const FLAG_MULTI_EXTENT = 0x80;

export const RECORD_HEADER = 33;
/** Longest record we write; even, so that the System Use field can always be padded to an even length. */
export const MAX_RECORD = 254;

export interface DirectoryRecord {
  extent: number;
  size: number;
  date: number;
  flags: number;
  /** Bytes, or text written as latin1 (ISO 9660 d-characters) or UTF-16 big-endian (Joliet). */
  identifier: Buffer | { text: string; encoding: 'latin1' | 'ucs2' };
  /** Bytes, or the length of System Use entries the caller writes at the returned offset. */
  systemUse: Buffer | number;
}

function identifierLength(identifier: DirectoryRecord['identifier']): number {
  if (Buffer.isBuffer(identifier)) return identifier.length;
  return identifier.encoding === 'latin1' ? identifier.text.length : identifier.text.length * 2;
}

/** ECMA-119 9.1.12: a padding byte follows an identifier of even length, so that System Use starts even. */
export function identifierField(identifierLength: number): number {
  return identifierLength + (identifierLength % 2 === 0 ? 1 : 0);
}

/** Room left for System Use entries in a record with this identifier. */
export function systemUseRoom(identifierLength: number): number {
  return MAX_RECORD - RECORD_HEADER - identifierField(identifierLength);
}

export function recordLength(identifierLength: number, systemUseLength: number): number {
  const length = RECORD_HEADER + identifierField(identifierLength) + systemUseLength;
  return length + (length % 2); // 9.1.13: the record has an even length
}

/**
 * Writes a record into `buf`, which must be zeroed there (padding bytes are not written). Returns the offset
 * of the System Use field.
 */
export function writeDirectoryRecord(buf: Buffer, offset: number, record: DirectoryRecord): number {
  const id = record.identifier;
  const idLength = identifierLength(id);
  const suaLength = typeof record.systemUse === 'number' ? record.systemUse : record.systemUse.length;
  writeRecordHeader(buf, offset, recordLength(idLength, suaLength), record.extent, record.size, record.date, record.flags, idLength);
  if (Buffer.isBuffer(id)) id.copy(buf, offset + RECORD_HEADER);
  else if (id.encoding === 'latin1') writeLatin1Identifier(buf, offset, id.text);
  else writeUcs2Identifier(buf, offset, id.text);
  const sua = offset + RECORD_HEADER + identifierField(idLength); // 9.1.13 system use
  if (typeof record.systemUse !== 'number') record.systemUse.copy(buf, sua);
  return sua;
}

/**
 * The fixed 33 bytes of a record (9.1.1 to 9.1.10), from plain numbers: tens of thousands of records are
 * written once each, mostly before the JIT has warmed up, so no record object or closure is made per record.
 */
export function writeRecordHeader(buf: Buffer, offset: number, length: number, extent: number, size: number, date: number, flags: number, idLength: number): void {
  buf[offset] = length; // 9.1.1 length of directory record
  buf[offset + 1] = 0; // 9.1.2 extended attribute record length
  writeBoth32(buf, offset + 2, extent); // 9.1.3 location of extent
  writeBoth32(buf, offset + 10, size); // 9.1.4 data length
  writeShortDate(buf, offset + 18, date); // 9.1.5 recording date and time
  buf[offset + 25] = flags; // 9.1.6 file flags
  buf[offset + 26] = 0; // 9.1.7 file unit size (not interleaved)
  buf[offset + 27] = 0; // 9.1.8 interleave gap size
  writeBoth16(buf, offset + 28, 1); // 9.1.9 volume sequence number
  buf[offset + 32] = idLength; // 9.1.10 length of file identifier
}

/** 9.1.11 file identifier of the record at `offset`, d-characters (9.1.12 padding stays zero). */
export function writeLatin1Identifier(buf: Buffer, offset: number, text: string): void {
  for (let i = 0; i < text.length; i++) buf[offset + RECORD_HEADER + i] = text.charCodeAt(i) & 0xff;
}

/** 9.1.11 file identifier of the record at `offset`, UTF-16 big-endian (Joliet). */
export function writeUcs2Identifier(buf: Buffer, offset: number, text: string): void {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    buf[offset + RECORD_HEADER + 2 * i] = unit >>> 8;
    buf[offset + RECORD_HEADER + 1 + 2 * i] = unit & 0xff;
  }
}

/**
 * Sector-aware placement, one record after another: a record that does not fit in what is left of a sector
 * starts the next one. Records are added as they are measured, so no list of lengths is built first.
 */
export class RecordPlacer {
  readonly offsets: number[] = [];
  private at = 0;

  constructor(private readonly sectorSize: number) {}

  /** Places `count` records of `length` bytes each. */
  add(length: number, count = 1): void {
    for (let i = 0; i < count; i++) {
      const left = this.sectorSize - (this.at % this.sectorSize);
      if (length > left) this.at += left;
      this.offsets.push(this.at);
      this.at += length;
    }
  }

  /** The directory's size in bytes: whole sectors, at least one. */
  get size(): number {
    return Math.max(this.sectorSize, Math.ceil(this.at / this.sectorSize) * this.sectorSize);
  }
}

/** Sector-aware placement: offsets of records of the given lengths, and the directory's size in bytes. */
export function placeRecords(lengths: number[], sectorSize: number): { offsets: number[]; size: number } {
  const placer = new RecordPlacer(sectorSize);
  for (const length of lengths) placer.add(length);
  return { offsets: placer.offsets, size: placer.size };
}
