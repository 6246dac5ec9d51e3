/**
 * ECMA-119 9.4 and 6.9: the path table, one record per directory, in the order of 6.9.1 (by level, then by
 * the number of the parent, then by identifier). The L table stores numbers little-endian, the M table
 * big-endian. Directory numbers start at 1 (the root).
 */
import { IsoBuilderError } from './errors.js';

export interface PathTableEntry {
  /** Directory identifier as recorded (d-characters, or UCS-2 for Joliet); the root's is one 0x00 byte. */
  identifier: Buffer;
  extent: number;
  /** Number of the parent directory in this same table (the root is its own parent: 1). */
  parent: number;
}

/** Parent numbers are 16-bit (9.4.5). */
export const MAX_DIRECTORIES = 0xffff;

function recordSize(entry: PathTableEntry): number {
  return 8 + entry.identifier.length + (entry.identifier.length % 2);
}

export function pathTableSize(entries: PathTableEntry[]): number {
  return entries.reduce((sum, e) => sum + recordSize(e), 0);
}

export function buildPathTable(entries: PathTableEntry[], bigEndian: boolean): Buffer {
  if (entries.length > MAX_DIRECTORIES) {
    throw new IsoBuilderError('ISO_TOO_MANY_DIRECTORIES', `${entries.length} directories; a path table numbers at most ${MAX_DIRECTORIES}`);
  }
  const out = Buffer.alloc(pathTableSize(entries));
  let at = 0;
  for (const entry of entries) {
    out[at] = entry.identifier.length; // 9.4.1 length of directory identifier
    out[at + 1] = 0; // 9.4.2 extended attribute record length
    if (bigEndian) {
      out.writeUInt32BE(entry.extent, at + 2); // 9.4.3 location of extent
      out.writeUInt16BE(entry.parent, at + 6); // 9.4.4 parent directory number
    } else {
      out.writeUInt32LE(entry.extent, at + 2);
      out.writeUInt16LE(entry.parent, at + 6);
    }
    entry.identifier.copy(out, at + 8); // 9.4.5 directory identifier; 9.4.6 padding byte stays zero
    at += recordSize(entry);
  }
  return out;
}
