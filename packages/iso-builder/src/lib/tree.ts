/**
 * The tree an image is built from, whatever its source (a directory on disk or a file map), and the
 * attribute policy applied to it (times from an epoch, ownership and modes kept or rationalized).
 */
import { IsoBuilderError } from './errors.js';

/**
 * Where a file's bytes come from when the image is written. A path carries the identity (device and inode) of
 * the file that was listed, when it was listed: the copy opens the path without following a link and reads it
 * only when the file opened is that very one (a file swapped for a link or another file in between is refused).
 */
export type FileData = { kind: 'path'; path: string; dev?: number; ino?: number } | { kind: 'buffer'; buffer: Buffer };

export interface Attributes {
  /** Permission bits (07777), without the file type. */
  mode: number;
  uid: number;
  gid: number;
  /** Times in seconds since the Unix epoch. */
  mtime: number;
  atime: number;
  ctime: number;
}

export interface DirectoryNode {
  kind: 'directory';
  name: string;
  attrs: Attributes;
  children: TreeNode[];
}
export interface FileNode {
  kind: 'file';
  name: string;
  attrs: Attributes;
  size: number;
  data: FileData;
  /** Names the source file has (st_nlink): above 1, files of its device and inode in the tree are hard links. */
  links?: number;
}
export interface SymlinkNode {
  kind: 'symlink';
  name: string;
  attrs: Attributes;
  target: string;
}
export type TreeNode = DirectoryNode | FileNode | SymlinkNode;

/** `keep` writes owners and modes as they are (genisoimage -R); `rationalize` as genisoimage -r does. */
export type OwnershipPolicy = 'keep' | 'rationalize';

export interface AttributePolicy {
  /** Every time in the image, in seconds; null keeps each file's own times. */
  epoch: number | null;
  ownership: OwnershipPolicy;
}

/**
 * genisoimage -r: owner and group 0, every read bit on, every execute bit on if any is, no write bits and no
 * set-id or sticky bits (a read-only medium; set-id bits with owner 0 are not wanted).
 */
export function rationalizeMode(mode: number): number {
  let m = mode | 0o444;
  if (m & 0o111) m |= 0o111;
  return m & ~0o7222;
}

export function applyPolicy(attrs: Attributes, policy: AttributePolicy): Attributes {
  const e = policy.epoch;
  const rationalize = policy.ownership === 'rationalize';
  return {
    mode: rationalize ? rationalizeMode(attrs.mode & 0o7777) : attrs.mode & 0o7777,
    uid: rationalize ? 0 : attrs.uid,
    gid: rationalize ? 0 : attrs.gid,
    mtime: e === null ? attrs.mtime : e,
    atime: e === null ? attrs.atime : e,
    ctime: e === null ? attrs.ctime : e,
  };
}

/** Rock Ridge NM and the kernels that read it allow names of up to 255 bytes. */
export const MAX_NAME_BYTES = 255;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Throws unless `name` can be one path component in the image. `where` names it in the message. */
export function checkName(name: string, where: string): void {
  if (name === '' || name === '.' || name === '..') throw new IsoBuilderError('ISO_BAD_NAME', `${where}: "${name}" is not a file name`, { where });
  if (name.includes('/')) throw new IsoBuilderError('ISO_BAD_NAME', `${where}: name "${name}" contains "/"`, { where });
  if (name.includes('\0')) throw new IsoBuilderError('ISO_BAD_NAME', `${where}: name ${JSON.stringify(name)} contains a NUL character`, { where });
  if (LONE_SURROGATE.test(name)) throw new IsoBuilderError('ISO_BAD_NAME', `${where}: name ${JSON.stringify(name)} is not valid Unicode`, { where });
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_NAME_BYTES) throw new IsoBuilderError('ISO_BAD_NAME', `${where}: name is ${bytes} bytes long; at most ${MAX_NAME_BYTES}`, { where });
}
