/**
 * Streaming sha256 of an image file, for "is this base image already there" checks.
 *
 * Large reads (4 MiB) into two alternating buffers: the next read runs in libuv's thread pool while the
 * current chunk is hashed, so disk and CPU overlap. Memory stays at two buffers whatever the image size.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { DiskBuilderError } from './errors.js';

export const DEFAULT_HASH_CHUNK = 4 * 1024 * 1024;

export interface Sha256Options {
  /** Read size in bytes (default 4 MiB). */
  chunkSize?: number;
  /** Called after each chunk with the bytes hashed so far. */
  onProgress?: (bytes: number) => void;
}

export async function sha256File(path: string, options: Sha256Options = {}): Promise<string> {
  const chunkSize = options.chunkSize ?? DEFAULT_HASH_CHUNK;
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'DISK_NOT_FOUND' : 'DISK_READ_FAILED';
    throw new DiskBuilderError(code, `cannot open ${path} to hash it: ${(error as Error).message}`, { where: path, cause: error });
  }
  let pending: Promise<{ bytesRead: number; buffer: Buffer }> | undefined;
  try {
    const hash = createHash('sha256');
    const buffers: [Buffer, Buffer] = [Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize)];
    let position = 0;
    let index = 0;
    pending = handle.read(buffers[0], 0, chunkSize, position);
    for (;;) {
      const { bytesRead, buffer }: { bytesRead: number; buffer: Buffer } = await pending;
      if (bytesRead === 0) break;
      position += bytesRead;
      index ^= 1;
      // Start the next read before hashing this chunk; it fills the other buffer.
      pending = handle.read(index === 0 ? buffers[0] : buffers[1], 0, chunkSize, position);
      hash.update(buffer.subarray(0, bytesRead));
      options.onProgress?.(position);
    }
    return hash.digest('hex');
  } catch (error) {
    throw new DiskBuilderError('DISK_READ_FAILED', `cannot read ${path} to hash it: ${(error as Error).message}`, { where: path, cause: error });
  } finally {
    // Never leave a read in flight on a closing handle.
    await pending?.catch(() => undefined);
    await handle.close();
  }
}

/**
 * sha256 of a stream (standard input for `sha256sum -`): hashed chunk by chunk as it arrives, so memory stays at
 * one chunk whatever its length. `name` says what was read in an error ("standard input").
 */
export async function sha256Stream(stream: AsyncIterable<Uint8Array | string>, name: string, options: Pick<Sha256Options, 'onProgress'> = {}): Promise<string> {
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of stream) {
      const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      hash.update(data);
      bytes += data.length;
      options.onProgress?.(bytes);
    }
  } catch (error) {
    throw new DiskBuilderError('DISK_READ_FAILED', `cannot read ${name} to hash it: ${(error as Error).message}`, { where: name, cause: error });
  }
  return hash.digest('hex');
}
