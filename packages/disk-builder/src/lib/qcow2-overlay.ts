/**
 * Writes a qcow2 overlay file: the layout of `qcow2-overlay-layout.ts` written to a temporary name beside the
 * target, flushed, then renamed over it. On any error the temporary file is removed and the target is untouched.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DiskBuilderError } from './errors.js';
import { localBackingPath } from './inspect.js';
import { layoutOverlay, type OverlayLayout, type OverlayOptions } from './qcow2-overlay-layout.js';

export interface CreateOverlayOptions extends OverlayOptions {
  /** Where to write the overlay. An existing file is replaced, as qemu-img does. */
  path: string;
  /** fdatasync before the rename (default true), so that a crash leaves the old file or the whole new one. */
  sync?: boolean;
}

export type CreatedOverlay = Omit<OverlayLayout, 'runs'> & { path: string };

export async function createOverlay(options: CreateOverlayOptions): Promise<CreatedOverlay> {
  // All validation happens here, before anything touches the file system.
  const layout = layoutOverlay(options);
  await refuseOverwritingBacking(options.path, options.backingFile);
  const temp = join(dirname(options.path), `.${basename(options.path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let handle;
  try {
    handle = await open(temp, 'wx', 0o644);
  } catch (error) {
    throw writeFailed(options.path, error);
  }
  try {
    for (const run of layout.runs) await handle.write(run.bytes, 0, run.bytes.length, run.offset);
    // The zero L1 table and the rest of the metadata clusters: a hole reads as zeros.
    await handle.truncate(layout.length);
    if (options.sync !== false) await handle.datasync();
    await handle.close();
    handle = undefined;
    await rename(temp, options.path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw writeFailed(options.path, error);
  }
  const { runs: _runs, ...rest } = layout;
  return { ...rest, path: options.path };
}

/** Replacing the backing file with an overlay of itself would destroy the base image. */
async function refuseOverwritingBacking(path: string, backingFile: string): Promise<void> {
  let backingPath: string;
  try {
    backingPath = localBackingPath(backingFile, path);
  } catch {
    return; // a protocol name is never the local output file
  }
  const [target, backing] = await Promise.all([stat(path).catch(() => undefined), stat(backingPath).catch(() => undefined)]);
  if (target && backing && target.dev === backing.dev && target.ino === backing.ino) {
    throw new DiskBuilderError('DISK_BACKING_IS_TARGET', `${path} is the backing file itself (${backingFile}); refusing to overwrite the base image`);
  }
}

function writeFailed(path: string, error: unknown): DiskBuilderError {
  const reason = error instanceof Error ? error.message : String(error);
  return new DiskBuilderError('DISK_WRITE_FAILED', `could not write overlay ${path}: ${reason}`, { where: path, cause: error });
}
