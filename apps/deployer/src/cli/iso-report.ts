/**
 * What `vmctx context iso` and `vmctx iso` say about an image written to a file: one line on stdout (path, size in
 * bytes, sha256, tab-separated, as @vmctx/nx-context-iso prints it), or with --json one JSON object per line.
 */
import { stat } from 'node:fs/promises';
import type { CommandIo } from './command-io.js';

export interface IsoReport {
  path: string;
  bytes: number;
  sha256: string;
}

/**
 * The report of an image just written to `path` (hashed by reading it back); none for an image written into a
 * device or FIFO (/dev/null, a pipe), which cannot be read back.
 */
export async function isoReport(path: string, bytes: number): Promise<IsoReport | undefined> {
  if (!(await stat(path)).isFile()) return undefined;
  // Imported here, not at start-up: `vmctx iso --help` loads this file (program.ts's start-up budget).
  const { sha256File } = await import('@vmctx/disk-builder');
  return { path, bytes, sha256: await sha256File(path) };
}

export function printIsoReport(io: Pick<CommandIo, 'stdout'>, report: IsoReport, json = false): void {
  io.stdout(json ? `${JSON.stringify(report)}\n` : `${report.path}\t${report.bytes}\t${report.sha256}\n`);
}
