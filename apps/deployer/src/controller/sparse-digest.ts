/**
 * The digest an upload is verified by on the controller (issue 22: verified as fast as the wire). The sha256 of a
 * file's whole content costs the controller a read of every byte, holes as zeros: the 2 GiB of a base image holding
 * 305 MiB summed in 10 s after its last frame arrived (tools/bench/deploy.sh part 7), where the data took 7 s to
 * send. The sparse digest costs a read of the data alone, since a hole's part in it is known without reading it:
 *
 *   sha256 of the text  `vmctx-sparse-sha256 SIZE 65536` newline,
 *                       `OFFSET LENGTH` newline for each run of data, in order,
 *                       `data SHA256` newline, SHA256 that of the runs' bytes one after the other.
 *
 * A run is a maximal sequence of adjacent BLOCK-aligned blocks that are not all zeros (the last block of the file
 * may be shorter): what sparse-frames.ts sends, and what sh/upload-receive.sh writes, merging adjacent frames back
 * into runs. Two files have the same sparse digest exactly when they have the same size and the same bytes (the
 * runs say where data is, everything else is zeros; the data's sum says what it is), so it identifies a file as
 * its sha256 does. The sha256 still names the file everywhere (artifacts/cache.ts computes both in one reading); the
 * sparse digest is what the controller checks what it received against.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { BLOCK, isZeros, readChunks, type Chunk } from './sparse-frames.js';

/** The first line of the digested text: the format, the file's size and the block the runs are made of. */
const sparseDigestHeader = (size: number) => `vmctx-sparse-sha256 ${size} ${BLOCK}\n`;

/** The sparse digest of a file given as its chunks (readChunks), in order from offset 0. */
export class SparseDigest {
  private readonly text = createHash('sha256');
  private readonly data = createHash('sha256');
  private run: { start: number; length: number } | undefined;
  private position = 0;

  constructor(private readonly size: number) {
    this.text.update(sparseDigestHeader(size));
  }

  add({ at, bytes, zeros }: Chunk): void {
    if (at !== this.position) throw new Error(`sparse digest: a chunk at ${at} where ${this.position} was due`);
    this.position += bytes.length;
    if (zeros) return this.endRun();
    for (let i = 0; i < bytes.length; i += BLOCK) {
      const block = bytes.subarray(i, Math.min(i + BLOCK, bytes.length));
      if (isZeros(block)) {
        this.endRun();
        continue;
      }
      if (this.run && this.run.start + this.run.length === at + i) this.run.length += block.length;
      else {
        this.endRun();
        this.run = { start: at + i, length: block.length };
      }
      this.data.update(block);
    }
  }

  digest(): string {
    if (this.position !== this.size) throw new Error(`sparse digest: ${this.position} of ${this.size} bytes were given`);
    this.endRun();
    this.text.update(`data ${this.data.digest('hex')}\n`);
    return this.text.digest('hex');
  }

  private endRun(): void {
    if (this.run) this.text.update(`${this.run.start} ${this.run.length}\n`);
    this.run = undefined;
  }
}

export interface FileDigests {
  sha256: string;
  sparseSha256: string;
  size: number;
}

/** The sha256 and the sparse digest of a local file, in one reading of it (its holes read as zeros). */
export async function fileDigests(path: string): Promise<FileDigests> {
  const file = await open(path);
  try {
    return await digestsOf(file);
  } finally {
    await file.close();
  }
}

/** fileDigests of a file already open (the upload's own handle: the file checked is the file then sent). */
export async function digestsOf(file: FileHandle): Promise<FileDigests> {
  const { size } = await file.stat();
  const whole = createHash('sha256');
  const sparse = new SparseDigest(size);
  for await (const chunk of readChunks(file, size)) {
    whole.update(chunk.bytes);
    sparse.add(chunk);
  }
  return { sha256: whole.digest('hex'), sparseSha256: sparse.digest(), size };
}
