/**
 * Uploads a local file to a controller as remote outputs are written everywhere in vmctx: to a temporary name
 * beside the target, verified (sha256 computed on the controller), then renamed; on any failure the temporary
 * file is removed, so a half-sent file never carries the final name.
 *
 * The bytes go through one exec channel (OpenSSH's scp does the same over one channel), into `tee` that writes the
 * temporary file and feeds `sha256sum` as they arrive; the same command then compares and renames. The local file
 * is streamed with back-pressure, so memory stays flat whatever the image's size.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VmctxError } from '@vmctx/contract';
import type { RemoteCommands } from './command-batch.js';
import type { ControllerConnection } from './connection.js';
import { FILE_IDENTITY_FORMAT } from './file-identity.js';

export interface UploadOptions {
  /** The file's sha256 (hex), known from the local cache: what the controller must find. */
  sha256: string;
  size: number;
  /** Octal mode of the final file. Default 0600: context ISOs may hold secrets. */
  mode?: string;
  /** Told the bytes sent so far. */
  onProgress?: (sent: number, total: number) => void;
}

/**
 * Receive, verify, publish, in one command: the sum is taken on the controller from the bytes `tee` writes, as they
 * arrive. Reading the file again afterwards, in a second command, took 1.35 s of 7.1 s for 512 MiB on a quiet lab;
 * now 0.1 s follow the last byte (tools/bench/deploy.sh part 1). What tee could not write fails the upload (exit 5,
 * its own message on stderr); a sum that is not the one expected removes the file (exit 3); no sum is exit 4.
 * The temporary name is this upload's own and made with noclobber (set -C), so a file or link planted there is not
 * written through. Published with `ln -T` (link(2)): it never replaces what is at the final path, nor follows a link
 * there into a folder (mv would do both); a final path taken meanwhile is exit 6, the temporary file removed. On
 * success the command prints the published file's identity (file-identity.ts), what later proves it is the file vmctx wrote.
 * $1 temporary file, $2 expected sha256, $3 final path, $4 mode.
 */
export const RECEIVE_VERIFY_RENAME = [
  'umask 077',
  'set -C',
  // tee writes the file and, through fd 4, the pipe to sha256sum; the captured output (fd 3) is sha256sum's line and,
  // when tee failed, "write-failed" (POSIX sh has no pipefail).
  'out=$( { { tee -- "$1" >&4 || echo write-failed; } 4>&1 >&3 | sha256sum; } 3>&1 )',
  'case $out in *write-failed*) rm -f -- "$1"; exit 5 ;; esac',
  'sum=${out%% *}',
  'if [ -z "$sum" ]; then rm -f -- "$1"; echo "no sha256 of $1" >&2; exit 4; fi',
  'if [ "$sum" != "$2" ]; then rm -f -- "$1"; echo "sha256 on the controller is $sum" >&2; exit 3; fi',
  'chmod "$4" -- "$1" || { rm -f -- "$1"; exit 5; }',
  'if ! ln -T -- "$1" "$3"; then rm -f -- "$1"; echo "$3 exists already; it was not replaced" >&2; exit 6; fi',
  'rm -f -- "$1"',
  `stat -c ${FILE_IDENTITY_FORMAT} -- "$3"`,
].join('\n');
/** How much of the receiving command's stderr is kept for the error message. */
const STDERR_KEPT = 4096;
const CHUNK = 1024 * 1024;

/** Sends the file and publishes it at `remotePath`; returns the published file's identity (file-identity.ts). */
export async function uploadFile(connection: ControllerConnection, localPath: string, remotePath: string, options: UploadOptions): Promise<string> {
  const lc = connection.controller.name;
  const temp = posix.join(posix.dirname(remotePath), `.${posix.basename(remotePath)}.vmctx-part.${randomBytes(4).toString('hex')}`);
  const removeTemp = () => connection.exec(['rm', '-f', '--', temp]).catch(() => undefined);
  let sent = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sent += chunk.length;
      options.onProgress?.(sent, options.size);
      done(null, chunk);
    },
  });
  let stderr = '';
  let stdout = '';
  let code: number;
  try {
    code = await connection.withChannel(['sh', '-c', RECEIVE_VERIFY_RENAME, 'vmctx-upload', temp, options.sha256, remotePath, options.mode ?? '0600'], async (channel) => {
      const exit = new Promise<number>((resolve) => {
        let status = 255;
        channel.on('exit', (c: number | null) => {
          status = c ?? 255;
        });
        channel.on('close', () => resolve(status));
      });
      // Both streams must flow: ssh2 emits 'close' only after they have ended.
      channel.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
      });
      channel.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < STDERR_KEPT) stderr += chunk.toString('utf8').slice(0, STDERR_KEPT - stderr.length);
      });
      await pipeline(createReadStream(localPath, { highWaterMark: CHUNK }), count, channel);
      return exit;
    });
    if (code !== 0 && code !== 3 && code !== 4 && code !== 6) throw new Error(`receiving into ${temp} exited ${code}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
  } catch (error) {
    await removeTemp();
    throw new VmctxError('REMOTE_UPLOAD_FAILED', 'remote', `${lc}: upload of ${localPath} to ${remotePath} failed after ${sent} of ${options.size} bytes: ${(error as Error).message}; the partial file was removed`, {
      where: lc,
      cause: error,
    });
  }
  if (code === 6) {
    throw new VmctxError('REMOTE_UPLOAD_FAILED', 'remote', `${lc}: ${remotePath} appeared on the controller during the upload; it was left as it is, and the upload removed`, { where: lc });
  }
  if (code !== 0) {
    // Exit 3 or 4: the command removed the file itself.
    const why = code === 3 ? `${stderr.trim()}, expected ${options.sha256}` : stderr.trim();
    throw new VmctxError('REMOTE_UPLOAD_UNVERIFIED', 'remote', `${lc}: ${remotePath} uploaded but not verified (${why}); removed`, { where: lc });
  }
  return stdout.trim();
}

/** The sha256 of a file on the controller, or undefined when it does not exist. */
export async function remoteSha256(connection: RemoteCommands, remotePath: string): Promise<string | undefined> {
  const result = await connection.exec(['sh', '-c', 'test -f "$1" || exit 9; sum=$(sha256sum <"$1") && echo "${sum%% *}"', 'vmctx-sha256', remotePath]);
  if (result.code === 9) return undefined;
  if (result.code !== 0) {
    throw new VmctxError('REMOTE_COMMAND_FAILED', 'remote', `${connection.controller.name}: sha256 of ${remotePath} failed: ${result.stderr.trim()}`, { where: connection.controller.name });
  }
  return result.stdout.trim();
}
