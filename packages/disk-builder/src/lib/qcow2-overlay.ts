/**
 * Writes a qcow2 overlay file: the layout of `qcow2-overlay-layout.ts` written to a temporary name beside the
 * target, flushed, then renamed over it. On any error (or SIGINT/SIGTERM) the temporary file is removed and the
 * target is untouched.
 */
import { randomBytes } from 'node:crypto';
import { removeOnSignal } from '@vmctx/contract';
import { open, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DiskBuilderError } from './errors.js';
import { inspectChain, localBackingPath } from './inspect.js';
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
  const target = await regularFileTarget(options.path);
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let handle;
  try {
    handle = await open(temp, 'wx', 0o644);
  } catch (error) {
    throw writeFailed(options.path, error);
  }
  const release = removeOnSignal(temp);
  try {
    for (const run of layout.runs) await handle.write(run.bytes, 0, run.bytes.length, run.offset);
    // The zero L1 table and the rest of the metadata clusters: a hole reads as zeros.
    await handle.truncate(layout.length);
    if (options.sync !== false) await handle.datasync();
    await handle.close();
    handle = undefined;
    await rename(temp, target);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw writeFailed(options.path, error);
  } finally {
    release();
  }
  const { runs: _runs, ...rest } = layout;
  return { ...rest, path: options.path };
}

/**
 * Where the overlay goes: the path, or through a symbolic link the file it names (as qemu-img writes through it;
 * a rename over the link would replace the link instead). An existing device node (/dev/full, /dev/null), FIFO or
 * socket is refused: the rename would replace the node with a regular file. (A folder there makes the rename
 * fail by itself, leaving it as it was.)
 */
async function regularFileTarget(path: string): Promise<string> {
  const target = await realpath(path).catch(() => path);
  const existing = await stat(target).catch(() => undefined);
  if (existing !== undefined && !existing.isFile() && !existing.isDirectory()) {
    const what = existing.isCharacterDevice() ? 'a character device' : existing.isBlockDevice() ? 'a block device' : existing.isFIFO() ? 'a FIFO' : 'not a regular file';
    throw new DiskBuilderError('DISK_TARGET_NOT_FILE', `${path} is ${what}; an overlay is written only to a regular file (the rename would replace the node)`, { where: path });
  }
  return target;
}

/**
 * Replacing the backing file with an overlay of itself would destroy the base image; replacing any image further
 * down its chain (`-b good.qcow2 base.raw` where good.qcow2's backing is base.raw) would too, and make a loop.
 * The chain is followed as far as it is present locally.
 */
async function refuseOverwritingBacking(path: string, backingFile: string): Promise<void> {
  let backingPath: string;
  try {
    backingPath = localBackingPath(backingFile, path);
  } catch {
    return; // a protocol name is never the local output file
  }
  const target = await stat(path).catch(() => undefined);
  if (target === undefined) return;
  const isTarget = async (image: string): Promise<boolean> => {
    const info = await stat(image).catch(() => undefined);
    return info !== undefined && info.dev === target.dev && info.ino === target.ino;
  };
  if (await isTarget(backingPath)) {
    throw new DiskBuilderError('DISK_BACKING_IS_TARGET', `${path} is the backing file itself (${backingFile}); refusing to overwrite the base image`, { where: path });
  }
  let chain: string[];
  try {
    chain = (await inspectChain(backingPath)).images.map((image) => image.path);
  } catch (error) {
    // A chain that already loops through the target, or goes too deep, is refused below by its own error.
    if (error instanceof DiskBuilderError && (error.code === 'DISK_BACKING_LOOP' || error.code === 'DISK_CHAIN_TOO_DEEP')) throw error;
    return; // a backing file that cannot be read is not this command's to judge (qemu-img does not either)
  }
  for (const image of chain.slice(1)) {
    if (await isTarget(image)) {
      throw new DiskBuilderError('DISK_BACKING_IS_TARGET', `${path} is in the backing chain of ${backingFile} (through ${image}); refusing to overwrite it and make a loop`, { where: path });
    }
  }
}

function writeFailed(path: string, error: unknown): DiskBuilderError {
  const reason = error instanceof Error ? error.message : String(error);
  return new DiskBuilderError('DISK_WRITE_FAILED', `could not write overlay ${path}: ${reason}`, { where: path, cause: error });
}
