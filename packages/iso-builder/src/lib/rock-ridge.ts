/**
 * System Use entries of SUSP (IEEE P1281, "System Use Sharing Protocol" 1.12) and of Rock Ridge
 * (IEEE P1282, RRIP 1.12, identified as "RRIP_1991A" as genisoimage does), and how they are packed
 * into a directory record's System Use field and continuation areas.
 */
import { SECTOR_SIZE, writeBoth32, writeShortDate } from './encoding.js';

/**
 * SUSP 4.1: every entry starts with a 2-byte signature, a 1-byte length and a 1-byte version (1); the body
 * is written in place. allocUnsafe takes small buffers from Node's pool, so tens of thousands of entries
 * cost no separate allocations; every byte is written below.
 */
function entry(signature: string, bodyLength: number): Buffer {
  const out = Buffer.allocUnsafe(4 + bodyLength);
  out[0] = signature.charCodeAt(0);
  out[1] = signature.charCodeAt(1);
  out[2] = out.length;
  out[3] = 1;
  return out;
}

/** SUSP 5.3: SP, first entry of the root's "." record: check bytes BE EF, LEN_SKP 0. */
export function spEntry(): Buffer {
  const out = entry('SP', 3);
  out[4] = 0xbe;
  out[5] = 0xef;
  out[6] = 0;
  return out;
}

/** Flags of the RR entry (RRIP 1.09 4.1.x, written by genisoimage; Linux stops reading Rock Ridge without it). */
export const RR_PX = 0x01;
export const RR_SL = 0x04;
export const RR_NM = 0x08;
export const RR_TF = 0x80;

export function rrEntry(flags: number): Buffer {
  const out = entry('RR', 1);
  out[4] = flags;
  return out;
}

/** RRIP 4.1.1: PX, POSIX file mode, links, user and group, each both-endian 32-bit (36-byte form). */
export function pxEntry(mode: number, links: number, uid: number, gid: number): Buffer {
  const out = entry('PX', 32);
  writeBoth32(out, 4, mode >>> 0);
  writeBoth32(out, 12, links >>> 0);
  writeBoth32(out, 20, uid >>> 0);
  writeBoth32(out, 28, gid >>> 0);
  return out;
}

/** RRIP 4.1.6: TF, with modify (bit 1), access (bit 2) and attribute-change (bit 3) times in the 7-byte form. */
export function tfEntry(mtime: number, atime: number, ctime: number): Buffer {
  const out = entry('TF', 1 + 3 * 7);
  out[4] = 0x0e;
  writeShortDate(out, 5, mtime);
  writeShortDate(out, 12, atime);
  writeShortDate(out, 19, ctime);
  return out;
}

/** Length of RR + NM + PX + TF for a name of `nameBytes` UTF-8 bytes (null: no NM), when NM fits one entry. */
export function plainEntriesLength(nameBytes: number | null): number {
  return 5 + (nameBytes === null ? 0 : 5 + nameBytes) + 36 + 26;
}

/** Length of PX + TF. */
const PX_TF_LENGTH = 36 + 26;

/**
 * The PX and TF entries written last into one buffer, and their values. Most records of a tree repeat them
 * (one epoch, one owner, a few modes): copying those 62 bytes in one call costs less than encoding them again.
 */
export interface RepeatedEntries {
  at: number;
  mode: number;
  links: number;
  uid: number;
  gid: number;
  mtime: number;
  atime: number;
  ctime: number;
}

export function repeatedEntries(): RepeatedEntries {
  return { at: -1, mode: 0, links: 0, uid: 0, gid: 0, mtime: 0, atime: 0, ctime: 0 };
}

/** What the Rock Ridge entries of one record say (RRIP 4.1.1 PX, 4.1.3 SL, 4.1.4 NM, 4.1.6 TF). */
export interface RockRidgeFields {
  /** NM, the real name; null for the "." and ".." records, which have none. */
  name: string | null;
  /** PX file mode: type bits and permission bits. */
  mode: number;
  /** PX file links. */
  links: number;
  /** PX user and group, TF times (seconds). */
  attrs: { uid: number; gid: number; mtime: number; atime: number; ctime: number };
  /** SL, the target of a symbolic link. */
  target?: string;
}

/**
 * The entries of one record, in the order genisoimage writes them: RR (flags of what follows), NM, PX, SL,
 * TF. The plain encoding, one buffer per entry; `writePlainEntries` is the fast one for the common case.
 */
export function rockRidgeEntries(fields: RockRidgeFields): Buffer[] {
  let flags = RR_PX | RR_TF;
  const nm = fields.name === null ? [] : nmEntries(fields.name);
  if (fields.name !== null) flags |= RR_NM;
  const a = fields.attrs;
  const px = pxEntry(fields.mode, fields.links, a.uid, a.gid);
  const tf = tfEntry(a.mtime, a.atime, a.ctime);
  const sl = fields.target === undefined ? [] : slEntries(fields.target);
  if (sl.length > 0) flags |= RR_SL;
  return [rrEntry(flags), ...nm, px, ...sl, tf];
}

/**
 * Writes RR, NM, PX and TF straight into `buf` at `offset`: the same bytes as `rockRidgeEntries` without a
 * target and with a name that fits one NM entry (the common case of a file or directory whose entries fit its
 * record; rock-ridge.spec.ts proves the two agree), without a buffer per entry. Returns the end offset. With
 * `last`, PX and TF equal to the ones written last into `buf` are copied from there.
 */
export function writePlainEntries(buf: Buffer, offset: number, name: string | null, nameBytes: number, mode: number, links: number, attrs: RockRidgeFields['attrs'], last?: RepeatedEntries): number {
  let at = offset;
  entryHead(buf, at, 0x52, 0x52, 5); // RR
  buf[at + 4] = RR_PX | RR_TF | (name === null ? 0 : RR_NM);
  at += 5;
  if (name !== null) {
    entryHead(buf, at, 0x4e, 0x4d, 5 + nameBytes); // NM
    buf[at + 4] = 0;
    if (nameBytes === name.length) for (let i = 0; i < nameBytes; i++) buf[at + 5 + i] = name.charCodeAt(i);
    else buf.write(name, at + 5, 'utf8');
    at += 5 + nameBytes;
  }
  const { uid, gid, mtime, atime, ctime } = attrs;
  if (
    last !== undefined &&
    last.at >= 0 &&
    last.mode === mode &&
    last.links === links &&
    last.uid === uid &&
    last.gid === gid &&
    last.mtime === mtime &&
    last.atime === atime &&
    last.ctime === ctime
  ) {
    buf.copyWithin(at, last.at, last.at + PX_TF_LENGTH);
    return at + PX_TF_LENGTH;
  }
  if (last !== undefined) {
    last.at = at;
    last.mode = mode;
    last.links = links;
    last.uid = uid;
    last.gid = gid;
    last.mtime = mtime;
    last.atime = atime;
    last.ctime = ctime;
  }
  entryHead(buf, at, 0x50, 0x58, 36); // PX
  writeBoth32(buf, at + 4, mode >>> 0);
  writeBoth32(buf, at + 12, links >>> 0);
  writeBoth32(buf, at + 20, uid >>> 0);
  writeBoth32(buf, at + 28, gid >>> 0);
  at += 36;
  entryHead(buf, at, 0x54, 0x46, 26); // TF
  buf[at + 4] = 0x0e;
  writeShortDate(buf, at + 5, mtime);
  writeShortDate(buf, at + 12, atime);
  writeShortDate(buf, at + 19, ctime);
  return at + 26;
}

/** SUSP 4.1 header written in place: signature bytes, length, version 1 (no closure or string per entry). */
function entryHead(buf: Buffer, at: number, signature0: number, signature1: number, length: number): void {
  buf[at] = signature0;
  buf[at + 1] = signature1;
  buf[at + 2] = length;
  buf[at + 3] = 1;
}

/** Largest body of one entry: the length field is one byte. */
const MAX_BODY = 255 - 4;

/** RRIP 4.1.4: NM, the real name, split into entries flagged CONTINUE (bit 0) when longer than one entry holds. */
export function nmEntries(name: string): Buffer[] {
  const room = MAX_BODY - 1;
  const length = Buffer.byteLength(name, 'utf8');
  if (length <= room) {
    const out = entry('NM', 1 + length);
    out[4] = 0;
    out.write(name, 5, 'utf8');
    return [out];
  }
  const bytes = Buffer.from(name, 'utf8');
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += room) {
    const piece = bytes.subarray(at, at + room);
    const nm = entry('NM', 1 + piece.length);
    nm[4] = at + room < bytes.length ? 1 : 0;
    piece.copy(nm, 5);
    out.push(nm);
  }
  return out;
}

/** RRIP 4.1.3.1: component flags. */
const SL_CONTINUE = 0x01;
const SL_CURRENT = 0x02;
const SL_PARENT = 0x04;
const SL_ROOT = 0x08;

/** One component of a link target: its flags (ROOT, CURRENT, PARENT or none) and its text. */
interface SlComponent {
  flags: number;
  text: Buffer;
}

const NO_TEXT = Buffer.alloc(0);

/**
 * The components of a link target, byte for byte (RRIP 4.1.3.1): ROOT for a leading "/", CURRENT and PARENT
 * for "." and "..", every other part as text, an empty one included: "a//b" is a, "", b and "a/b/" ends
 * with an empty component, as "/" is ROOT and an empty component. Linux, libarchive and pycdlib put a "/"
 * between two components (none after ROOT), so each reads back exactly the target written.
 */
function slComponents(target: string): SlComponent[] {
  const out: SlComponent[] = [];
  let rest = target;
  if (rest.startsWith('/')) {
    out.push({ flags: SL_ROOT, text: NO_TEXT });
    rest = rest.slice(1);
  }
  for (const part of rest.split('/')) {
    if (part === '.') out.push({ flags: SL_CURRENT, text: NO_TEXT });
    else if (part === '..') out.push({ flags: SL_PARENT, text: NO_TEXT });
    else out.push({ flags: 0, text: Buffer.from(part, 'utf8') });
  }
  return out;
}

/** A component record (RRIP 4.1.3.1): flags, length, content. */
function componentRecord(flags: number, text: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + text.length);
  out[0] = flags;
  out[1] = text.length;
  text.copy(out, 2);
  return out;
}

/**
 * RRIP 4.1.3: SL entries of a link target; an entry flagged CONTINUE (bit 0) is followed by another SL of the
 * same link. Where one entry ends and the next begins, the component there is split, its first piece
 * (possibly empty) flagged CONTINUE (4.1.3.1 bit 0): readers disagree on what lies between two SL entries
 * (Linux and pycdlib put a "/" there unless the last component continues; libarchive never does), and agree
 * on a continued component. "." and ".." split there are written as text, which every reader reads alike.
 */
export function slEntries(target: string): Buffer[] {
  const entries: Buffer[][] = [];
  let records: Buffer[] = [];
  let room = MAX_BODY - 1; // after the entry's flags byte
  const components = slComponents(target);
  components.forEach((component, i) => {
    const last = i === components.length - 1;
    let { flags, text } = component;
    // A whole component goes in if it leaves room for the header of a continued piece of the next one.
    while (2 + text.length > room - (last ? 0 : 2)) {
      if (flags === SL_CURRENT || flags === SL_PARENT) {
        text = Buffer.from(flags === SL_CURRENT ? '.' : '..', 'latin1');
        flags = 0;
        continue;
      }
      const piece = Math.min(text.length, room - 2);
      records.push(componentRecord(SL_CONTINUE, text.subarray(0, piece)));
      text = text.subarray(piece);
      entries.push(records);
      records = [];
      room = MAX_BODY - 1;
    }
    records.push(componentRecord(flags, text));
    room -= 2 + text.length;
  });
  entries.push(records);
  return entries.map((group, i) => {
    const body = Buffer.concat([Buffer.from([i < entries.length - 1 ? 1 : 0]), ...group]);
    const sl = entry('SL', body.length);
    body.copy(sl, 4);
    return sl;
  });
}

/** SUSP 5.1: CE, where the System Use continues: block, offset in it, length, each both-endian 32-bit. */
export const CE_LENGTH = 28;
export function ceEntry(block: number, offset: number, length: number): Buffer {
  const out = entry('CE', 24);
  writeBoth32(out, 4, block);
  writeBoth32(out, 12, offset);
  writeBoth32(out, 20, length);
  return out;
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
  const body = Buffer.concat([Buffer.from([id.length, descriptor.length, source.length, 1]), id, descriptor, source]);
  const er = entry('ER', body.length);
  body.copy(er, 4);
  return er;
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
