/**
 * The public entry points: an image from a directory on disk or from a file map, to a file path (written
 * under a temporary name in the same directory and renamed at the end; removed on any error) or to a Writable.
 */
import { closeSync, openSync, renameSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { IsoBuilderError } from './errors.js';
import { fileMapTree, type FileMap } from './file-map.js';
import { readDirectoryTree } from './from-directory.js';
import { computeLayout, type Layout } from './layout.js';
import { validateVolumeLabel, DEFAULT_VOLUME_LABEL } from './volume-label.js';
import type { DirectoryNode, OwnershipPolicy } from './tree.js';
import { DEFAULT_BUFFER_SIZE, fileSink, streamSink, writeLayout, type WriteStats } from './writer.js';

export interface IsoOptions {
  /** Volume label (ECMA-119 8.4.6). Default "CONTEXT"; "cidata" makes a cloud-init NoCloud seed. */
  label?: string;
  /**
   * One time for every date in the image (seconds since 1970, or a Date): with it, the same tree gives the
   * same bytes. Default: SOURCE_DATE_EPOCH from `env` when set, otherwise each file's own times (as
   * genisoimage) and the current time for the volume.
   */
  epoch?: number | Date | null;
  /** `keep` owners and modes (genisoimage -R, the default) or `rationalize` them (genisoimage -r). */
  ownership?: OwnershipPolicy;
  /** Directories deeper than 8 levels: refused (`error`, default) or written in place (`allow`, genisoimage -D). */
  deepDirectories?: 'error' | 'allow';
  /** Size of the copy buffer; memory use does not grow with file sizes. Default 256 KiB. */
  bufferSize?: number;
  /** Where SOURCE_DATE_EPOCH is read from; default process.env. */
  env?: Record<string, string | undefined>;
}

export type IsoOutput = string | Writable;

export const APPLICATION_ID = 'VMCTX ISO-BUILDER';

/** The epoch in seconds that options ask for, or null for the files' own times. */
export function resolveEpoch(options: Pick<IsoOptions, 'epoch' | 'env'>): number | null {
  if (options.epoch instanceof Date) {
    if (Number.isNaN(options.epoch.getTime())) throw new IsoBuilderError('ISO_BAD_OPTION', 'epoch is an invalid Date', { where: 'epoch' });
    return Math.floor(options.epoch.getTime() / 1000);
  }
  if (typeof options.epoch === 'number') {
    if (!Number.isFinite(options.epoch) || options.epoch < 0) throw new IsoBuilderError('ISO_BAD_OPTION', `epoch ${options.epoch} is not a time in seconds since 1970`, { where: 'epoch' });
    return Math.floor(options.epoch);
  }
  if (options.epoch === null) return null;
  const fromEnv = (options.env ?? process.env).SOURCE_DATE_EPOCH;
  if (fromEnv === undefined || fromEnv === '') return null;
  if (!/^\d+$/.test(fromEnv)) throw new IsoBuilderError('ISO_BAD_OPTION', `SOURCE_DATE_EPOCH="${fromEnv}" is not a number of seconds`, { where: 'SOURCE_DATE_EPOCH' });
  return Number(fromEnv);
}

/** Layout of an image of `tree` (metadata rendered, nothing read or written yet). */
export function layoutTree(tree: DirectoryNode, options: IsoOptions = {}): Layout {
  const label = validateVolumeLabel(options.label ?? DEFAULT_VOLUME_LABEL);
  const epoch = resolveEpoch(options);
  return computeLayout(tree, {
    label,
    policy: { epoch, ownership: options.ownership ?? 'keep' },
    volumeDate: epoch ?? Math.floor(Date.now() / 1000),
    deepDirectories: options.deepDirectories ?? 'error',
    applicationId: APPLICATION_ID,
  });
}

/** Writes an image of `tree` to a path or a stream. */
export async function writeIsoTree(tree: DirectoryNode, output: IsoOutput, options: IsoOptions = {}): Promise<WriteStats> {
  const layout = layoutTree(tree, options);
  const bufferSize = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
  // A type check rather than instanceof Writable: node:stream is then never loaded for images written to files.
  if (typeof output !== 'string') return writeLayout(layout, streamSink(output), bufferSize);
  const temp = join(dirname(output), `.${basename(output)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  let fd: number;
  try {
    fd = openSync(temp, 'wx', 0o644);
  } catch (error) {
    throw new IsoBuilderError('ISO_WRITE_FAILED', `cannot create "${temp}" next to "${output}": ${(error as Error).message}`, { where: output, cause: error });
  }
  try {
    const stats = await writeLayout(layout, fileSink(fd), bufferSize);
    closeSync(fd);
    fd = -1;
    renameSync(temp, output);
    return stats;
  } catch (error) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
    if (error instanceof IsoBuilderError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('E')) {
      throw new IsoBuilderError('ISO_WRITE_FAILED', `writing "${output}" failed: ${(error as Error).message}`, { where: output, cause: error });
    }
    throw error;
  }
}

/** An image of the directory `root` (its contents become the image root), like `genisoimage -R -J root`. */
export async function writeIsoFromDirectory(root: string, output: IsoOutput, options: IsoOptions = {}): Promise<WriteStats> {
  return writeIsoTree(readDirectoryTree(root), output, options);
}

/** An image of a file map (path -> content), e.g. a generated context/ tree. */
export async function writeIsoFromFiles(files: FileMap, output: IsoOutput, options: IsoOptions = {}): Promise<WriteStats> {
  const epoch = resolveEpoch(options);
  return writeIsoTree(fileMapTree(files, epoch ?? Math.floor(Date.now() / 1000)), output, options);
}
