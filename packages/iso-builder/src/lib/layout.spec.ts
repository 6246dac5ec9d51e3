import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { APPLICATION_ID, layoutTree } from './build.js';
import { fileMapTree, type FileMapEntry } from './file-map.js';
import { IsoBuilderError } from './errors.js';
import { computeLayout, MAX_EXTENT_BYTES, extentSizes, type Layout } from './layout.js';
import { readIso } from './read-iso.fixture.js';
import type { Attributes, DirectoryNode, FileNode } from './tree.js';
import { metadataChunks } from './writer.js';

const EPOCH = 1_700_000_000;

/** The metadata sectors as the writer writes them (with the volume descriptors). */
function metadataOf(layout: Layout): Buffer {
  const out = Buffer.alloc(layout.metadata.length);
  for (const { chunk, position } of metadataChunks(layout)) chunk.copy(out, position);
  return out;
}

/** The image bytes of a layout whose files are all in memory (metadata, then data, then padding). */
function image(tree: DirectoryNode, options = {}): Buffer {
  const layout = layoutTree(tree, { epoch: EPOCH, ...options });
  const out = Buffer.alloc(layout.totalSectors * 2048);
  metadataOf(layout).copy(out, 0);
  for (const f of layout.files) if (f.data.kind === 'buffer') f.data.buffer.copy(out, f.sector * 2048);
  return out;
}

describe('computeLayout', () => {
  const tree = fileMapTree(
    {
      'common/network': 'GATEWAY=192.0.2.1\n',
      'common/routes': 'up route add -net 198.51.100.0 netmask 255.255.255.0 dev eth0\n',
      'post-install': { data: '#!/bin/sh\necho hi\n', mode: 0o755 },
      'A Long Mixed-Case Name.with.dots.conf': 'x',
      'été/ünïcode.txt': 'u',
      'link-to-post': { symlink: '../post-install' },
      'empty-dir': { directory: true },
      'empty-file': '',
    },
    EPOCH,
  );

  it('writes both trees with real names, modes and link targets', () => {
    const iso = readIso(image(tree));
    expect(iso.label).toBe('CONTEXT');
    const byName = new Map(iso.primary.map((e) => [e.path.replace(/^\//, ''), e]));
    expect([...byName.keys()].sort()).toEqual(
      ['A Long Mixed-Case Name.with.dots.conf', 'common', 'common/network', 'common/routes', 'empty-dir', 'empty-file', 'link-to-post', 'post-install', 'été', 'été/ünïcode.txt'].sort(),
    );
    expect(byName.get('post-install')?.rr.mode).toBe(0o100755);
    expect(byName.get('post-install')?.identifier).toBe('POST_INS.;1');
    expect(byName.get('link-to-post')?.rr.target).toBe('../post-install');
    expect(byName.get('link-to-post')?.rr.mode).toBe(0o120777);
    expect(byName.get('common')?.rr.links).toBe(2);
    expect(iso.joliet.map((e) => e.path.replace(/^\//, '')).sort()).toEqual([...byName.keys()].sort());
  });

  it('puts SP first and the RRIP_1991A ER (through a CE) in the root "." record', () => {
    const iso = readIso(image(tree));
    expect(iso.rootSignatures[0]).toBe('SP');
    expect(iso.rootSignatures).toContain('CE');
    expect(iso.rootSignatures).toContain('ER');
  });

  it('dates every record with the epoch', () => {
    const iso = readIso(image(tree));
    expect(new Set(iso.primary.map((e) => e.date))).toEqual(new Set([EPOCH]));
  });

  it('orders path tables by level, parent number and identifier, L and M alike', () => {
    const deep = fileMapTree({ 'b/z/f': '1', 'a/y/f': '2', 'a/x/f': '3', 'c/f': '4' }, EPOCH);
    const { l, m } = readIso(image(deep)).pathTables;
    const records: [string, number][] = [];
    for (let at = 0; at < l.length; ) {
      const len = l[at] as number;
      records.push([l.toString('latin1', at + 8, at + 8 + len), l.readUInt16LE(at + 6)]);
      expect(m.readUInt16BE(at + 6)).toBe(l.readUInt16LE(at + 6));
      expect(m.readUInt32BE(at + 2)).toBe(l.readUInt32LE(at + 2));
      at += 8 + len + (len % 2);
    }
    expect(records).toEqual([['\0', 1], ['A', 1], ['B', 1], ['C', 1], ['X', 2], ['Y', 2], ['Z', 3]]);
  });

  it('gives the same bytes whatever order the entries come in', () => {
    const entries: [string, string][] = Array.from({ length: 50 }, (_, i) => [`dir${i % 5}/file-${i}.txt`, `${i}`]);
    const a = image(fileMapTree(entries, EPOCH));
    const b = image(fileMapTree([...entries].reverse(), EPOCH));
    expect(a.equals(b)).toBe(true);
  });

  it('keeps records inside sectors and moves long names to continuation areas', () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 300; i++) many[`${String(i).padStart(3, '0')}-${'n'.repeat(200)}`] = 'x';
    many[`${'é'.repeat(127)}`] = 'x'; // 254 bytes of UTF-8
    const iso = readIso(image(fileMapTree(many, EPOCH))); // the reader throws on a record across sectors
    expect(iso.primary).toHaveLength(301);
    expect(iso.primary.every((e) => e.rr.signatures.includes('CE'))).toBe(true);
    expect(iso.primary.map((e) => e.rr.name).sort()).toEqual(Object.keys(many).sort());
  });

  it('rationalizes owners and modes like genisoimage -r', () => {
    const t = fileMapTree({ f: { data: 'x', mode: 0o4750 }, g: { data: 'y', mode: 0o600 } }, EPOCH);
    const iso = readIso(image(t, { ownership: 'rationalize' }));
    expect(iso.primary.map((e) => e.rr.mode)).toEqual([0o100555, 0o100444]);
  });

  it('refuses directories below level 8 and names them, unless allowed', () => {
    const ok = fileMapTree({ '1/2/3/4/5/6/7/f': 'x' }, EPOCH);
    expect(() => image(ok)).not.toThrow();
    const deep = fileMapTree({ '1/2/3/4/5/6/7/8/f': 'x' }, EPOCH);
    expect(() => image(deep)).toThrow(expect.objectContaining({ code: 'ISO_TOO_DEEP', where: '1/2/3/4/5/6/7/8', paths: ['1/2/3/4/5/6/7/8'] }));
    expect(() => image(deep)).toThrow(IsoBuilderError);
    expect(() => image(deep)).toThrow(/"1\/2\/3\/4\/5\/6\/7\/8"/);
    const iso = readIso(image(deep, { deepDirectories: 'allow' }));
    expect(iso.primary.map((e) => e.path)).toContain('/1/2/3/4/5/6/7/8/f');
  });

  it('splits files of 4 GiB and more into extents flagged multi-extent (layout only, no data)', () => {
    expect(extentSizes(MAX_EXTENT_BYTES)).toEqual([MAX_EXTENT_BYTES]);
    const size = 2 * MAX_EXTENT_BYTES + 5;
    expect(extentSizes(size)).toEqual([MAX_EXTENT_BYTES, MAX_EXTENT_BYTES, 5]);
    const big: FileNode = { kind: 'file', name: 'huge.img', size, attrs: { mode: 0o644, uid: 0, gid: 0, mtime: 0, atime: 0, ctime: 0 }, data: { kind: 'path', path: '/nonexistent' } };
    const root: DirectoryNode = { kind: 'directory', name: '', attrs: big.attrs, children: [big] };
    const layout = layoutTree(root, { epoch: EPOCH });
    const iso = readIso(Buffer.concat([metadataOf(layout), Buffer.alloc(150 * 2048)]));
    const parts = iso.primary.filter((e) => e.rr.name === 'huge.img');
    expect(parts.map((e) => e.size)).toEqual([MAX_EXTENT_BYTES, MAX_EXTENT_BYTES, 5]);
    expect(parts.map((e) => e.flags & 0x80)).toEqual([0x80, 0x80, 0]);
    expect((parts[1]?.extent ?? 0) - (parts[0]?.extent ?? 0)).toBe(MAX_EXTENT_BYTES / 2048);
    expect(layout.totalSectors).toBe((parts[0]?.extent ?? 0) + Math.ceil(size / 2048) + 150);
  });
});

describe('what sequential readers and hard links need (issue 13)', () => {
  it("places each directory's continuation areas right after it, before any other directory", () => {
    const tree = fileMapTree(
      {
        [`${'d'.repeat(190)}/${'e'.repeat(230)}/f`]: 'x',
        [`${'d'.repeat(190)}/g`]: 'y',
        'sibling/h': 'z',
        [`${'f'.repeat(250)}/i`]: 'w',
        [`${'g'.repeat(200)}.txt`]: 'v',
        'zz/j': 'u',
      },
      EPOCH,
    );
    const iso = readIso(image(tree));
    const dirs = new Map<string, { extent: number; size: number }>([['', iso.root]]);
    for (const e of iso.primary) if (e.flags & 2) dirs.set(e.path, e);
    const starts = [...dirs.values()].map((d) => d.extent).sort((a, b) => a - b);
    const withAreas = iso.primary.filter((e) => e.rr.ce);
    expect(withAreas.length).toBeGreaterThanOrEqual(4);
    for (const e of withAreas) {
      const parent = dirs.get(e.path.slice(0, e.path.lastIndexOf('/'))) as { extent: number; size: number };
      const end = parent.extent + parent.size / 2048;
      const next = starts.find((s) => s > parent.extent) ?? Infinity;
      for (const block of e.rr.ce as number[]) {
        expect(block, e.path).toBeGreaterThanOrEqual(end);
        expect(block, e.path).toBeLessThan(next);
      }
    }
    expect(iso.primary.map((e) => e.path.split('/').pop())).toContain('e'.repeat(230));
  });

  const attrs: Attributes = { mode: 0o644, uid: 0, gid: 0, mtime: EPOCH, atime: EPOCH, ctime: EPOCH };
  const file = (name: string, ino: number, size = 3, more: Partial<Attributes> = {}): FileNode => ({
    kind: 'file',
    name,
    attrs: { ...attrs, ...more },
    size,
    data: { kind: 'path', path: `/nonexistent/${name}`, dev: 7, ino },
    links: 2,
  });

  it('writes the data of files of one inode once, every name pointing at it, with PX counting the names', () => {
    const sub: DirectoryNode = { kind: 'directory', name: 'sub', attrs: { ...attrs, mode: 0o755 }, children: [file('c', 42), file('empty-2', 9, 0)] };
    const root: DirectoryNode = { kind: 'directory', name: '', attrs: { ...attrs, mode: 0o755 }, children: [file('a', 42), file('b', 42), file('alone', 43), file('empty-1', 9, 0), sub] };
    const layout = layoutTree(root, { epoch: EPOCH });
    expect(layout.files.map((f) => f.path)).toEqual(['a', 'alone']);
    const iso = readIso(Buffer.concat([metadataOf(layout), Buffer.alloc((layout.totalSectors * 2048) - layout.metadata.length)]));
    const byName = new Map(iso.primary.map((e) => [e.path, e]));
    for (const path of ['/a', '/b', '/sub/c']) expect({ path, extent: byName.get(path)?.extent, links: byName.get(path)?.rr.links }).toEqual({ path, extent: layout.files[0]?.sector, links: 3 });
    expect(byName.get('/alone')?.rr.links).toBe(1);
    expect(byName.get('/empty-1')?.rr.links).toBe(2);
    expect(byName.get('/sub/empty-2')?.extent).toBe(byName.get('/empty-1')?.extent);
    const joliet = new Map(iso.joliet.map((e) => [e.path, e.extent]));
    expect([joliet.get('/a'), joliet.get('/b'), joliet.get('/sub/c')]).toEqual([layout.files[0]?.sector, layout.files[0]?.sector, layout.files[0]?.sector]);
  });

  it('keeps files apart whose inode numbers match but whose size, times or link count do not (a number rounded or reused)', () => {
    const root: DirectoryNode = { kind: 'directory', name: '', attrs, children: [file('a', 42), file('b', 42, 4), file('c', 42, 3, { mtime: EPOCH + 1 }), { ...file('d', 42), links: 1 }] };
    const layout = layoutTree(root, { epoch: EPOCH });
    expect(layout.files.map((f) => f.path)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('the fast Rock Ridge encoder', () => {
  // Names of one to 255 UTF-8 bytes (short ones mostly, long ones that need continuation areas too).
  const name = fc.oneof(
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
    fc.string({ unit: fc.constantFrom('a', 'é', '日', '😀', '.', ' '), minLength: 60, maxLength: 120 }),
  ).filter((n) => n !== '.' && n !== '..' && !n.includes('/') && !n.includes('\0') && Buffer.byteLength(n) <= 255);
  const time = fc.integer({ min: 0, max: 4_102_444_800 });
  const target = fc
    .array(fc.oneof(fc.constantFrom('', '.', '..'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).filter((c) => !c.includes('/')), fc.string({ unit: fc.constantFrom('l', 'ü'), minLength: 100, maxLength: 300 })), { minLength: 1, maxLength: 6 })
    .map((parts) => parts.join('/'))
    .filter((t) => t !== '' && !t.includes('\0'));
  const entry: fc.Arbitrary<[string, FileMapEntry]> = fc.tuple(
    fc.array(name, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/')),
    fc.oneof(
      fc.record({ data: fc.string({ maxLength: 4 }), mode: fc.integer({ min: 0, max: 0o7777 }), mtime: time }),
      fc.record({ directory: fc.constant(true as const), mode: fc.integer({ min: 0, max: 0o7777 }), mtime: time }),
      fc.record({ symlink: target, mtime: time }),
    ),
  );

  it('writes the same bytes as the entry encoders, for any names, modes, times and link targets', () => {
    fc.assert(
      fc.property(fc.uniqueArray(entry, { selector: ([path]) => path, minLength: 1, maxLength: 25 }), fc.constantFrom<'keep' | 'rationalize'>('keep', 'rationalize'), (entries, ownership) => {
        let tree: DirectoryNode;
        try {
          tree = fileMapTree(entries, EPOCH);
        } catch {
          return; // a path both a file and a directory's parent: not a tree
        }
        const options = { label: 'CONTEXT', policy: { epoch: null, ownership }, volumeDate: EPOCH, deepDirectories: 'allow' as const, applicationId: APPLICATION_ID };
        const fast = computeLayout(tree, { ...options, encoder: 'fast' });
        const plain = computeLayout(tree, { ...options, encoder: 'entries' });
        expect(fast.metadata.equals(plain.metadata)).toBe(true);
        expect(fast.totalSectors).toBe(plain.totalSectors);
        expect(fast.volumes).toEqual(plain.volumes);
      }),
      { numRuns: 200 },
    );
  });
});
