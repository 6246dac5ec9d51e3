/**
 * The image in two phases with data between them. Placing (`placeTree`) assigns every structure to sectors
 * and every record to its offset, from metadata only (names, sizes, attributes); rendering
 * (`renderMetadata`) turns that placement into the bytes of the path tables, directories and continuation
 * areas. The volume descriptors are the writer's (from `volumes`), and so is file data, which is not read
 * here: the writer copies it afterwards, in the order given by `files`.
 *
 * Sector map (ECMA-119 6.2 / 8): 0-15 system area, 16 PVD, 17 Joliet SVD, 18 terminator, then the L and M
 * path tables of the primary tree and of the Joliet tree, the primary directories (each followed by the
 * Rock Ridge continuation areas of its records), the Joliet directories, the file data (once per inode: hard
 * links share it), and 150 sectors of padding (as genisoimage pads, so that readers that read ahead past the
 * last file do not fail).
 */
import { SECTOR_SIZE, sectorsFor } from './encoding.js';
import { IsoBuilderError } from './errors.js';
import { VOLUME_DESCRIPTOR_SET_SECTOR, VOLUME_DESCRIPTOR_SET_SECTORS, type VolumeDescriptors, type VolumeFields } from './descriptors.js';
import {
  FLAG_DIRECTORY,
  FLAG_MULTI_EXTENT,
  identifierField,
  RecordPlacer,
  RECORD_HEADER,
  recordLength,
  systemUseRoom,
  writeDirectoryRecord,
  writeLatin1Identifier,
  writeRecordHeader,
  writeUcs2Identifier,
} from './directory-record.js';
import { jolietIdentifier, jolietName, jolietSortKey, resolveJolietCollisions } from './joliet.js';
import { isoName, isoSortKey, resolveIsoCollisions } from './names.js';
import { buildPathTable, pathTableSize, type PathTableEntry } from './path-table.js';
import {
  areaBytes,
  areaLength,
  erEntry,
  inlineBytes,
  packSystemUse,
  plainEntriesLength,
  repeatedEntries,
  rockRidgeEntries,
  writePlainEntries,
  spEntry,
  type AreaLocation,
  type PackedSystemUse,
  type RepeatedEntries,
} from './rock-ridge.js';
import { applyPolicy, type AttributePolicy, type Attributes, type DirectoryNode, type FileData, type TreeNode } from './tree.js';

const PADDING_SECTORS = 150;
/** ECMA-119 6.8.2.1: at most eight levels of directories, the root being the first. */
export const MAX_DIRECTORY_LEVELS = 8;
/** Largest extent of one record: a multiple of the sector size below 4 GiB (9.1.4 is a 32-bit field). */
export const MAX_EXTENT_BYTES = 0xfffff800;

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

export interface LayoutOptions {
  label: string;
  policy: AttributePolicy;
  /** Date of the volume descriptors, in seconds. */
  volumeDate: number;
  /** `error`: directories below level 8 are refused; `allow`: written where they are (genisoimage -D). */
  deepDirectories: 'error' | 'allow';
  applicationId: string;
  /**
   * How Rock Ridge entries that fit their record are written: `fast` (writePlainEntries, straight into the
   * directory) or `entries` (the entry encoders, as every other record). The bytes are the same
   * (layout.spec.ts proves it for any tree); `entries` exists for that proof.
   */
  encoder?: 'fast' | 'entries';
}

/** One run of file data to copy: `size` bytes of `data` at sector `sector`. */
export interface FileExtent {
  path: string;
  sector: number;
  size: number;
  data: FileData;
}

/**
 * Where everything goes, before a byte is rendered: the directories (their records' offsets, their sectors,
 * their Rock Ridge entries packed and their continuation areas placed), the path tables' sectors, the files'
 * sectors, and the fields of the volume descriptors.
 */
export interface Placement {
  /** Primary directories in path table order (6.9.1), the root first. */
  isoDirs: Dir[];
  /** Joliet directories in path table order. */
  jolietDirs: Dir[];
  pathTables: { isoSize: number; isoL: number; isoM: number; jolietSize: number; jolietL: number; jolietM: number };
  /** Sectors before the file data: system area, descriptors, path tables, directories, continuation areas. */
  metadataSectors: number;
  files: FileExtent[];
  totalSectors: number;
  volumes: VolumeDescriptors;
}

export interface Layout {
  /**
   * Sectors 0 .. metadataSectors-1: path tables, directories and continuation areas. The system area and the
   * volume descriptor set (sectors 16-18) are zeros here: the writer writes the descriptors from `volumes`.
   */
  metadata: Buffer;
  volumes: VolumeDescriptors;
  /** File data in ascending sector order, after the metadata. */
  files: FileExtent[];
  totalSectors: number;
}

export interface Entry {
  node: TreeNode;
  path: string;
  attrs: Attributes;
  isoName: string;
  jolietName: string;
  name: string;
  isDirectory: boolean;
  /** First sector of the file data (files, symlinks) or of the primary directory. */
  extent: number;
  dir?: Dir;
  /**
   * Rock Ridge entries that need continuation areas, kept from layout to rendering. Entries that fit in
   * their record are not kept: they are built again when the record is written, so that a tree of many
   * files holds a few numbers per file rather than several small buffers.
   */
  sua?: PackedSystemUse;
  /** Length of RR+NM+PX+TF when they fit the record and are written directly; 0 when `sua` is used. */
  plainLength: number;
  nameBytes: number;
  /**
   * A file's inode in the source (device, inode, and the size and times every name of it shares), or null:
   * files of one inode are hard links, written once and counted in PX (RRIP 4.1.1 "POSIX file links").
   */
  inode: string | null;
  /** PX links of a file: the names its inode has in the image. */
  links: number;
}

export interface Dir {
  entry: Entry;
  parent: Dir | null;
  level: number;
  children: Entry[];
  isoOrder: Entry[];
  jolietOrder: Entry[];
  isoSize: number;
  jolietSize: number;
  jolietExtent: number;
  isoNumber: number;
  jolietNumber: number;
  dotSua: PackedSystemUse;
  dotDotSua: PackedSystemUse;
  subdirCount: number;
  areaLocations: Map<PackedSystemUse, AreaLocation[]>;
  /** Children whose Rock Ridge entries were packed (`sua`), in primary order. */
  withSua: Entry[];
  /** Offsets of the records in the primary and Joliet directories. */
  isoOffsets: number[];
  jolietOffsets: number[];
}

function typeBits(node: TreeNode): number {
  return node.kind === 'directory' ? S_IFDIR : node.kind === 'symlink' ? S_IFLNK : S_IFREG;
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

/**
 * `items` in the code-unit order of `key`. When the keys are all different (as the names of one directory
 * are), the built-in sort without a comparator orders them: it runs no JavaScript per comparison, which
 * matters for tens of thousands of names sorted once, before the JIT has warmed up. Equal keys fall back to a
 * stable sort, so the order is the same either way.
 */
function sortBy<T>(items: T[], key: (item: T) => string): T[] {
  const keys = items.map(key);
  // Often already in order (a directory read from disk comes sorted by name, and the other orders mostly
  // follow it): one pass of comparisons then replaces the sort.
  let inOrder = true;
  for (let i = 1; i < keys.length && inOrder; i++) inOrder = (keys[i - 1] as string) <= (keys[i] as string);
  if (inOrder) return items.slice();
  const byKey = new Map<string, T>();
  items.forEach((item, i) => byKey.set(keys[i] as string, item));
  if (byKey.size !== items.length) {
    const keyed = items.map((item, i) => ({ item, key: keys[i] as string }));
    keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return keyed.map((k) => k.item);
  }
  keys.sort();
  return keys.map((k) => byKey.get(k) as T);
}

/** A string whose code-unit order is the byte order of the name's UTF-8 (ASCII names are their own key). */
function utf8Key(name: string): string {
  return /^[\x00-\x7f]*$/.test(name) ? name : Buffer.from(name, 'utf8').toString('latin1');
}

/** The inode key of a file with several names in its source (see Entry.inode); null for every other node. */
function inodeOf(node: TreeNode): string | null {
  if (node.kind !== 'file' || node.links === undefined || node.links < 2 || node.data.kind !== 'path' || node.data.dev === undefined || node.data.ino === undefined) return null;
  return `${node.data.dev}:${node.data.ino}:${node.size}:${node.attrs.mtime}:${node.attrs.ctime}`;
}

function buildDirs(root: DirectoryNode, options: LayoutOptions): Dir[] {
  const all: Dir[] = [];
  const tooDeep: string[] = [];
  /** Names of each inode in the tree. */
  const names = new Map<string, number>();
  const linked: Entry[] = [];
  const visit = (node: DirectoryNode, entry: Entry, parent: Dir | null, level: number): Dir => {
    const dir: Dir = {
      entry,
      parent,
      level,
      children: [],
      isoOrder: [],
      jolietOrder: [],
      isoSize: 0,
      jolietSize: 0,
      jolietExtent: 0,
      isoNumber: 0,
      jolietNumber: 0,
      dotSua: { inline: [], areas: [] },
      dotDotSua: { inline: [], areas: [] },
      subdirCount: 0,
      areaLocations: new Map(),
      withSua: [],
      isoOffsets: [],
      jolietOffsets: [],
    };
    entry.dir = dir;
    all.push(dir);
    if (level > MAX_DIRECTORY_LEVELS) tooDeep.push(entry.path);
    for (const child of node.children) {
      const isDirectory = child.kind === 'directory';
      const childPath = entry.path === '' ? child.name : `${entry.path}/${child.name}`;
      const childEntry: Entry = {
        node: child,
        path: childPath,
        attrs: applyPolicy(child.attrs, options.policy),
        isoName: isoName(child.name, isDirectory),
        jolietName: jolietName(child.name),
        name: child.name,
        isDirectory,
        extent: 0,
        plainLength: 0,
        nameBytes: Buffer.byteLength(child.name, 'utf8'),
        inode: inodeOf(child),
        links: 1,
      };
      dir.children.push(childEntry);
      if (childEntry.inode !== null) {
        names.set(childEntry.inode, (names.get(childEntry.inode) ?? 0) + 1);
        linked.push(childEntry);
      }
      if (child.kind === 'directory') {
        dir.subdirCount++;
        visit(child, childEntry, dir, level + 1);
      }
    }
    return dir;
  };
  const rootEntry: Entry = {
    node: root,
    path: '',
    attrs: applyPolicy(root.attrs, options.policy),
    isoName: '',
    jolietName: '',
    name: '',
    isDirectory: true,
    extent: 0,
    plainLength: 0,
    nameBytes: 0,
    inode: null,
    links: 1,
  };
  visit(root, rootEntry, null, 1);
  for (const entry of linked) entry.links = names.get(entry.inode as string) as number;
  if (tooDeep.length > 0 && options.deepDirectories === 'error') {
    const shown = tooDeep.slice(0, 5).map((p) => `"${p}"`).join(', ');
    throw new IsoBuilderError(
      'ISO_TOO_DEEP',
      `${tooDeep.length} director${tooDeep.length === 1 ? 'y is' : 'ies are'} deeper than the ${MAX_DIRECTORY_LEVELS} levels ECMA-119 allows: ${shown}${tooDeep.length > 5 ? ', ...' : ''}; ` +
        "flatten the tree, or write them where they are (deepDirectories: 'allow', vmctx iso -D, as genisoimage -D): Linux and other Rock Ridge readers read them",
      { paths: tooDeep },
    );
  }
  return all;
}

function rrFor(entry: Entry, links: number, name: string | null): Buffer[] {
  const node = entry.node;
  return rockRidgeEntries({ name, mode: typeBits(node) | entry.attrs.mode, links, attrs: entry.attrs, ...(node.kind === 'symlink' ? { target: node.target } : {}) });
}

/** PX links (RRIP 4.1.1): a directory's "." and its name and its subdirectories' "..", a file's names. */
function linksOf(entry: Entry): number {
  return entry.dir ? 2 + entry.dir.subdirCount : entry.links;
}

function sortAndName(dirs: Dir[]): void {
  for (const dir of dirs) {
    // Collisions are resolved in the order of the real names' UTF-8 bytes, whatever order they came in.
    const byName = sortBy(dir.children, (e) => utf8Key(e.name));
    resolveIsoCollisions(byName);
    resolveJolietCollisions(byName);
    dir.isoOrder = sortBy(dir.children, (e) => isoSortKey(e.isoName));
    dir.jolietOrder = sortBy(dir.children, (e) => jolietSortKey(e.jolietName));
  }
}

function fileSize(entry: Entry): number {
  return entry.node.kind === 'file' ? entry.node.size : 0;
}

/** Places the primary records of a directory, in order, after packing the Rock Ridge entries. */
function placePrimaryRecords(dir: Dir, encoder: 'fast' | 'entries'): RecordPlacer {
  const self = dir.entry;
  const parentEntry = dir.parent ? dir.parent.entry : self;
  const dotEntries = rrFor(self, linksOf(self), null);
  if (dir.parent === null) dotEntries.unshift(spEntry());
  if (dir.parent === null) dotEntries.push(erEntry());
  dir.dotSua = packSystemUse(dotEntries, systemUseRoom(1));
  dir.dotDotSua = packSystemUse(rrFor(parentEntry, linksOf(parentEntry), null), systemUseRoom(1));
  const placer = new RecordPlacer(SECTOR_SIZE);
  placer.add(suaRecordLength(1, dir.dotSua));
  placer.add(suaRecordLength(1, dir.dotDotSua));
  for (const child of dir.isoOrder) {
    const idLength = child.isoName.length;
    const plain = plainEntriesLength(child.nameBytes);
    let recordSize: number;
    if (encoder === 'fast' && child.node.kind !== 'symlink' && plain <= systemUseRoom(idLength)) {
      // The common case: written straight into the directory when it is rendered, nothing kept.
      child.plainLength = plain;
      recordSize = recordLength(idLength, plain);
    } else {
      child.sua = packSystemUse(rrFor(child, linksOf(child), child.name), systemUseRoom(idLength));
      dir.withSua.push(child);
      recordSize = suaRecordLength(idLength, child.sua);
    }
    // Every part of a multi-extent file carries the same entries (Linux takes the name from the last part).
    placer.add(recordSize, extentCount(child));
  }
  return placer;
}

function suaRecordLength(idLength: number, packed: PackedSystemUse): number {
  const inline = packed.inline.reduce((s, b) => s + b.length, 0) + (packed.areas.length > 0 ? 28 : 0);
  return recordLength(idLength, inline);
}

function placeJolietRecords(dir: Dir): RecordPlacer {
  const placer = new RecordPlacer(SECTOR_SIZE);
  placer.add(recordLength(1, 0), 2);
  for (const child of dir.jolietOrder) placer.add(recordLength(child.jolietName.length * 2, 0), extentCount(child));
  return placer;
}

/** Directories in path table order (6.9.1): level by level, by parent number, then by identifier. */
function pathTableOrder(root: Dir, order: (dir: Dir) => Entry[]): Dir[] {
  const out: Dir[] = [root];
  for (let i = 0; i < out.length; i++) {
    for (const child of order(out[i] as Dir)) if (child.dir) out.push(child.dir);
  }
  return out;
}

/** Places every structure of the image of `root` (no bytes rendered yet). */
export function placeTree(root: DirectoryNode, options: LayoutOptions): Placement {
  const encoder = options.encoder ?? 'fast';
  const dirs = buildDirs(root, options);
  sortAndName(dirs);
  const rootDir = dirs[0] as Dir;
  const isoDirs = pathTableOrder(rootDir, (d) => d.isoOrder);
  const jolietDirs = pathTableOrder(rootDir, (d) => d.jolietOrder);
  isoDirs.forEach((d, i) => (d.isoNumber = i + 1));
  jolietDirs.forEach((d, i) => (d.jolietNumber = i + 1));

  for (const dir of isoDirs) {
    const placed = placePrimaryRecords(dir, encoder);
    dir.isoSize = placed.size;
    dir.isoOffsets = placed.offsets;
  }
  for (const dir of jolietDirs) {
    const placed = placeJolietRecords(dir);
    dir.jolietSize = placed.size;
    dir.jolietOffsets = placed.offsets;
  }

  // Path tables: sizes only depend on identifiers, so they can be placed before the directories.
  const isoTableSize = pathTableSize(isoDirs.map((d) => ({ identifier: isoIdentifier(d), extent: 0, parent: 1 })));
  const jolietTableSize = pathTableSize(jolietDirs.map((d) => ({ identifier: jolietPathIdentifier(d), extent: 0, parent: 1 })));

  let cursor = VOLUME_DESCRIPTOR_SET_SECTOR + VOLUME_DESCRIPTOR_SET_SECTORS;
  const isoL = cursor;
  cursor += sectorsFor(isoTableSize);
  const isoM = cursor;
  cursor += sectorsFor(isoTableSize);
  const jolietL = cursor;
  cursor += sectorsFor(jolietTableSize);
  const jolietM = cursor;
  cursor += sectorsFor(jolietTableSize);

  // Each directory, then the continuation areas of its records, from the next sector on, as genisoimage places
  // them: a reader that goes through the image once, front to back (libarchive), reads a directory and then
  // the areas its records point at before anything else. Areas are packed one after the other; an area never
  // crosses a sector.
  let areaOffset = 0;
  const place = (packed: PackedSystemUse, into: Map<PackedSystemUse, AreaLocation[]>): void => {
    if (packed.areas.length === 0 || into.has(packed)) return;
    const locations: AreaLocation[] = [];
    packed.areas.forEach((_, i) => {
      const length = areaLength(packed, i);
      if (areaOffset + length > SECTOR_SIZE) {
        cursor++;
        areaOffset = 0;
      }
      locations.push({ sector: cursor, offset: areaOffset });
      areaOffset += length;
    });
    into.set(packed, locations);
  };
  for (const dir of isoDirs) {
    dir.entry.extent = cursor;
    cursor += dir.isoSize / SECTOR_SIZE;
    place(dir.dotSua, dir.areaLocations);
    place(dir.dotDotSua, dir.areaLocations);
    for (const child of dir.withSua) place(child.sua as PackedSystemUse, dir.areaLocations);
    if (areaOffset > 0) cursor++;
    areaOffset = 0;
  }

  for (const dir of jolietDirs) {
    dir.jolietExtent = cursor;
    cursor += dir.jolietSize / SECTOR_SIZE;
  }
  const metadataSectors = cursor;

  const files: FileExtent[] = [];
  /** The first name of each inode with several: the others share its extent. */
  const firstNames = new Map<string, Entry>();
  for (const dir of isoDirs) {
    for (const child of dir.isoOrder) {
      if (child.isDirectory) continue;
      if (child.links > 1) {
        const first = firstNames.get(child.inode as string);
        if (first) {
          child.extent = first.extent;
          continue;
        }
        firstNames.set(child.inode as string, child);
      }
      child.extent = cursor; // empty files and links point at the next free sector, as genisoimage does
      const node = child.node;
      if (node.kind === 'file' && node.size > 0) {
        files.push({ path: child.path, sector: cursor, size: node.size, data: node.data });
        cursor += sectorsFor(node.size);
      }
    }
  }
  const totalSectors = cursor + PADDING_SECTORS;
  if (totalSectors > 0xffffffff) throw new IsoBuilderError('ISO_TOO_LARGE', `the image would have ${totalSectors} sectors; ECMA-119 counts at most 2^32-1`);

  const common = {
    label: options.label,
    systemId: 'LINUX',
    volumeSetId: '',
    publisherId: '',
    preparerId: '',
    applicationId: options.applicationId,
    totalSectors,
    date: options.volumeDate,
  };
  const date = rootDir.entry.attrs.mtime;
  const primary: VolumeFields = { ...common, pathTableSize: isoTableSize, pathTableL: isoL, pathTableM: isoM, rootDirectory: { extent: rootDir.entry.extent, size: rootDir.isoSize, date } };
  const joliet: VolumeFields = { ...common, pathTableSize: jolietTableSize, pathTableL: jolietL, pathTableM: jolietM, rootDirectory: { extent: rootDir.jolietExtent, size: rootDir.jolietSize, date } };
  return {
    isoDirs,
    jolietDirs,
    pathTables: { isoSize: isoTableSize, isoL, isoM, jolietSize: jolietTableSize, jolietL, jolietM },
    metadataSectors,
    files,
    totalSectors,
    volumes: { primary, joliet },
  };
}

/** Path table identifiers (9.4.5): the primary tree's d-characters, Joliet's UCS-2; the root's is one 0x00 byte. */
function isoIdentifier(d: Dir): Buffer {
  return d.parent ? Buffer.from(d.entry.isoName, 'latin1') : Buffer.from([0]);
}

function jolietPathIdentifier(d: Dir): Buffer {
  return d.parent ? jolietIdentifier(d.entry.jolietName) : Buffer.from([0]);
}

/** The bytes of everything `placement` placed before the file data, except the volume descriptors. */
export function renderMetadata(placement: Placement): Buffer {
  const { isoDirs, jolietDirs, pathTables } = placement;
  const metadata = Buffer.alloc(placement.metadataSectors * SECTOR_SIZE);
  const isoTable: PathTableEntry[] = isoDirs.map((d) => ({ identifier: isoIdentifier(d), extent: d.entry.extent, parent: d.parent ? d.parent.isoNumber : 1 }));
  const jolietTable: PathTableEntry[] = jolietDirs.map((d) => ({
    identifier: jolietPathIdentifier(d),
    extent: d.jolietExtent,
    parent: d.parent ? d.parent.jolietNumber : 1,
  }));
  buildPathTable(isoTable, false).copy(metadata, pathTables.isoL * SECTOR_SIZE);
  buildPathTable(isoTable, true).copy(metadata, pathTables.isoM * SECTOR_SIZE);
  buildPathTable(jolietTable, false).copy(metadata, pathTables.jolietL * SECTOR_SIZE);
  buildPathTable(jolietTable, true).copy(metadata, pathTables.jolietM * SECTOR_SIZE);

  const last = repeatedEntries();
  for (const dir of isoDirs) renderPrimaryDirectory(metadata, dir, dir.isoOffsets, last);
  for (const dir of jolietDirs) renderJolietDirectory(metadata, dir, dir.jolietOffsets);
  for (const dir of isoDirs) {
    for (const [packed, locations] of dir.areaLocations) {
      locations.forEach((loc, i) => areaBytes(packed, i, locations).copy(metadata, loc.sector * SECTOR_SIZE + loc.offset));
    }
  }
  return metadata;
}

/** Places and renders: the layout the writer writes (descriptors from `volumes`, then the files' data). */
export function computeLayout(root: DirectoryNode, options: LayoutOptions): Layout {
  const placement = placeTree(root, options);
  return { metadata: renderMetadata(placement), volumes: placement.volumes, files: placement.files, totalSectors: placement.totalSectors };
}

function recordsOf(child: Entry, jolietTree: boolean): { extent: number; size: number; flags: number }[] {
  if (child.dir) {
    return [{ extent: jolietTree ? child.dir.jolietExtent : child.extent, size: jolietTree ? child.dir.jolietSize : child.dir.isoSize, flags: FLAG_DIRECTORY }];
  }
  const sizes = extentSizes(fileSize(child));
  return sizes.map((size, i) => ({
    extent: child.extent + (i * MAX_EXTENT_BYTES) / SECTOR_SIZE,
    size,
    flags: i < sizes.length - 1 ? FLAG_MULTI_EXTENT : 0,
  }));
}

/** Identifiers of the "." and ".." records (ECMA-119 6.8.2.2). */
const DOT_ID = Buffer.from([0]);
const DOT_DOT_ID = Buffer.from([1]);

function renderPrimaryDirectory(metadata: Buffer, dir: Dir, offsets: number[], last: RepeatedEntries): void {
  const base = dir.entry.extent * SECTOR_SIZE;
  const parent = dir.parent ?? dir;
  const dotRecord = (at: number, of: Dir, identifier: Buffer, packed: PackedSystemUse): void => {
    const systemUse = inlineBytes(packed, dir.areaLocations.get(packed) ?? []);
    writeDirectoryRecord(metadata, at, { extent: of.entry.extent, size: of.isoSize, date: of.entry.attrs.mtime, flags: FLAG_DIRECTORY, identifier, systemUse });
  };
  dotRecord(base + (offsets[0] as number), dir, DOT_ID, dir.dotSua);
  dotRecord(base + (offsets[1] as number), parent, DOT_DOT_ID, dir.dotDotSua);
  let i = 2;
  for (const child of dir.isoOrder) {
    const size = fileSize(child);
    if (child.dir) writePrimaryRecord(metadata, base + (offsets[i++] as number), dir, child, child.extent, child.dir.isoSize, FLAG_DIRECTORY, last);
    else if (size <= MAX_EXTENT_BYTES) writePrimaryRecord(metadata, base + (offsets[i++] as number), dir, child, child.extent, size, 0, last);
    else for (const r of recordsOf(child, false)) writePrimaryRecord(metadata, base + (offsets[i++] as number), dir, child, r.extent, r.size, r.flags, last);
  }
}

/** One record of the primary tree, with its Rock Ridge entries (written in place when they fit it). */
function writePrimaryRecord(metadata: Buffer, at: number, dir: Dir, child: Entry, extent: number, size: number, flags: number, last: RepeatedEntries): void {
  const id = child.isoName;
  const a = child.attrs;
  if (child.sua) {
    const systemUse = inlineBytes(child.sua, dir.areaLocations.get(child.sua) ?? []);
    writeDirectoryRecord(metadata, at, { extent, size, date: a.mtime, flags, identifier: { text: id, encoding: 'latin1' }, systemUse });
    return;
  }
  writeRecordHeader(metadata, at, recordLength(id.length, child.plainLength), extent, size, a.mtime, flags, id.length);
  writeLatin1Identifier(metadata, at, id);
  const sua = at + RECORD_HEADER + identifierField(id.length);
  writePlainEntries(metadata, sua, child.name, child.nameBytes, typeBits(child.node) | a.mode, linksOf(child), a, last);
}

function renderJolietDirectory(metadata: Buffer, dir: Dir, offsets: number[]): void {
  const base = dir.jolietExtent * SECTOR_SIZE;
  const parent = dir.parent ?? dir;
  const dotLength = recordLength(1, 0);
  writeRecordHeader(metadata, base + (offsets[0] as number), dotLength, dir.jolietExtent, dir.jolietSize, dir.entry.attrs.mtime, FLAG_DIRECTORY, 1);
  metadata[base + (offsets[0] as number) + RECORD_HEADER] = 0; // "."
  writeRecordHeader(metadata, base + (offsets[1] as number), dotLength, parent.jolietExtent, parent.jolietSize, parent.entry.attrs.mtime, FLAG_DIRECTORY, 1);
  metadata[base + (offsets[1] as number) + RECORD_HEADER] = 1; // ".."
  let i = 2;
  for (const child of dir.jolietOrder) {
    const size = fileSize(child);
    const date = child.attrs.mtime;
    if (child.dir) writeJolietRecord(metadata, base + (offsets[i++] as number), child.dir.jolietExtent, child.dir.jolietSize, date, FLAG_DIRECTORY, child.jolietName);
    else if (size <= MAX_EXTENT_BYTES) writeJolietRecord(metadata, base + (offsets[i++] as number), child.extent, size, date, 0, child.jolietName);
    else for (const r of recordsOf(child, true)) writeJolietRecord(metadata, base + (offsets[i++] as number), r.extent, r.size, date, r.flags, child.jolietName);
  }
}

function writeJolietRecord(metadata: Buffer, at: number, extent: number, size: number, date: number, flags: number, name: string): void {
  writeRecordHeader(metadata, at, recordLength(name.length * 2, 0), extent, size, date, flags, name.length * 2);
  writeUcs2Identifier(metadata, at, name);
}
