/**
 * Builds a tree from an in-memory file map: image path -> content. Paths use "/" and are relative to the
 * image root; missing parent directories are created. Names are checked (no NUL, no "/", no "." or "..").
 */
import { lstatSync, type Stats } from 'node:fs';
import { IsoBuilderError } from './errors.js';
import { checkName, type Attributes, type DirectoryNode, type TreeNode } from './tree.js';

export interface FileMapOptionsEntry {
  mode?: number;
  /** Modification time; seconds or a Date. Default: the build's date. */
  mtime?: number | Date;
}
export type FileMapEntry =
  | string
  | Uint8Array
  | (FileMapOptionsEntry & { data: string | Uint8Array })
  | (FileMapOptionsEntry & { file: string })
  | (FileMapOptionsEntry & { symlink: string })
  | (FileMapOptionsEntry & { directory: true });

export type FileMap = Record<string, FileMapEntry> | Map<string, FileMapEntry> | Iterable<[string, FileMapEntry]>;

const FILE_MODE = 0o644;
const DIRECTORY_MODE = 0o755;
const SYMLINK_MODE = 0o777;

function seconds(time: number | Date | undefined, fallback: number): number {
  if (time === undefined) return fallback;
  return time instanceof Date ? Math.floor(time.getTime() / 1000) : Math.floor(time);
}

function entriesOf(map: FileMap): [string, FileMapEntry][] {
  if (map instanceof Map) return [...map.entries()];
  if (Symbol.iterator in map) return [...(map as Iterable<[string, FileMapEntry]>)];
  return Object.entries(map as Record<string, FileMapEntry>);
}

/** The tree of a file map; `now` (seconds) dates entries that carry no time of their own. */
export function fileMapTree(map: FileMap, now: number): DirectoryNode {
  const attrs = (mode: number, mtime: number): Attributes => ({ mode, uid: 0, gid: 0, mtime, atime: mtime, ctime: mtime });
  const root: DirectoryNode = { kind: 'directory', name: '', attrs: attrs(DIRECTORY_MODE, now), children: [] };
  const explicit = new Set<DirectoryNode>();

  const directoryAt = (parts: string[], where: string): DirectoryNode => {
    let dir = root;
    for (const part of parts) {
      const found = dir.children.find((c) => c.name === part);
      if (found === undefined) {
        const created: DirectoryNode = { kind: 'directory', name: part, attrs: attrs(DIRECTORY_MODE, now), children: [] };
        dir.children.push(created);
        dir = created;
      } else if (found.kind === 'directory') {
        dir = found;
      } else {
        throw new IsoBuilderError('ISO_DUPLICATE_NAME', `file map "${where}": "${parts.join('/')}" is a ${found.kind}, not a directory`, { where });
      }
    }
    return dir;
  };

  for (const [rawPath, value] of entriesOf(map)) {
    const where = `file map "${rawPath}"`;
    const parts = rawPath.replace(/^\/+/, '').split('/');
    if (parts.length > 0 && parts[parts.length - 1] === '' && typeof value === 'object' && value !== null && 'directory' in value) parts.pop();
    parts.forEach((part) => checkName(part, where));
    const name = parts.pop() as string;
    const parent = directoryAt(parts, rawPath);
    const existing = parent.children.find((c) => c.name === name);
    const options: FileMapOptionsEntry = typeof value === 'string' || value instanceof Uint8Array ? {} : value;
    const mtime = seconds(options.mtime, now);
    let node: TreeNode;
    if (typeof value === 'string' || value instanceof Uint8Array || 'data' in value) {
      const raw = typeof value === 'string' || value instanceof Uint8Array ? value : value.data;
      const buffer = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      node = { kind: 'file', name, attrs: attrs(options.mode ?? FILE_MODE, mtime), size: buffer.length, data: { kind: 'buffer', buffer } };
    } else if ('file' in value) {
      let stats: Stats;
      try {
        stats = lstatSync(value.file);
        if (!stats.isFile()) throw new Error('not a regular file');
      } catch (error) {
        throw new IsoBuilderError('ISO_BAD_TREE', `${where}: cannot use "${value.file}": ${(error as Error).message}`, { where });
      }
      const data = { kind: 'path', path: value.file, dev: stats.dev, ino: stats.ino } as const;
      node = { kind: 'file', name, attrs: attrs(options.mode ?? FILE_MODE, mtime), size: stats.size, data };
    } else if ('symlink' in value) {
      if (value.symlink === '' || value.symlink.includes('\0')) throw new IsoBuilderError('ISO_BAD_NAME', `${where}: symbolic link target ${JSON.stringify(value.symlink)} is not valid`, { where });
      node = { kind: 'symlink', name, attrs: attrs(options.mode ?? SYMLINK_MODE, mtime), target: value.symlink };
    } else if ('directory' in value) {
      if (existing?.kind === 'directory' && !explicit.has(existing)) {
        existing.attrs = attrs(options.mode ?? DIRECTORY_MODE, mtime);
        explicit.add(existing);
        continue;
      }
      node = { kind: 'directory', name, attrs: attrs(options.mode ?? DIRECTORY_MODE, mtime), children: [] };
      explicit.add(node);
    } else {
      throw new IsoBuilderError('ISO_BAD_TREE', `${where}: expected a string, bytes, or an object with data, file, symlink or directory`, { where });
    }
    if (existing !== undefined) throw new IsoBuilderError('ISO_DUPLICATE_NAME', `${where}: "${[...parts, name].join('/')}" is given twice`, { where });
    parent.children.push(node);
  }
  return root;
}
