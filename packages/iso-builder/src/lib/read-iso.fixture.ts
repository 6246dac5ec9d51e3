/**
 * A small ISO 9660 reader for the unit specs (not part of the package): it walks both trees of an image in
 * memory, checks the structural rules the writer promises (records inside one sector, even lengths,
 * both-endian fields equal) and decodes the Rock Ridge entries it meets.
 */
const SECTOR = 2048;

export interface ReadEntry {
  path: string;
  identifier: string;
  extent: number;
  size: number;
  flags: number;
  date: number;
  rr: { name?: string; mode?: number; links?: number; uid?: number; gid?: number; target?: string; signatures: string[]; sl?: { flags: number; text: Buffer }[]; ce?: number[] };
}

export interface ReadImage {
  label: string;
  totalSectors: number;
  /** The primary root directory's extent and size. */
  root: { extent: number; size: number };
  primary: ReadEntry[];
  joliet: ReadEntry[];
  pathTables: { l: Buffer; m: Buffer; jl: Buffer; jm: Buffer };
  rootSignatures: string[];
}

function both32(buf: Buffer, at: number): number {
  const le = buf.readUInt32LE(at);
  if (le !== buf.readUInt32BE(at + 4)) throw new Error(`both-endian mismatch at ${at}`);
  return le;
}

function shortDate(buf: Buffer, at: number): number {
  return Date.UTC(1900 + (buf[at] as number), (buf[at + 1] as number) - 1, buf[at + 2], buf[at + 3], buf[at + 4], buf[at + 5]) / 1000;
}

function systemUse(image: Buffer, area: Buffer, out: ReadEntry['rr']): void {
  let at = 0;
  let name = '';
  while (at + 4 <= area.length) {
    const sig = area.toString('latin1', at, at + 2);
    const len = area[at + 2] as number;
    if (len < 4) break;
    out.signatures.push(sig);
    const body = area.subarray(at + 4, at + len);
    if (sig === 'NM') name += body.subarray(1).toString('utf8');
    if (sig === 'PX') {
      out.mode = both32(body, 0);
      out.links = both32(body, 8);
      out.uid = both32(body, 16);
      out.gid = both32(body, 24);
    }
    if (sig === 'SL') {
      // Component records, joined once all are read (they may go on in a continuation area).
      for (let p = 1; p < body.length; p += 2 + (body[p + 1] as number)) {
        (out.sl ??= []).push({ flags: body[p] as number, text: body.subarray(p + 2, p + 2 + (body[p + 1] as number)) });
      }
    }
    if (sig === 'CE') {
      const block = both32(body, 0);
      const offset = both32(body, 8);
      const length = both32(body, 16);
      if (offset + length > SECTOR) throw new Error('continuation area crosses a sector');
      (out.ce ??= []).push(block);
      systemUse(image, image.subarray(block * SECTOR + offset, block * SECTOR + offset + length), out);
    }
    at += len;
  }
  if (name) out.name = (out.name ?? '') + name;
}

/**
 * A link target from its SL components, as Linux joins them (fs/isofs/rock.c): a "/" after every component
 * that is not ROOT and not continued (RRIP 4.1.3.1 bit 0), except the last.
 */
function slTarget(components: { flags: number; text: Buffer }[]): string {
  const parts: Buffer[] = [];
  components.forEach((c, i) => {
    if (c.flags & 0x08) return void parts.push(Buffer.from('/'));
    parts.push(c.flags & 0x02 ? Buffer.from('.') : c.flags & 0x04 ? Buffer.from('..') : c.text);
    if (!(c.flags & 0x01) && i < components.length - 1) parts.push(Buffer.from('/'));
  });
  return Buffer.concat(parts).toString('utf8');
}

function walk(image: Buffer, extent: number, size: number, path: string, joliet: boolean, out: ReadEntry[], depth: number): void {
  if (depth > 64) throw new Error('directory loop');
  const dir = image.subarray(extent * SECTOR, extent * SECTOR + size);
  let at = 0;
  let index = 0;
  while (at < dir.length) {
    const len = dir[at] as number;
    if (len === 0) {
      at = (Math.floor(at / SECTOR) + 1) * SECTOR;
      continue;
    }
    if (len % 2 !== 0) throw new Error(`odd record length at ${path}`);
    if (Math.floor(at / SECTOR) !== Math.floor((at + len - 1) / SECTOR)) throw new Error(`record crosses a sector in ${path}`);
    const rec = dir.subarray(at, at + len);
    const idLen = rec[32] as number;
    const idBytes = rec.subarray(33, 33 + idLen);
    const identifier = joliet && index >= 2 ? idBytes.swap16().toString('utf16le') : idBytes.toString('latin1');
    if (joliet && index >= 2) idBytes.swap16();
    const entry: ReadEntry = {
      path: index < 2 ? path : `${path}/${identifier}`,
      identifier,
      extent: both32(rec, 2),
      size: both32(rec, 10),
      flags: rec[25] as number,
      date: shortDate(rec, 18),
      rr: { signatures: [] },
    };
    if (!joliet) systemUse(image, rec.subarray(33 + idLen + (idLen % 2 === 0 ? 1 : 0)), entry.rr);
    if (entry.rr.sl) entry.rr.target = slTarget(entry.rr.sl);
    if (index >= 2) {
      entry.path = `${path}/${entry.rr.name ?? identifier}`;
      out.push(entry);
      if (entry.flags & 0x02) walk(image, entry.extent, entry.size, entry.path, joliet, out, depth + 1);
    } else if (index === 0 && path === '') {
      out.push({ ...entry, path: '.' });
    }
    index++;
    at += len;
  }
}

export function readIso(image: Buffer): ReadImage {
  const pvd = image.subarray(16 * SECTOR, 17 * SECTOR);
  const svd = image.subarray(17 * SECTOR, 18 * SECTOR);
  if (pvd.toString('latin1', 1, 6) !== 'CD001' || pvd[0] !== 1) throw new Error('no primary volume descriptor');
  if (svd[0] !== 2 || svd.toString('latin1', 88, 91) !== '%/E') throw new Error('no Joliet descriptor');
  if (image[18 * SECTOR] !== 255) throw new Error('no terminator');
  const primary: ReadEntry[] = [];
  const joliet: ReadEntry[] = [];
  walk(image, both32(pvd, 158), both32(pvd, 166), '', false, primary, 0);
  walk(image, both32(svd, 158), both32(svd, 166), '', true, joliet, 0);
  const tableSize = both32(pvd, 132);
  const jTableSize = both32(svd, 132);
  const table = (sector: number, size: number): Buffer => image.subarray(sector * SECTOR, sector * SECTOR + size);
  return {
    label: pvd.toString('latin1', 40, 72).trimEnd(),
    root: { extent: both32(pvd, 158), size: both32(pvd, 166) },
    totalSectors: both32(pvd, 80),
    primary: primary.filter((e) => e.path !== '.'),
    joliet: joliet.filter((e) => e.path !== '.'),
    pathTables: {
      l: table(pvd.readUInt32LE(140), tableSize),
      m: table(pvd.readUInt32BE(148), tableSize),
      jl: table(svd.readUInt32LE(140), jTableSize),
      jm: table(svd.readUInt32BE(148), jTableSize),
    },
    rootSignatures: primary.find((e) => e.path === '.')?.rr.signatures ?? [],
  };
}
