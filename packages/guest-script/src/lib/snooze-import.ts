/**
 * An existing context folder (Snooze's `context/`: post-install, common/network, common/routes, lib/,
 * distributions/...) read as it is into a file map, each file with its own mode, so that it goes onto the CD
 * unchanged. Nothing is rewritten: its post-install keeps its own conventions (bash, run-parts, eth0).
 */
import { CONTEXT_FILES } from '@vmctx/contract';
import { constants } from 'node:fs';
import { nonUtf8Names } from '@vmctx/contract';
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GuestScriptError } from './errors.js';
import type { FileMap } from './file-map.js';

/** A file of a context folder, listed without being read: where it is on disk, its mode, size and identity. */
export interface ListedFile {
  /** Relative POSIX path on the CD. */
  path: string;
  /** Where it is on disk. */
  file: string;
  mode: number;
  size: number;
  dev: number;
  ino: number;
}

/**
 * The files of a context folder, metadata only (lstat): for writers that stream them (`vmctx context iso` of a
 * folder reads each file once, as it copies it, never the whole tree into memory). Links and special files are
 * refused, as by readContextFolder.
 */
export async function listContextFolder(dir: string): Promise<ListedFile[]> {
  const top = await lstat(dir).catch(() => undefined);
  if (top === undefined || !top.isDirectory()) {
    throw new GuestScriptError('GUEST_NOT_A_CONTEXT_FOLDER', `${dir} is not a folder`, dir);
  }
  const files: ListedFile[] = [];
  async function walk(relative: string): Promise<void> {
    const names = (await readdir(join(dir, relative))).sort();
    // Node reads a name that is not UTF-8 with U+FFFD, which names no file: said here, its bytes escaped.
    const notUtf8 = nonUtf8Names(join(dir, relative), names);
    if (notUtf8.length > 0) {
      const path = relative === '' ? notUtf8[0]! : `${relative}/${notUtf8[0]}`;
      throw new GuestScriptError('GUEST_INVALID_TREE', `${join(dir, path)}: the name is not UTF-8; a context CD's names are written from UTF-8: rename it`, path);
    }
    for (const name of names) {
      const path = relative === '' ? name : `${relative}/${name}`;
      const file = join(dir, path);
      const info = await lstat(file);
      if (info.isDirectory()) await walk(path);
      else if (info.isFile()) files.push({ path, file, mode: info.mode & 0o7777, size: info.size, dev: info.dev, ino: info.ino });
      else {
        throw new GuestScriptError(
          'GUEST_INVALID_TREE',
          `${file} is ${info.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}; a context folder holds files and folders only`,
          path,
        );
      }
    }
  }
  await walk('');
  return files;
}

/**
 * Reads a listed file: opened without following a link (O_NOFOLLOW) and read only when it is the very file that
 * was listed (same device and inode, still a regular file), so that a file swapped for a link to /etc/shadow
 * between the listing and the read is refused.
 */
export async function readListedFile(listed: ListedFile): Promise<Buffer> {
  let handle;
  try {
    handle = await open(listed.file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const what = code === 'ELOOP' ? 'became a symbolic link after it was listed' : `cannot be read: ${(error as Error).message}`;
    throw new GuestScriptError('GUEST_INVALID_TREE', `${listed.file} ${what}`, listed.path);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile() || info.dev !== listed.dev || info.ino !== listed.ino) {
      throw new GuestScriptError('GUEST_INVALID_TREE', `${listed.file} was replaced after it was listed; it is not read`, listed.path);
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

export async function readContextFolder(dir: string): Promise<FileMap> {
  const files: FileMap = {};
  for (const listed of await listContextFolder(dir)) files[listed.path] = { data: await readListedFile(listed), mode: listed.mode };
  return files;
}

/** What the guest will do with this tree, said before building a CD that would only fall back to DHCP. */
export function contextTreeProblems(files: Readonly<Record<string, { mode: number }>>): string[] {
  const problems: string[] = [];
  const postInstall = files[CONTEXT_FILES.postInstall];
  if (postInstall === undefined) problems.push('no post-install at the top: guests will fall back to DHCP');
  else if ((postInstall.mode & 0o100) === 0) problems.push('post-install is not executable (the guest runs it with its interpreter anyway)');
  return problems;
}
