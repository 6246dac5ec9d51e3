/**
 * The second phase: where everything goes, before a byte is rendered. Each directory's records are laid out
 * (records.ts), then the image's sectors given out front to back: path tables, primary directories each followed
 * by its continuation areas, Joliet directories, file data, padding. The result is a placement that rendering
 * only reads; the walk it was made from stays as it was.
 */
import { SECTOR_SIZE, sectorsFor } from '../encoding.js';
import { IsoBuilderError } from '../errors.js';
import { VOLUME_DESCRIPTOR_SET_SECTOR, VOLUME_DESCRIPTOR_SET_SECTORS, type VolumeDescriptors, type VolumeFields } from '../descriptors.js';
import { jolietIdentifier } from '../joliet.js';
import { pathTableSize } from '../path-table.js';
import { areaLength, type AreaLocation, type PackedSystemUse } from '../rock-ridge.js';
import { jolietRecords, primaryRecords, type JolietRecords, type PrimaryRecords } from './records.js';
import type { FileExtent, LayoutOptions } from './types.js';
import type { Dir, Entry, Tree } from './walk.js';

const PADDING_SECTORS = 150;

/** A primary directory, placed: its records, its first sector, and where its continuation areas are. */
export interface PlacedPrimaryDir extends PrimaryRecords {
  readonly dir: Dir;
  readonly extent: number;
  readonly areaLocations: ReadonlyMap<PackedSystemUse, AreaLocation[]>;
}

/** A Joliet directory, placed: its records and its first sector. */
export interface PlacedJolietDir extends JolietRecords {
  readonly dir: Dir;
  readonly extent: number;
}

/**
 * Where everything goes: the directories (their records' offsets, their sectors, their Rock Ridge entries
 * packed and their continuation areas placed), the path tables' sectors, the files' sectors, and the fields of
 * the volume descriptors. A directory's placement is found by its path table number (`isoDirs[n - 1]`).
 */
export interface Placement {
  /** Primary directories in path table order (6.9.1), the root first. */
  readonly isoDirs: readonly PlacedPrimaryDir[];
  /** Joliet directories in path table order. */
  readonly jolietDirs: readonly PlacedJolietDir[];
  /** The first sector of each file's and symlink's data (names of one inode share it; empty ones point past). */
  readonly dataSectors: ReadonlyMap<Entry, number>;
  readonly pathTables: { isoSize: number; isoL: number; isoM: number; jolietSize: number; jolietL: number; jolietM: number };
  /** Sectors before the file data: system area, descriptors, path tables, directories, continuation areas. */
  readonly metadataSectors: number;
  readonly files: readonly FileExtent[];
  readonly totalSectors: number;
  readonly volumes: VolumeDescriptors;
}

/** Places every structure of the walked image (no bytes rendered yet). */
export function placeTree(tree: Tree, options: LayoutOptions): Placement {
  const encoder = options.encoder ?? 'fast';
  const primary = tree.isoDirs.map((dir) => primaryRecords(dir, encoder));
  const joliet = tree.jolietDirs.map((dir) => jolietRecords(dir));

  // Path tables: sizes only depend on identifiers, so they can be placed before the directories.
  const isoSize = pathTableSize(tree.isoDirs.map((d) => ({ identifier: isoIdentifier(d), extent: 0, parent: 1 })));
  const jolietSize = pathTableSize(tree.jolietDirs.map((d) => ({ identifier: jolietPathIdentifier(d), extent: 0, parent: 1 })));
  let cursor = VOLUME_DESCRIPTOR_SET_SECTOR + VOLUME_DESCRIPTOR_SET_SECTORS;
  /** The next `sectors` sectors: their first. */
  const take = (sectors: number): number => {
    const first = cursor;
    cursor += sectors;
    return first;
  };
  const isoL = take(sectorsFor(isoSize));
  const isoM = take(sectorsFor(isoSize));
  const jolietL = take(sectorsFor(jolietSize));
  const jolietM = take(sectorsFor(jolietSize));
  const pathTables = { isoSize, isoL, isoM, jolietSize, jolietL, jolietM };

  const primaryDirs = placePrimaryDirs(tree.isoDirs, primary, cursor);
  cursor = primaryDirs.end;
  const jolietDirs = tree.jolietDirs.map((dir, i): PlacedJolietDir => {
    const own = joliet[i] as JolietRecords;
    return { dir, ...own, extent: take(own.size / SECTOR_SIZE) };
  });
  const metadataSectors = cursor;
  const data = placeFileData(tree.isoDirs, cursor);
  const totalSectors = data.end + PADDING_SECTORS;
  if (totalSectors > 0xffffffff) throw new IsoBuilderError('ISO_TOO_LARGE', `the image would have ${totalSectors} sectors; ECMA-119 counts at most 2^32-1`);
  const volumes = volumeFields(options, totalSectors, pathTables, primaryDirs.placed[0] as PlacedPrimaryDir, jolietDirs[0] as PlacedJolietDir);
  return { isoDirs: primaryDirs.placed, jolietDirs, dataSectors: data.sectors, pathTables, metadataSectors, files: data.files, totalSectors, volumes };
}

/**
 * Each primary directory from sector `start` on, then the continuation areas of its records from the next sector
 * on, as genisoimage places them: a reader that goes through the image once, front to back (libarchive), reads a
 * directory and then the areas its records point at before anything else. Areas are packed one after the other;
 * an area never crosses a sector.
 */
function placePrimaryDirs(dirs: readonly Dir[], records: readonly PrimaryRecords[], start: number): { placed: PlacedPrimaryDir[]; end: number } {
  let cursor = start;
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
  const placed = dirs.map((dir, i): PlacedPrimaryDir => {
    const own = records[i] as PrimaryRecords;
    const extent = cursor;
    cursor += own.size / SECTOR_SIZE;
    const areaLocations = new Map<PackedSystemUse, AreaLocation[]>();
    place(own.dotSua, areaLocations);
    place(own.dotDotSua, areaLocations);
    for (const child of own.children) if (child.sua) place(child.sua, areaLocations);
    if (areaOffset > 0) cursor++;
    areaOffset = 0;
    return { dir, ...own, extent, areaLocations };
  });
  return { placed, end: cursor };
}

/** The file data from sector `start` on, once per inode, in primary order: each name's first sector, and what to copy. */
function placeFileData(dirs: readonly Dir[], start: number): { sectors: Map<Entry, number>; files: FileExtent[]; end: number } {
  let cursor = start;
  const sectors = new Map<Entry, number>();
  const files: FileExtent[] = [];
  /** The first name of each inode with several: the others share its extent. */
  const firstNames = new Map<string, Entry>();
  for (const dir of dirs) {
    for (const child of dir.isoOrder) {
      if (child.isDirectory) continue;
      if (child.links > 1) {
        const first = firstNames.get(child.inode as string);
        if (first) {
          sectors.set(child, sectors.get(first) as number);
          continue;
        }
        firstNames.set(child.inode as string, child);
      }
      sectors.set(child, cursor); // empty files and links point at the next free sector, as genisoimage does
      const node = child.node;
      if (node.kind === 'file' && node.size > 0) {
        files.push({ path: child.path, sector: cursor, size: node.size, data: node.data });
        cursor += sectorsFor(node.size);
      }
    }
  }
  return { sectors, files, end: cursor };
}

function volumeFields(options: LayoutOptions, totalSectors: number, tables: Placement['pathTables'], root: PlacedPrimaryDir, jolietRoot: PlacedJolietDir): VolumeDescriptors {
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
  const date = root.dir.entry.attrs.mtime;
  const primary: VolumeFields = { ...common, pathTableSize: tables.isoSize, pathTableL: tables.isoL, pathTableM: tables.isoM, rootDirectory: { extent: root.extent, size: root.size, date } };
  const joliet: VolumeFields = { ...common, pathTableSize: tables.jolietSize, pathTableL: tables.jolietL, pathTableM: tables.jolietM, rootDirectory: { extent: jolietRoot.extent, size: jolietRoot.size, date } };
  return { primary, joliet };
}

/** Path table identifiers (9.4.5): the primary tree's d-characters, Joliet's UCS-2; the root's is one 0x00 byte. */
export function isoIdentifier(d: Dir): Buffer {
  return d.parent ? Buffer.from(d.entry.isoName, 'latin1') : Buffer.from([0]);
}

export function jolietPathIdentifier(d: Dir): Buffer {
  return d.parent ? jolietIdentifier(d.entry.jolietName) : Buffer.from([0]);
}
