/**
 * Reads a directory tree from disk into a TreeNode tree: metadata only (lstat), so that the layout is known
 * before a byte of file data is read. Symbolic links are kept as links, never followed (genisoimage -R).
 */
import { lstatSync, readdirSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { TreeError, type Attributes, type DirectoryNode, type TreeNode } from './tree.js';

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
  throw new TreeError('ISO_BAD_TREE', `cannot ${what} "${path}": ${(error as Error).message}`);
}

function readNode(path: string, name: string): TreeNode {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    fail(path, 'stat', error);
  }
  if (stats.isDirectory()) return readDirectory(path, name, stats);
  if (stats.isSymbolicLink()) {
    let target: string;
    try {
      target = readlinkSync(path);
    } catch (error) {
      fail(path, 'read the link', error);
    }
    return { kind: 'symlink', name, attrs: attributesOf(stats), target };
  }
  if (stats.isFile()) {
    // Readability is found out when the file is opened for copying (a clear error, no image left behind):
    // checking here too would cost one more system call per file.
    return { kind: 'file', name, attrs: attributesOf(stats), size: stats.size, data: { kind: 'path', path } };
  }
  throw new TreeError('ISO_BAD_TREE', `"${path}" is a socket, FIFO or device node; only files, directories and symbolic links go into an image`);
}

function readDirectory(path: string, name: string, stats: Stats): DirectoryNode {
  let names: string[];
  try {
    names = readdirSync(path);
  } catch (error) {
    fail(path, 'list', error);
  }
  // Sorted here so that the tree (and errors) never depend on the order the file system lists entries in.
  const key = (name: string): string => (/^[\x00-\x7f]*$/.test(name) ? name : Buffer.from(name, 'utf8').toString('latin1'));
  const keyed = names.map((name) => ({ name, key: key(name) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  names = keyed.map((k) => k.name); // UTF-8 byte order, as the layout sorts
  return { kind: 'directory', name, attrs: attributesOf(stats), children: names.map((child) => readNode(join(path, child), child)) };
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
  if (!stats.isDirectory()) throw new TreeError('ISO_BAD_TREE', `"${root}" is not a directory`);
  return readDirectory(root, '', stats);
}
