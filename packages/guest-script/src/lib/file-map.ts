/**
 * A file tree held in memory: relative POSIX path -> contents and mode. The context tree is one; iso-builder
 * turns one into an ISO, and `writeFileMap` puts one on disk.
 *
 * Writing is all or nothing: the tree is written into a temporary sibling folder and renamed into place, and the
 * temporary folder is removed on failure or on SIGINT/SIGTERM, so a failed write never leaves a half-filled output
 * folder.
 */
import { isVmctxError, makeFolder, removeOnSignal } from '@vmctx/contract';
import { chmod, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { GuestScriptError } from './errors.js';

export interface FileEntry {
  data: string | Uint8Array;
  /** Permission bits, e.g. 0o644. */
  mode: number;
}

export type FileMap = Record<string, FileEntry>;

const COMPONENT = /^[^/\0]+$/;

/** Throws unless every path is relative, uses '/', and has no empty, '.' or '..' component. */
export function checkFileMapPaths(files: FileMap): void {
  for (const path of Object.keys(files)) {
    const parts = path.split('/');
    if (path.startsWith('/') || parts.some((p) => !COMPONENT.test(p) || p === '.' || p === '..')) {
      throw new GuestScriptError('GUEST_INVALID_TREE', `file map path ${JSON.stringify(path)} is not a plain relative path`, path);
    }
    const mode = files[path]!.mode;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
      throw new GuestScriptError('GUEST_INVALID_TREE', `${path}: mode ${mode} is not a permission mode`, path);
    }
  }
}

/** Writes the files below `dir`, which must not exist or be an empty folder. */
export async function writeFileMap(files: FileMap, dir: string): Promise<void> {
  checkFileMapPaths(files);
  const existing = await stat(dir).catch(() => undefined);
  if (existing !== undefined && (!existing.isDirectory() || (await readdir(dir)).length > 0)) {
    throw new GuestScriptError('GUEST_OUTPUT_EXISTS', `${dir} already exists and is not an empty folder; choose another output or remove it`, dir);
  }
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}-${Date.now()}`);
  // Removed if the process is stopped by SIGINT or SIGTERM while the tree is written.
  const release = removeOnSignal(tmp, { recursive: true });
  try {
    // makeFolder, not mkdir's recursive: a read-only file system is EROFS, not ENOENT, and /proc does not hang.
    await makeFolder(tmp, 0o755);
    // Sorted, so that folders come before their contents and the result does not depend on insertion order.
    for (const path of Object.keys(files).sort()) {
      const entry = files[path]!;
      const target = join(tmp, ...path.split('/'));
      // Not for files at the top: after a signal removed the temporary folder, it is not made again.
      if (dirname(target) !== tmp) await makeFolder(dirname(target), 0o755);
      // Created owner-only, then given its mode: a secret is never readable by others in between.
      await writeFile(target, entry.data, { mode: 0o600 });
      await chmod(target, entry.mode);
    }
    if (existing !== undefined) await rm(dir, { recursive: true });
    await rename(tmp, dir);
  } catch (error) {
    // A temporary folder that could not be made cannot be removed either (ENOTDIR): that must not hide why.
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (isVmctxError(error)) throw error;
    // Said about the output asked for (the temporary folder is gone), with the system's code and path.
    throw new GuestScriptError('GUEST_WRITE_FAILED', `cannot write ${dir}: ${(error as Error).message}; nothing written`, { where: dir, cause: error });
  } finally {
    release();
  }
}
