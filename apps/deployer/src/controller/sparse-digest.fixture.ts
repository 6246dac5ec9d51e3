/** The sparse digest (sparse-digest.ts) of bytes held in memory, for tests that make files of them. */
import { SparseDigest } from './sparse-digest.js';
import { isZeros } from './sparse-frames.js';

/** The digest of `bytes` given as readChunks would read them (1 MiB at a time). */
export function sparseDigestOfBytes(bytes: Buffer): string {
  const digest = new SparseDigest(bytes.length);
  for (let at = 0; at < bytes.length; at += 1024 * 1024) {
    const chunk = bytes.subarray(at, Math.min(at + 1024 * 1024, bytes.length));
    digest.add({ at, bytes: chunk, zeros: isZeros(chunk) });
  }
  return digest.digest();
}
