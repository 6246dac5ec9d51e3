/**
 * Uploads a local file to a controller as remote outputs are written everywhere in vmctx: to a temporary name
 * beside the target, verified (sha256 computed on the controller), then renamed; on any failure the temporary
 * file is removed, so a half-sent file never carries the final name.
 *
 * The bytes go through one exec channel into `cat` (OpenSSH's scp does the same over one channel); the local
 * file is streamed with back-pressure, so memory stays flat whatever the image's size.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VmctxError } from '@vmctx/contract';
import type { RemoteCommands } from './command-batch.js';
import type { ControllerConnection } from './connection.js';

export interface UploadOptions {
  /** The file's sha256 (hex), known from the local cache: what the controller must find. */
  sha256: string;
  size: number;
  /** Octal mode of the final file. Default 0600: context ISOs may hold secrets. */
  mode?: string;
  /** Told the bytes sent so far. */
  onProgress?: (sent: number, total: number) => void;
}

const RECEIVE = 'umask 077 && exec cat >"$1"';
// Verify, then publish: the sum is taken from the bytes on the controller's disk, not from what was sent.
const VERIFY_AND_RENAME = [
  'sum=$(sha256sum <"$1") || exit 4',
  'sum=${sum%% *}',
  'if [ "$sum" != "$2" ]; then rm -f -- "$1"; echo "sha256 on the controller is $sum" >&2; exit 3; fi',
  'chmod "$4" -- "$1" && mv -f -- "$1" "$3"',
].join('\n');
const CHUNK = 1024 * 1024;

export async function uploadFile(connection: ControllerConnection, localPath: string, remotePath: string, options: UploadOptions): Promise<void> {
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
  try {
    const code = await connection.withChannel(['sh', '-c', RECEIVE, 'vmctx-upload', temp], async (channel) => {
      const exit = new Promise<number>((resolve) => {
        let status = 255;
        channel.on('exit', (c: number | null) => {
          status = c ?? 255;
        });
        channel.on('close', () => resolve(status));
      });
      // cat prints nothing, but both streams must flow: ssh2 emits 'close' only after they have ended.
      channel.resume();
      channel.stderr.resume();
      await pipeline(createReadStream(localPath, { highWaterMark: CHUNK }), count, channel);
      return exit;
    });
    if (code !== 0) throw new Error(`cat into ${temp} exited ${code}`);
  } catch (error) {
    await removeTemp();
    throw new VmctxError('REMOTE_UPLOAD_FAILED', 'remote', `${lc}: upload of ${localPath} to ${remotePath} failed after ${sent} of ${options.size} bytes: ${(error as Error).message}; the partial file was removed`, {
      where: lc,
      cause: error,
    });
  }
  const result = await connection.exec(['sh', '-c', VERIFY_AND_RENAME, 'vmctx-verify', temp, options.sha256, remotePath, options.mode ?? '0600']);
  if (result.code !== 0) {
    await removeTemp();
    const why = result.code === 3 ? `${result.stderr.trim()}, expected ${options.sha256}` : result.stderr.trim();
    throw new VmctxError('REMOTE_UPLOAD_UNVERIFIED', 'remote', `${lc}: ${remotePath} uploaded but not verified (${why}); removed`, { where: lc });
  }
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
