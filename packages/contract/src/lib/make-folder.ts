/**
 * `mkdir -p` that says what went wrong, for every writer of an output folder. Node's `mkdir(path, { recursive: true })`
 * answers a failed mkdir with the stat of the folder it could not make: a read-only file system (EROFS) or a folder
 * it may not write (EACCES) comes back as ENOENT, "no such file or directory", about the very folder it was asked
 * to create; and where mkdir itself answers ENOENT under a parent that exists (/proc, /sys) it retries forever.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Makes `path` and the parents it lacks; an error is mkdir's own (EROFS, EACCES, ENOTDIR, ENOSPC...), with its path. */
export async function makeFolder(path: string, mode = 0o777): Promise<void> {
  try {
    await mkdir(path, { mode });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return existingFolder(path, error);
    const parent = dirname(path);
    if (code !== 'ENOENT' || parent === path) throw error;
    await makeFolder(parent, mode);
    // Once: a second ENOENT under a parent that exists is the file system's answer (/proc), not a missing parent.
    await mkdir(path, { mode }).catch((again: NodeJS.ErrnoException) => (again.code === 'EEXIST' ? existingFolder(path, again) : Promise.reject(again)));
  }
}

/** An EEXIST is fine when a folder (or a link to one) is there, and mkdir's error otherwise (a file of that name). */
async function existingFolder(path: string, error: unknown): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory() !== true) throw error;
}
