/**
 * Uploads a local file to a controller as remote outputs are written everywhere in vmctx: to a temporary name
 * beside the target, verified on the controller, then published under its final name; a half-sent file never
 * carries the final name.
 *
 * Only the file's data travels (issue 22): a base image of 2 GiB holding 305 MiB sends 305 MiB, and its holes stay
 * holes on the controller. The bytes go through one exec channel (OpenSSH's scp does the same over one channel) as
 * frames (controller/sparse-frames.ts: `OFFSET LENGTH`, then the bytes), which sh/upload-receive.sh writes at their
 * offsets with `dd`; after the last, it reads back the data alone (not the holes) into the controller's fastest
 * sha256 (openssl where present) and checks the file's sparse digest (controller/sparse-digest.ts: the runs of data
 * and their sum), which identifies the file as its sha256 does. Both are computed here in one reading of the file
 * (artifacts/cache.ts digestOf, once a file), or, for a file given without it, read before the sending. The local
 * file is read with back-pressure, so memory stays flat whatever the image's size.
 *
 * Resumable: the temporary name is the target's and the content's (`.NAME.vmctx-part.<sha256:16>`), and what
 * arrived of an upload that was cut (connection dropped, deployer killed) is kept there. Frames are written in
 * order and the whole size set last, so the part's size is how far it is final: the next upload of the same bytes
 * is told that offset by the controller, says the runs below it as kept and sends only the frames after it, and the
 * digest covers the kept part (read back once) and the rest together: a kept part that is not a prefix of the file
 * fails it and is removed.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RemoteCommands } from './command-batch.js';
import type { ControllerConnection } from './connection.js';
import { ChunkFanOut } from './fan-out.js';
import { FrameCompression } from './frame-compression.js';
import { digestsOf } from './sparse-digest.js';
import { framesOf, readChunks, sparseFrames, type FrameProgress } from './sparse-frames.js';
import { FileIdentity, readAnswer, ResumeFrom, Sha256 } from '../sh/answers.js';
import { FILE_SHA256_SH, UPLOAD_RECEIVE_SH } from '../sh/sh.generated.js';
import { DeployerError } from '../errors.js';

export interface UploadOptions {
  /** The file's sha256 (hex), known from the local cache: its name's. */
  sha256: string;
  /** Its sparse digest (controller/sparse-digest.ts), what the controller checks; read from the file when not given. */
  sparseSha256?: string;
  size: number;
  /** Octal mode of the final file. Default 0600: context ISOs may hold secrets. */
  mode?: string;
  /** Told how far into the file the upload has reached (holes included), and the bytes that went on the wire. */
  onProgress?: (sent: number, total: number, wire: number) => void;
}

/** Where an upload of these bytes to `remotePath` is received, and kept when it is cut. */
export function partialPath(remotePath: string, sha256: string): string {
  return posix.join(posix.dirname(remotePath), `.${posix.basename(remotePath)}.vmctx-part.${sha256.slice(0, 16)}`);
}

/** How much of the receiving command's stderr is kept for the error message. */
const STDERR_KEPT = 4096;
/** Bytes of frames read ahead of the channel. */
const READ_AHEAD = 8 * 1024 * 1024;

/** Sends the file (what the controller does not hold of it yet) and publishes it at `remotePath`; returns its identity. */
export async function uploadFile(connection: ControllerConnection, localPath: string, remotePath: string, options: UploadOptions): Promise<string> {
  const ready = await openForUpload(localPath, options);
  if (ready instanceof Error) throw nothingSent(connection, localPath, remotePath, ready);
  const { local, sparseSha256 } = ready;
  try {
    return await receiveUpload(connection, localPath, remotePath, { ...options, sparseSha256 }, (from, onProgress, compression) =>
      sparseFrames(local, from, options.size, onProgress, compression),
    );
  } finally {
    await local.close();
  }
}

export interface UploadTarget {
  connection: ControllerConnection;
  remotePath: string;
  /** This controller's progress (UploadOptions.onProgress is not called). */
  onProgress?: UploadOptions['onProgress'];
}

/**
 * The same file to several controllers, read from the local disk once (controller/fan-out.ts: a bounded queue per
 * controller; a slow one holds the others back only once its queue is full, a failed one not at all). Each
 * controller resumes from what it holds (the data below it said as kept). Returns, in the order of the targets,
 * each one's identity or its error: one controller's failure is not the others'.
 */
export async function uploadFileToMany(targets: readonly UploadTarget[], localPath: string, options: UploadOptions): Promise<Array<string | DeployerError>> {
  const ready = await openForUpload(localPath, options);
  if (ready instanceof Error) return targets.map(({ connection, remotePath }) => nothingSent(connection, localPath, remotePath, ready));
  const { local, sparseSha256 } = ready;
  const fanOut = new ChunkFanOut(targets.length, () => readChunks(local, options.size));
  try {
    return await Promise.all(
      targets.map(async ({ connection, remotePath, onProgress }) => {
        let joined = false;
        try {
          return await receiveUpload(connection, localPath, remotePath, { ...options, sparseSha256, onProgress }, (from, progress, compression) => {
            joined = true;
            // Every chunk whatever `from`: the runs below it are said as kept (sparse-frames.ts).
            return framesOf(fanOut.join(), from, options.size, progress, compression);
          });
        } catch (error) {
          return error as DeployerError;
        } finally {
          if (!joined) fanOut.leave();
        }
      }),
    );
  } finally {
    await local.close();
  }
}

/**
 * The local file, opened, and its sparse digest, before the controller is asked anything: a file that cannot be
 * read (or that changed) leaves nothing there.
 */
async function openForUpload(localPath: string, options: UploadOptions): Promise<{ local: FileHandle; sparseSha256: string } | Error> {
  const local = await open(localPath).catch((error: Error) => error);
  if (local instanceof Error) return local;
  const sparseSha256 = await sparseDigestOf(local, options).catch((error: Error) => error);
  if (sparseSha256 instanceof Error) {
    await local.close();
    return sparseSha256;
  }
  return { local, sparseSha256 };
}

/** The error of an upload that stopped before anything was sent. */
function nothingSent(connection: ControllerConnection, localPath: string, remotePath: string, cause: Error): DeployerError {
  const lc = connection.controller.name;
  return new DeployerError('REMOTE_UPLOAD_FAILED', `${lc}: upload of ${localPath} to ${remotePath} failed: ${cause.message}; nothing was sent`, { where: lc, cause });
}

/**
 * The sparse digest given, or that of the open file as it is now, read through the handle the upload then reads (it
 * must still have the sha256 and size given).
 */
async function sparseDigestOf(local: FileHandle, options: UploadOptions): Promise<string> {
  if (options.sparseSha256) return options.sparseSha256;
  const digests = await digestsOf(local);
  if (digests.sha256 !== options.sha256 || digests.size !== options.size) {
    throw new Error(`the file changed: it now holds ${digests.size} bytes of sha256 ${digests.sha256.slice(0, 16)}, not ${options.size} of ${options.sha256.slice(0, 16)}`);
  }
  return digests.sparseSha256;
}

/**
 * One upload's command on the controller: told where to start, sends `frames(from)` and reads the verdict; the
 * errors say what is left there.
 */
async function receiveUpload(
  connection: ControllerConnection,
  localPath: string,
  remotePath: string,
  options: UploadOptions & { sparseSha256: string },
  frames: (from: number, onProgress: (progress: FrameProgress) => void, compression: FrameCompression) => AsyncIterable<Buffer>,
): Promise<string> {
  const lc = connection.controller.name;
  const temp = partialPath(remotePath, options.sha256);
  let resumedFrom = 0;
  let reached = 0;
  let stderr = '';
  let stdout = '';
  let code: number;
  try {
    // Receive, verify, publish, in one command (sh/upload-receive.sh: its header says its arguments, what it prints
    // and its exits): one channel, one process; a second command to verify cost a channel and a shell more
    // (1.35 s of 7.1 s for 512 MiB on a quiet lab, tools/bench/deploy.sh, when it read the file again).
    code = await connection.withChannel(['sh', '-c', UPLOAD_RECEIVE_SH, 'vmctx-upload', temp, options.sparseSha256, remotePath, options.mode ?? '0600', String(options.size)], async (channel) => {
      const exit = new Promise<number>((resolve) => {
        let status = 255;
        channel.on('exit', (c: number | null) => {
          status = c ?? 255;
        });
        channel.on('close', () => resolve(status));
      });
      // The controller's first line says where to start; the command may also end before it (it could not write).
      const start = new Promise<{ from: number; gzip: boolean } | undefined>((resolve) => {
        channel.on('data', (chunk: Buffer) => {
          stdout += chunk.toString('utf8');
          // Only a first line of that shape starts the sending; anything else waits for the command's end.
          const newline = stdout.indexOf('\n');
          const line = newline < 0 ? undefined : ResumeFrom.safeParse(stdout.slice(0, newline));
          if (line?.success) resolve(line.data);
        });
        channel.on('close', () => resolve(undefined));
      });
      channel.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < STDERR_KEPT) stderr += chunk.toString('utf8').slice(0, STDERR_KEPT - stderr.length);
      });
      const started = await start;
      if (started === undefined) return exit;
      const { from, gzip } = started;
      resumedFrom = from;
      reached = from;
      const compression = new FrameCompression(connection.controller.compression ?? 'auto', gzip);
      const sending = frames(
        from,
        ({ position, wire }) => {
          reached = position;
          options.onProgress?.(position, options.size, wire);
        },
        compression,
      );
      try {
        await pipeline(Readable.from(sending, { objectMode: false, highWaterMark: READ_AHEAD }), channel);
      } catch (error) {
        // The command may have ended first (dd on a full file system: exit 5 with dd's message), which breaks the
        // sending ("Premature close"): its exit and stderr say why. Without an exit status, the sending's error does.
        const status = await exit;
        if (status === 0 || status === 255) throw error;
      }
      return exit;
    });
    // Exit 7 (the stream ended before its end) and any other: a failed upload, what arrived kept.
    if (code !== 0 && code !== 3 && code !== 4 && code !== 6) throw new Error(`receiving into ${temp} exited ${code}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
  } catch (error) {
    // What arrived stays at the temporary name for the next upload to resume, unless the controller removed it (exit
    // 5: a read or write error there).
    const left = code! === 5 ? 'the partial file was removed' : `what arrived is kept in ${temp} for the next deploy to resume`;
    throw new DeployerError(
      'REMOTE_UPLOAD_FAILED',
      `${lc}: upload of ${localPath} to ${remotePath} failed after ${reached} of ${options.size} bytes${resumedFrom > 0 ? ` (resumed at ${resumedFrom})` : ''}: ${(error as Error).message}; ${left}`,
      { where: lc, cause: error },
    );
  }
  if (code === 6) {
    throw new DeployerError('REMOTE_UPLOAD_FAILED', `${lc}: ${remotePath} appeared on the controller during the upload; it was left as it is, and the upload removed`, { where: lc });
  }
  if (code !== 0) {
    // Exit 3 or 4: the command removed the file itself.
    const why = code === 3 ? `${stderr.trim()}, expected ${options.sparseSha256}` : stderr.trim();
    throw new DeployerError('REMOTE_UPLOAD_UNVERIFIED', `${lc}: ${remotePath} uploaded but not verified (${why}); removed`, { where: lc });
  }
  const identity = readAnswer(FileIdentity, stdout.trim().split('\n').pop()!);
  if (!identity.ok) throw new DeployerError('REMOTE_UPLOAD_FAILED', `${lc}: ${remotePath} uploaded and verified, but its identity (sh/common/file-identity.sh) reads ${identity.why}`, { where: lc });
  return identity.value;
}

/** The sha256 of a file on the controller, or undefined when it does not exist. */
export async function remoteSha256(connection: RemoteCommands, remotePath: string): Promise<string | undefined> {
  const result = await connection.exec(['sh', '-c', FILE_SHA256_SH, 'vmctx-sha256', remotePath]);
  if (result.code === 9) return undefined;
  if (result.code !== 0) {
    throw new DeployerError('REMOTE_COMMAND_FAILED', `${connection.controller.name}: sha256 of ${remotePath} failed: ${result.stderr.trim()}`, { where: connection.controller.name });
  }
  const sum = readAnswer(Sha256, result.stdout.trim());
  if (!sum.ok) throw new DeployerError('REMOTE_COMMAND_FAILED', `${connection.controller.name}: sha256 of ${remotePath} reads ${sum.why}`, { where: connection.controller.name });
  return sum.value;
}
