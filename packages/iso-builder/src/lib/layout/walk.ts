/**
 * The first phase of the layout: the walk of the source tree into the image's directories and entries, with
 * everything that depends on names and metadata only: attributes after the policy, primary (ISO 9660) and
 * Joliet names with their collisions resolved, each directory's two record orders, the path table order and
 * numbers, and the names each hard-linked inode has. Nothing here knows a sector; what the walk returns is not
 * changed afterwards (place.ts keeps where things go in a placement of its own).
 */
import { IsoBuilderError } from '../errors.js';
import { jolietName, jolietSortKey, resolveJolietCollisions } from '../joliet.js';
import { isoName, isoSortKey, resolveIsoCollisions } from '../names.js';
import { applyPolicy, type Attributes, type DirectoryNode, type TreeNode } from '../tree.js';
import type { LayoutOptions } from './types.js';

/** ECMA-119 6.8.2.1: at most eight levels of directories, the root being the first. */
export const MAX_DIRECTORY_LEVELS = 8;

export interface Entry {
  readonly node: TreeNode;
  readonly path: string;
  readonly attrs: Attributes;
  readonly isoName: string;
  readonly jolietName: string;
  readonly name: string;
  readonly isDirectory: boolean;
  readonly dir?: Dir;
  readonly nameBytes: number;
  /**
   * A file's inode in the source (device, inode, and the size and times every name of it shares), or null:
   * files of one inode are hard links, written once and counted in PX (RRIP 4.1.1 "POSIX file links").
   */
  readonly inode: string | null;
  /** PX links of a file: the names its inode has in the image. */
  readonly links: number;
}

export interface Dir {
  readonly entry: Entry;
  readonly parent: Dir | null;
  readonly level: number;
  readonly children: readonly Entry[];
  readonly isoOrder: readonly Entry[];
  readonly jolietOrder: readonly Entry[];
  /** Numbers in the primary and Joliet path tables (6.9.1), from 1: a directory's index in `Tree` plus one. */
  readonly isoNumber: number;
  readonly jolietNumber: number;
  readonly subdirCount: number;
}

export interface Tree {
  /** Primary directories in path table order (6.9.1), the root first. */
  readonly isoDirs: readonly Dir[];
  /** Joliet directories in path table order, the root first. */
  readonly jolietDirs: readonly Dir[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Walks `root` into the image's directories (see the module comment). */
export function walkTree(root: DirectoryNode, options: LayoutOptions): Tree {
  const dirs = buildDirs(root, options);
  sortAndName(dirs);
  const rootDir = dirs[0] as Dir;
  const isoDirs = pathTableOrder(rootDir, (d) => d.isoOrder);
  const jolietDirs = pathTableOrder(rootDir, (d) => d.jolietOrder);
  isoDirs.forEach((d, i) => ((d as Mutable<Dir>).isoNumber = i + 1));
  jolietDirs.forEach((d, i) => ((d as Mutable<Dir>).jolietNumber = i + 1));
  return { isoDirs, jolietDirs };
}

/** An entry as the walk first makes it; the root's has no name of its own in either tree. */
function newEntry(node: TreeNode, path: string, options: LayoutOptions, root = false): Mutable<Entry> {
  const isDirectory = node.kind === 'directory';
  return {
    node,
    path,
    attrs: applyPolicy(node.attrs, options.policy),
    isoName: root ? '' : isoName(node.name, isDirectory),
    jolietName: root ? '' : jolietName(node.name),
    name: root ? '' : node.name,
    isDirectory,
    nameBytes: root ? 0 : Buffer.byteLength(node.name, 'utf8'),
    inode: root ? null : inodeOf(node),
    links: 1,
  };
}

function buildDirs(root: DirectoryNode, options: LayoutOptions): Mutable<Dir>[] {
  const all: Mutable<Dir>[] = [];
  const tooDeep: string[] = [];
  /** Names of each inode in the tree. */
  const names = new Map<string, number>();
  const linked: Mutable<Entry>[] = [];
  const visit = (node: DirectoryNode, entry: Mutable<Entry>, parent: Dir | null, level: number): void => {
    const children: Entry[] = [];
    const dir: Mutable<Dir> = { entry, parent, level, children, isoOrder: [], jolietOrder: [], isoNumber: 0, jolietNumber: 0, subdirCount: 0 };
    entry.dir = dir;
    all.push(dir);
    if (level > MAX_DIRECTORY_LEVELS) tooDeep.push(entry.path);
    for (const child of node.children) {
      const childEntry = newEntry(child, entry.path === '' ? child.name : `${entry.path}/${child.name}`, options);
      children.push(childEntry);
      if (childEntry.inode !== null) {
        names.set(childEntry.inode, (names.get(childEntry.inode) ?? 0) + 1);
        linked.push(childEntry);
      }
      if (child.kind === 'directory') {
        dir.subdirCount++;
        visit(child, childEntry, dir, level + 1);
      }
    }
  };
  visit(root, newEntry(root, '', options, true), null, 1);
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

/** The inode key of a file with several names in its source (see Entry.inode); null for every other node. */
function inodeOf(node: TreeNode): string | null {
  if (node.kind !== 'file' || node.links === undefined || node.links < 2 || node.data.kind !== 'path' || node.data.dev === undefined || node.data.ino === undefined) return null;
  return `${node.data.dev}:${node.data.ino}:${node.size}:${node.attrs.mtime}:${node.attrs.ctime}`;
}

function sortAndName(dirs: Mutable<Dir>[]): void {
  for (const dir of dirs) {
    // Collisions are resolved in the order of the real names' UTF-8 bytes, whatever order they came in.
    const byName = sortBy(dir.children as Mutable<Entry>[], (e) => utf8Key(e.name));
    resolveIsoCollisions(byName);
    resolveJolietCollisions(byName);
    dir.isoOrder = sortBy(dir.children, (e) => isoSortKey(e.isoName));
    dir.jolietOrder = sortBy(dir.children, (e) => jolietSortKey(e.jolietName));
  }
}

/** Directories in path table order (6.9.1): level by level, by parent number, then by identifier. */
function pathTableOrder(root: Dir, order: (dir: Dir) => readonly Entry[]): Dir[] {
  const out: Dir[] = [root];
  for (let i = 0; i < out.length; i++) {
    for (const child of order(out[i] as Dir)) if (child.dir) out.push(child.dir);
  }
  return out;
}

/**
 * `items` in the code-unit order of `key`. When the keys are all different (as the names of one directory
 * are), the built-in sort without a comparator orders them: it runs no JavaScript per comparison, which
 * matters for tens of thousands of names sorted once, before the JIT has warmed up. Equal keys fall back to a
 * stable sort, so the order is the same either way.
 */
function sortBy<T>(items: readonly T[], key: (item: T) => string): T[] {
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
