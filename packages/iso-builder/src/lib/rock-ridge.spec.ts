import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  areaBytes,
  areaLength,
  CE_LENGTH,
  erEntry,
  inlineBytes,
  nmEntries,
  packSystemUse,
  plainEntriesLength,
  pxEntry,
  repeatedEntries,
  rockRidgeEntries,
  rrEntry,
  slEntries,
  spEntry,
  tfEntry,
  writePlainEntries,
  type RockRidgeFields,
} from './rock-ridge.js';

const sig = (b: Buffer) => b.toString('latin1', 0, 2);

describe('SUSP and RRIP entries', () => {
  it('SP has the check bytes of SUSP 5.3', () => {
    expect(spEntry().toString('hex')).toBe('53500701beef00');
  });
  it('RR carries its flags', () => {
    expect(rrEntry(0x89).toString('hex')).toBe('5252050189');
  });
  it('PX is the 36-byte form with both-endian fields', () => {
    const px = pxEntry(0o100755, 1, 1000, 100);
    expect(px).toHaveLength(36);
    expect(px.readUInt32LE(4)).toBe(0o100755);
    expect(px.readUInt32BE(8)).toBe(0o100755);
    expect(px.readUInt32LE(20)).toBe(1000);
    expect(px.readUInt32LE(28)).toBe(100);
  });
  it('TF has modify, access and attribute times', () => {
    const tf = tfEntry(0, 0, 0);
    expect(tf).toHaveLength(26);
    expect(tf[4]).toBe(0x0e);
  });
  it('NM splits names longer than one entry with CONTINUE', () => {
    expect(nmEntries('post-install')).toHaveLength(1);
    const long = nmEntries('n'.repeat(255));
    expect(long.map((e) => e[4])).toEqual([1, 0]);
    expect(Buffer.concat(long.map((e) => e.subarray(5))).toString()).toBe('n'.repeat(255));
    expect(long.every((e) => e.length === e[2] && e.length <= 255)).toBe(true);
  });
  it('ER identifies RRIP_1991A as genisoimage writes it (237 bytes)', () => {
    const er = erEntry();
    expect(er).toHaveLength(237);
    expect(er.toString('latin1', 8, 18)).toBe('RRIP_1991A');
  });
});

/** The component records of one SL entry: flags and text (latin1: bytes as they are). */
function records(entry: Buffer): { flags: number; text: string }[] {
  const out: { flags: number; text: string }[] = [];
  for (let p = 5; p < entry.length; p += 2 + (entry[p + 1] as number)) out.push({ flags: entry[p] as number, text: entry.toString('latin1', p + 2, p + 2 + (entry[p + 1] as number)) });
  return out;
}

/** Linux, fs/isofs/rock.c get_symlink_chunk: "/" after a component neither ROOT nor continued; at an entry's end, only if the entry continues. */
function linuxReads(entries: Buffer[]): string {
  let out = '';
  for (const e of entries) {
    const comps = records(e);
    comps.forEach((c, i) => {
      const root = (c.flags & ~1) === 8;
      out += root ? '/' : (c.flags & ~1) === 2 ? '.' : (c.flags & ~1) === 4 ? '..' : c.text;
      const lastOfEntry = i === comps.length - 1;
      if (!root && !(c.flags & 1) && (!lastOfEntry || (e[4] as number) & 1)) out += '/';
    });
  }
  return out;
}

/** libarchive, parse_rockridge_SL1: a separator before each component of an entry but the first, none after ROOT or a continued one. */
function libarchiveReads(entries: Buffer[]): string {
  let out = '';
  for (const e of entries) {
    let separator = '';
    for (const c of records(e)) {
      out += separator;
      separator = '/';
      if (c.flags === 0) out += c.text;
      else if (c.flags === 1) {
        out += c.text;
        separator = '';
      } else if (c.flags === 2) out += '.';
      else if (c.flags === 4) out += '..';
      else if (c.flags === 8) {
        out += '/';
        separator = '';
      }
    }
  }
  return out;
}

/** pycdlib, RRSLRecord.name and RockRidge.symlink_path: components joined with "/" (ROOT starts over), entries joined unless continued. */
function pycdlibReads(entries: Buffer[]): string {
  const out: string[] = [];
  let saved = '';
  for (const e of entries) {
    let list: string[] = [];
    let continued = false;
    for (const c of records(e)) {
      let name = c.flags & 2 ? '.' : c.flags & 4 ? '..' : c.flags & 8 ? '/' : c.text;
      if (name === '/') {
        list = [];
        continued = false;
        name = '';
      }
      if (!continued) list.push(name);
      else list[list.length - 1] += name;
      continued = (c.flags & 1) === 1;
    }
    saved += list.join('/');
    if (!continued) {
      out.push(saved);
      saved = '';
    }
  }
  return out.join('/');
}

describe('SL (RRIP 4.1.3)', () => {
  const components = (entries: Buffer[]) => {
    const out: [number, string][] = [];
    for (const e of entries) {
      for (let p = 5; p < e.length; p += 2 + (e[p + 1] as number)) out.push([e[p] as number, e.toString('utf8', p + 2, p + 2 + (e[p + 1] as number))]);
    }
    return out;
  };
  it('encodes relative links with parent and current components', () => {
    expect(components(slEntries('../a/./b'))).toEqual([[4, ''], [0, 'a'], [2, ''], [0, 'b']]);
  });
  it('encodes absolute links with a ROOT component', () => {
    expect(components(slEntries('/etc/hosts'))).toEqual([[8, ''], [0, 'etc'], [0, 'hosts']]);
  });
  it('keeps every component, empty ones included: "a//b", "a/b/", "//etc", "/"', () => {
    expect(components(slEntries('a//b'))).toEqual([[0, 'a'], [0, ''], [0, 'b']]);
    expect(components(slEntries('a/b/'))).toEqual([[0, 'a'], [0, 'b'], [0, '']]);
    expect(components(slEntries('//etc'))).toEqual([[8, ''], [0, ''], [0, 'etc']]);
    expect(components(slEntries('/'))).toEqual([[8, ''], [0, '']]);
    expect(components(slEntries('./'))).toEqual([[2, ''], [0, '']]);
  });

  it('reads back byte for byte, as Linux, libarchive and pycdlib join components, for any target', () => {
    const part = fc.oneof(
      fc.constantFrom('', '.', '..'),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }).filter((p) => !p.includes('/')),
      fc.string({ unit: fc.constantFrom('x', 'é', '😀'), minLength: 100, maxLength: 400 }),
    );
    const target = fc.array(part, { minLength: 1, maxLength: 12 }).map((parts) => parts.join('/'));
    fc.assert(
      fc.property(target, (t) => {
        const entries = slEntries(t);
        const want = Buffer.from(t, 'utf8').toString('latin1');
        expect(entries.every((e) => e.length <= 255 && e[2] === e.length && sig(e) === 'SL')).toBe(true);
        expect(entries.map((e) => e[4])).toEqual([...entries.slice(1).map(() => 1), 0]);
        expect({ linux: linuxReads(entries), libarchive: libarchiveReads(entries), pycdlib: pycdlibReads(entries) }).toEqual({ linux: want, libarchive: want, pycdlib: want });
      }),
      { numRuns: 500 },
    );
  });

  it('splits long targets over several SL entries flagged CONTINUE', () => {
    const target = Array.from({ length: 20 }, (_, i) => `component-${i}-${'z'.repeat(30)}`).join('/');
    const entries = slEntries(target);
    expect(entries.length).toBeGreaterThan(1);
    expect(entries.map((e) => e[4])).toEqual([...entries.slice(1).map(() => 1), 0]);
    expect(entries.every((e) => e.length <= 255 && sig(e) === 'SL')).toBe(true);
  });
});

describe('packSystemUse', () => {
  const entries = [rrEntry(0x89), ...nmEntries('x'.repeat(200)), pxEntry(0o100644, 1, 0, 0), tfEntry(0, 0, 0)];
  it('keeps everything in the record when it fits', () => {
    const packed = packSystemUse(entries.slice(0, 1), 100);
    expect(packed.areas).toHaveLength(0);
  });
  it('moves what does not fit to a continuation area behind a CE', () => {
    const packed = packSystemUse(entries, 150);
    expect(packed.areas).toHaveLength(1);
    const inline = inlineBytes(packed, [{ sector: 40, offset: 100 }]);
    expect(inline.length).toBeLessThanOrEqual(150);
    const ce = inline.subarray(inline.length - CE_LENGTH);
    expect(sig(ce)).toBe('CE');
    expect(ce.readUInt32LE(4)).toBe(40);
    expect(ce.readUInt32LE(12)).toBe(100);
    expect(ce.readUInt32LE(20)).toBe(areaLength(packed, 0));
  });
  it('chains continuation areas that do not fit in one sector', () => {
    const many = Array.from({ length: 30 }, () => slEntries('q'.repeat(200))[0] as Buffer);
    const packed = packSystemUse(many, 100);
    expect(packed.areas.length).toBeGreaterThan(2);
    const locations = packed.areas.map((_, i) => ({ sector: 50 + i, offset: 0 }));
    for (let i = 0; i < packed.areas.length; i++) {
      const bytes = areaBytes(packed, i, locations);
      expect(bytes.length).toBe(areaLength(packed, i));
      expect(bytes.length).toBeLessThanOrEqual(2048);
      expect(sig(bytes.subarray(bytes.length - CE_LENGTH)) === 'CE').toBe(i < packed.areas.length - 1);
    }
  });
});

describe('writePlainEntries (the fast encoder)', () => {
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const time = fc.integer({ min: -2_300_000_000, max: 6_000_000_000 }); // both sides of the 7-byte date's range
  // Names that fit one NM entry (the fast encoder's case), or none ("." and "..").
  const name = fc.oneof(fc.constant(null), fc.string({ unit: 'binary', minLength: 1, maxLength: 120 }).filter((n) => Buffer.byteLength(n) <= 250));
  const fields: fc.Arbitrary<RockRidgeFields> = fc.record({
    name,
    mode: u32,
    links: u32,
    attrs: fc.record({ uid: u32, gid: u32, mtime: time, atime: time, ctime: time }),
  });

  it('gives the bytes of RR, NM, PX and TF from the entry encoders, also when it copies repeated PX and TF', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fields, fields.map((f) => ({ ...f, name: f.name === null ? 'x' : f.name }))), { minLength: 1, maxLength: 6 }), fc.boolean(), (records, repeat) => {
        // Records written one after another into one buffer with one `last`, as a directory is rendered; with
        // `repeat`, every record is written twice so that the second copies PX and TF from the first.
        const all = repeat ? records.flatMap((r) => [r, r]) : records;
        const buf = Buffer.alloc(all.length * 300);
        const last = repeatedEntries();
        let at = 0;
        for (const r of all) {
          const nameBytes = r.name === null ? 0 : Buffer.byteLength(r.name);
          const end = writePlainEntries(buf, at, r.name, nameBytes, r.mode, r.links, r.attrs, last);
          const expected = Buffer.concat(rockRidgeEntries(r));
          expect(buf.subarray(at, end).equals(expected)).toBe(true);
          expect(end - at).toBe(plainEntriesLength(r.name === null ? null : nameBytes));
          at = end;
        }
      }),
      { numRuns: 500 },
    );
  });
});
