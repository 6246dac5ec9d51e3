/**
 * The public entry points: an image from a directory on disk or from a file map, to a file path (written
 * under a temporary name in the same directory and renamed at the end; removed on any error) or to a Writable.
 */
import { closeSync, constants, fchmodSync, fchownSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { removeOnSignal } from '@vmctx/contract';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { MAX_ISO_EPOCH } from './encoding.js';
import { IsoBuilderError } from './errors.js';
import { fileMapTree, type FileMap } from './file-map.js';
import { readDirectoryTree } from './from-directory.js';
import { computeLayout, type Layout } from './layout.js';
import { validateVolumeLabel, DEFAULT_VOLUME_LABEL } from './volume-label.js';
import type { DirectoryNode, OwnershipPolicy } from './tree.js';
import { DEFAULT_BUFFER_SIZE, deviceSink, fileSink, streamSink, writeLayout, type WriteStats } from './writer.js';

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
  /**
   * Permission bits of a new image file (default 0o644; 0o600 for an image that holds secrets). An existing file
   * at the output path keeps its own mode and owner.
   */
  mode?: number;
}

export type IsoOutput = string | Writable;

export const APPLICATION_ID = 'VMCTX ISO-BUILDER';

/**
 * The epoch in seconds that options ask for, or null for the files' own times. An epoch that not every date of
 * the image can hold (before 1970, after MAX_ISO_EPOCH: 2155-12-31T23:59:59Z) is refused rather than written as
 * another date.
 */
export function resolveEpoch(options: Pick<IsoOptions, 'epoch' | 'env'>): number | null {
  if (options.epoch instanceof Date) {
    if (Number.isNaN(options.epoch.getTime())) throw new IsoBuilderError('ISO_BAD_OPTION', 'epoch is an invalid Date', { where: 'epoch' });
    return checkEpoch(Math.floor(options.epoch.getTime() / 1000), 'epoch');
  }
  if (typeof options.epoch === 'number') {
    if (!Number.isFinite(options.epoch) || options.epoch < 0) throw new IsoBuilderError('ISO_BAD_OPTION', `epoch ${options.epoch} is not a time in seconds since 1970`, { where: 'epoch' });
    return checkEpoch(Math.floor(options.epoch), 'epoch');
  }
  if (options.epoch === null) return null;
  const fromEnv = (options.env ?? process.env).SOURCE_DATE_EPOCH;
  if (fromEnv === undefined || fromEnv === '') return null;
  if (!/^\d+$/.test(fromEnv)) throw new IsoBuilderError('ISO_BAD_OPTION', `SOURCE_DATE_EPOCH="${fromEnv}" is not a number of seconds`, { where: 'SOURCE_DATE_EPOCH' });
  return checkEpoch(Number(fromEnv), 'SOURCE_DATE_EPOCH');
}

function checkEpoch(seconds: number, where: string): number {
  if (seconds >= 0 && seconds <= MAX_ISO_EPOCH) return seconds;
  const date = new Date(seconds * 1000);
  const when = Number.isNaN(date.getTime()) ? '' : ` (${date.toISOString().replace('.000Z', 'Z')})`;
  throw new IsoBuilderError(
    'ISO_BAD_OPTION',
    `${where} ${seconds}${when} is not a date an ISO 9660 image can hold: give seconds from 0 (1970-01-01T00:00:00Z) to ${MAX_ISO_EPOCH} ` +
      '(2155-12-31T23:59:59Z, the last year of the directory records\' dates, ECMA-119 9.1.5)',
    { where },
  );
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

/** Every file of `tree` read from disk, by identity ("dev:ino"), with its path. */
function inputFiles(tree: DirectoryNode): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: DirectoryNode): void => {
    for (const child of dir.children) {
      if (child.kind === 'directory') walk(child);
      else if (child.kind === 'file' && child.data.kind === 'path' && child.data.ino !== undefined) found.set(`${child.data.dev}:${child.data.ino}`, child.data.path);
    }
  };
  walk(tree);
  return found;
}

/**
 * What is at the output path now, when anything is: a regular file (replaced, keeping its mode and owner), a
 * character device or FIFO (written into as a stream, never replaced: /dev/null, a pipe), or something refused
 * (a folder, a block device, a socket, one of the image's own input files).
 */
function existingOutput(output: string, tree: DirectoryNode): Stats | undefined {
  let stats: Stats;
  try {
    stats = statSync(output);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new IsoBuilderError('ISO_WRITE_FAILED', `cannot look at "${output}": ${(error as Error).message}`, { where: output, cause: error });
  }
  if (stats.isFile()) {
    const input = inputFiles(tree).get(`${stats.dev}:${stats.ino}`);
    if (input !== undefined) throw new IsoBuilderError('ISO_BAD_OPTION', `the output "${output}" is one of the image's input files ("${input}"); choose another output`, { where: output });
    return stats;
  }
  if (stats.isCharacterDevice() || stats.isFIFO()) return stats;
  const what = stats.isDirectory() ? 'a folder' : stats.isBlockDevice() ? 'a block device (write the image to a file, then copy it)' : 'not a regular file';
  throw new IsoBuilderError('ISO_BAD_OPTION', `the output "${output}" is ${what}`, { where: output });
}

/** Writes the image into a character device or FIFO as one stream of bytes: never removed, never truncated. */
async function writeIntoDevice(layout: Layout, output: string, bufferSize: number): Promise<WriteStats> {
  let fd: number;
  try {
    fd = openSync(output, constants.O_WRONLY);
  } catch (error) {
    throw new IsoBuilderError('ISO_WRITE_FAILED', `cannot open "${output}" for writing: ${(error as Error).message}`, { where: output, cause: error });
  }
  try {
    return await writeLayout(layout, deviceSink(fd), bufferSize);
  } catch (error) {
    throw asWriteError(error, output);
  } finally {
    closeSync(fd);
  }
}

function asWriteError(error: unknown, output: string): unknown {
  if (error instanceof IsoBuilderError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && code.startsWith('E')) {
    return new IsoBuilderError('ISO_WRITE_FAILED', `writing "${output}" failed: ${(error as Error).message}`, { where: output, cause: error });
  }
  return error;
}

/**
 * Writes an image of `tree` to a path or a stream. A path gets the image through a temporary file beside it
 * (created 0600, synced, given its mode, renamed over the path; removed on any error or on SIGINT/SIGTERM).
 */
export async function writeIsoTree(tree: DirectoryNode, output: IsoOutput, options: IsoOptions = {}): Promise<WriteStats> {
  const layout = layoutTree(tree, options);
  const bufferSize = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
  // A type check rather than instanceof Writable: node:stream is then never loaded for images written to files.
  if (typeof output !== 'string') return writeLayout(layout, streamSink(output), bufferSize);
  const mode = options.mode ?? 0o644;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new IsoBuilderError('ISO_BAD_OPTION', `mode ${mode} is not a permission mode`, { where: 'mode' });
  const existing = existingOutput(output, tree);
  if (existing !== undefined && !existing.isFile()) return writeIntoDevice(layout, output, bufferSize);
  const temp = join(dirname(output), `.${basename(output)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  let fd: number;
  try {
    fd = openSync(temp, 'wx', 0o600);
  } catch (error) {
    throw new IsoBuilderError('ISO_WRITE_FAILED', `cannot create "${temp}" next to "${output}": ${(error as Error).message}`, { where: output, cause: error });
  }
  const release = removeOnSignal(temp);
  try {
    const stats = await writeLayout(layout, fileSink(fd), bufferSize);
    if (existing !== undefined) {
      // The file replaced keeps its owner (where this process may give it) and its mode: a secret stays 0600.
      try {
        if (existing.uid !== process.getuid?.() || existing.gid !== process.getgid?.()) fchownSync(fd, existing.uid, existing.gid);
      } catch {
        // Not ours to give away: the mode is kept all the same.
      }
    }
    fchmodSync(fd, existing !== undefined ? existing.mode & 0o7777 : mode);
    fsyncSync(fd);
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
    throw asWriteError(error, output);
  } finally {
    release();
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
