/**
 * Reads a directory tree from disk into a TreeNode tree: metadata only (lstat), so that the layout is known
 * before a byte of file data is read. Symbolic links are kept as links, never followed (genisoimage -R); a file
 * is later opened without following a link and checked to be the one listed here (writer.ts openListed).
 */
import { nonUtf8Names } from '@vmctx/contract';
import { lstatSync, readdirSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { IsoBuilderError } from './errors.js';
import { type Attributes, type DirectoryNode, type TreeNode } from './tree.js';

function attributesOf(stats: Stats): Attributes {
  return {
    mode: stats.mode & 0o7777,
    uid: stats.uid,
    gid: stats.gid,
    mtime: Math.floor(stats.mtimeMs / 1000),
    atime: Math.floor(stats.atimeMs / 1000),
    ctime: Math.floor(stats.ctimeMs / 1000),
  };
}

function fail(path: string, what: string, error: unknown): never {
  throw new IsoBuilderError('ISO_BAD_TREE', `cannot ${what} "${path}": ${(error as Error).message}`, { where: path });
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

function readNode(path: string, name: string): TreeNode {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    fail(path, 'stat', error);
  }
  // The type from the mode bits directly: isDirectory() and friends cost two calls each, ten thousand times.
  const type = stats.mode & S_IFMT;
  if (type === S_IFDIR) return readDirectory(path, name, stats, false);
  if (type === S_IFLNK) {
    let target: string;
    try {
      target = readlinkSync(path);
    } catch (error) {
      fail(path, 'read the link', error);
    }
    return { kind: 'symlink', name, attrs: attributesOf(stats), target };
  }
  if (type === S_IFREG) {
    // Readability is found out when the file is opened for copying (a clear error, no image left behind):
    // checking here too would cost one more system call per file.
    // The file's identity goes with its path: the copy reads it only if what it opens is this very file.
    return { kind: 'file', name, attrs: attributesOf(stats), size: stats.size, data: { kind: 'path', path, dev: stats.dev, ino: stats.ino }, links: stats.nlink };
  }
  throw new IsoBuilderError('ISO_BAD_TREE', `"${path}" is a socket, FIFO or device node; only files, directories and symbolic links go into an image`, { where: path });
}

/** Names in UTF-8 byte order, as the layout sorts them. */
function sortNames(names: string[]): string[] {
  // All ASCII (UTF-8 as long as UTF-16, checked in one call): code-unit order is byte order, and the built-in
  // sort needs no comparator calls.
  const all = names.join('');
  if (Buffer.byteLength(all, 'utf8') === all.length) return names.sort();
  const key = (name: string): string => (/^[\x00-\x7f]*$/.test(name) ? name : Buffer.from(name, 'utf8').toString('latin1'));
  const keyed = names.map((name) => ({ name, key: key(name) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.name);
}

function readDirectory(path: string, name: string, stats: Stats, isRoot: boolean): DirectoryNode {
  let names: string[];
  try {
    names = readdirSync(path);
  } catch (error) {
    fail(path, 'list', error);
  }
  // Node reads a name that is not UTF-8 with U+FFFD, which names no file: said here, its bytes escaped.
  const notUtf8 = nonUtf8Names(path, names);
  if (notUtf8.length > 0) {
    const where = `${path}/${notUtf8[0]}`;
    throw new IsoBuilderError(
      'ISO_BAD_NAME',
      `"${where}": the name is not UTF-8${notUtf8.length > 1 ? ` (and ${notUtf8.length - 1} more in that folder)` : ''}; Joliet and Rock Ridge names are written from UTF-8: rename it (convmv -f latin1 -t utf8 converts Latin-1 names)`,
      { where },
    );
  }
  // Sorted here so that the tree (and errors) never depend on the order the file system lists entries in.
  names = sortNames(names);
  // Below the root, `path` is already normal and a name holds no "/" and is never "." or "..": joining is
  // concatenating, without path.join's normalizing pass over every character of every path.
  const children: TreeNode[] = [];
  for (const child of names) children.push(readNode(isRoot ? join(path, child) : `${path}/${child}`, child));
  return { kind: 'directory', name, attrs: attributesOf(stats), children };
}

/**
 * The tree rooted at `root` (a directory, or a link to one, as genisoimage follows its argument; its own
 * name is not part of the image).
 */
export function readDirectoryTree(root: string): DirectoryNode {
  let stats: Stats;
  try {
    stats = statSync(root);
  } catch (error) {
    fail(root, 'stat', error);
  }
  if (!stats.isDirectory()) throw new IsoBuilderError('ISO_BAD_TREE', `"${root}" is not a directory`, { where: root });
  return readDirectory(root, '', stats, true);
}
