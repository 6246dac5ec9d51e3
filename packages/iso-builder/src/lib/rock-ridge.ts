/**
 * System Use entries of SUSP (IEEE P1281, "System Use Sharing Protocol" 1.12) and of Rock Ridge
 * (IEEE P1282, RRIP 1.12, identified as "RRIP_1991A" as genisoimage does), and how they are packed
 * into a directory record's System Use field and continuation areas.
 */
import { SECTOR_SIZE, writeBoth32, writeShortDate } from './encoding.js';

/** SUSP 4.1: every entry starts with a 2-byte signature, a 1-byte length and a 1-byte version (1). */
function entry(signature: string, body: Buffer): Buffer {
  const out = Buffer.alloc(4 + body.length);
  out.write(signature, 0, 'latin1');
  out[2] = out.length;
  out[3] = 1;
  body.copy(out, 4);
  return out;
}

/** SUSP 5.3: SP, first entry of the root's "." record: check bytes BE EF, LEN_SKP 0. */
export function spEntry(): Buffer {
  return entry('SP', Buffer.from([0xbe, 0xef, 0x00]));
}

/** Flags of the RR entry (RRIP 1.09 4.1.x, written by genisoimage; Linux stops reading Rock Ridge without it). */
export const RR_PX = 0x01;
export const RR_SL = 0x04;
export const RR_NM = 0x08;
export const RR_TF = 0x80;

export function rrEntry(flags: number): Buffer {
  return entry('RR', Buffer.from([flags]));
}

/** RRIP 4.1.1: PX, POSIX file mode, links, user and group, each both-endian 32-bit (36-byte form). */
export function pxEntry(mode: number, links: number, uid: number, gid: number): Buffer {
  const body = Buffer.alloc(32);
  writeBoth32(body, 0, mode >>> 0);
  writeBoth32(body, 8, links >>> 0);
  writeBoth32(body, 16, uid >>> 0);
  writeBoth32(body, 24, gid >>> 0);
  return entry('PX', body);
}

/** RRIP 4.1.6: TF, with modify (bit 1), access (bit 2) and attribute-change (bit 3) times in the 7-byte form. */
export function tfEntry(mtime: number, atime: number, ctime: number): Buffer {
  const body = Buffer.alloc(1 + 3 * 7);
  body[0] = 0x0e;
  writeShortDate(body, 1, mtime);
  writeShortDate(body, 8, atime);
  writeShortDate(body, 15, ctime);
  return entry('TF', body);
}

/** Largest body of one entry: the length field is one byte. */
const MAX_BODY = 255 - 4;

/** RRIP 4.1.4: NM, the real name, split into entries flagged CONTINUE (bit 0) when longer than one entry holds. */
export function nmEntries(name: string): Buffer[] {
  const bytes = Buffer.from(name, 'utf8');
  const out: Buffer[] = [];
  const room = MAX_BODY - 1;
  for (let at = 0; at < bytes.length || out.length === 0; at += room) {
    const piece = bytes.subarray(at, at + room);
    const more = at + room < bytes.length;
    out.push(entry('NM', Buffer.concat([Buffer.from([more ? 1 : 0]), piece])));
  }
  return out;
}

/** RRIP 4.1.3.1: component flags. */
const SL_CONTINUE = 0x01;
const SL_CURRENT = 0x02;
const SL_PARENT = 0x04;
const SL_ROOT = 0x08;

/** Component records of a symbolic link target; components longer than one record are split with CONTINUE. */
function slComponents(target: string): Buffer[] {
  const records: Buffer[] = [];
  const parts = target.split('/');
  if (target.startsWith('/')) records.push(Buffer.from([SL_ROOT, 0]));
  // Largest content of one component record that still fits one SL entry (body: flags byte + record header).
  const room = MAX_BODY - 1 - 2;
  parts.forEach((part) => {
    if (part === '') return; // a leading "/" (ROOT above), "//" or a trailing "/"
    if (part === '.') return void records.push(Buffer.from([SL_CURRENT, 0]));
    if (part === '..') return void records.push(Buffer.from([SL_PARENT, 0]));
    const bytes = Buffer.from(part, 'utf8');
    for (let at = 0; at < bytes.length; at += room) {
      const piece = bytes.subarray(at, at + room);
      const more = at + room < bytes.length;
      records.push(Buffer.concat([Buffer.from([more ? SL_CONTINUE : 0, piece.length]), piece]));
    }
  });
  return records;
}

/** RRIP 4.1.3: SL entries; an entry flagged CONTINUE (bit 0) is followed by another SL of the same link. */
export function slEntries(target: string): Buffer[] {
  const records = slComponents(target);
  const groups: Buffer[][] = [[]];
  let size = 1;
  for (const record of records) {
    if (size + record.length > MAX_BODY) {
      groups.push([]);
      size = 1;
    }
    (groups[groups.length - 1] as Buffer[]).push(record);
    size += record.length;
  }
  return groups.map((group, i) => entry('SL', Buffer.concat([Buffer.from([i < groups.length - 1 ? 1 : 0]), ...group])));
}

/** SUSP 5.1: CE, where the System Use continues: block, offset in it, length, each both-endian 32-bit. */
export const CE_LENGTH = 28;
export function ceEntry(block: number, offset: number, length: number): Buffer {
  const body = Buffer.alloc(24);
  writeBoth32(body, 0, block);
  writeBoth32(body, 8, offset);
  writeBoth32(body, 16, length);
  return entry('CE', body);
}

export const RRIP_ID = 'RRIP_1991A';
const RRIP_DESCRIPTOR = 'THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS';
const RRIP_SOURCE =
  'PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.';

/** SUSP 5.5: ER in the root's "." record: says which extension (Rock Ridge) the entries belong to. */
export function erEntry(): Buffer {
  const id = Buffer.from(RRIP_ID, 'latin1');
  const descriptor = Buffer.from(RRIP_DESCRIPTOR, 'latin1');
  const source = Buffer.from(RRIP_SOURCE, 'latin1');
  const head = Buffer.from([id.length, descriptor.length, source.length, 1]);
  return entry('ER', Buffer.concat([head, id, descriptor, source]));
}

/**
 * A record's System Use entries split between the record itself and continuation areas. Each area lives in
 * one sector (Linux reads a continuation area from a single block) and ends with a CE when another follows.
 */
export interface PackedSystemUse {
  inline: Buffer[];
  /** Entries of each continuation area, in chain order (without the CE entries, which are added when written). */
  areas: Buffer[][];
}

function total(entries: Buffer[]): number {
  return entries.reduce((sum, e) => sum + e.length, 0);
}

/** Splits `entries` so that at most `room` bytes stay in the record; the rest goes to continuation areas. */
export function packSystemUse(entries: Buffer[], room: number): PackedSystemUse {
  if (total(entries) <= room) return { inline: entries, areas: [] };
  const inline: Buffer[] = [];
  let i = 0;
  let used = 0;
  while (i < entries.length && used + (entries[i] as Buffer).length <= room - CE_LENGTH) {
    used += (entries[i] as Buffer).length;
    inline.push(entries[i++] as Buffer);
  }
  const areas: Buffer[][] = [];
  while (i < entries.length) {
    const rest = entries.slice(i);
    if (total(rest) <= SECTOR_SIZE) {
      areas.push(rest);
      break;
    }
    const area: Buffer[] = [];
    let size = 0;
    while (i < entries.length && size + (entries[i] as Buffer).length <= SECTOR_SIZE - CE_LENGTH) {
      size += (entries[i] as Buffer).length;
      area.push(entries[i++] as Buffer);
    }
    areas.push(area);
  }
  return { inline, areas };
}

/** Length of continuation area `index`, with the CE that chains it to the next one. */
export function areaLength(packed: PackedSystemUse, index: number): number {
  const area = packed.areas[index] as Buffer[];
  return total(area) + (index < packed.areas.length - 1 ? CE_LENGTH : 0);
}

/** Where each continuation area was placed: sector and byte offset in it. */
export interface AreaLocation {
  sector: number;
  offset: number;
}

/** The bytes of the record's System Use field, with the CE pointing at the first area. */
export function inlineBytes(packed: PackedSystemUse, locations: AreaLocation[]): Buffer {
  if (packed.areas.length === 0) return Buffer.concat(packed.inline);
  const first = locations[0] as AreaLocation;
  return Buffer.concat([...packed.inline, ceEntry(first.sector, first.offset, areaLength(packed, 0))]);
}

/** The bytes of continuation area `index`, with the CE pointing at the next one. */
export function areaBytes(packed: PackedSystemUse, index: number, locations: AreaLocation[]): Buffer {
  const parts = [...(packed.areas[index] as Buffer[])];
  const next = locations[index + 1];
  if (next) parts.push(ceEntry(next.sector, next.offset, areaLength(packed, index + 1)));
  return Buffer.concat(parts);
}
