/**
 * A file as the frames sh/upload-receive.sh reads: its data only, a line `OFFSET LENGTH` before each run of it, a
 * line `end` last. What no frame covers stays a hole on the controller. An upload that resumes at `from` first
 * says, without their bytes, the runs of data the controller holds below it (`kept OFFSET LENGTH`): the controller
 * checks them with the rest against the file's sparse digest (sparse-digest.ts), by reading back only its data.
 *
 * How the data is found: Node has no lseek(SEEK_DATA/SEEK_HOLE), so the file is read whole, in order, and each
 * aligned block of BLOCK bytes that is all zeros is left out (a hole, or zeros written: either way a hole there).
 * Reading a hole costs no disk read (the kernel gives zeros) and the test is a memcmp: 2 GiB holding 305 MiB are
 * scanned in 0.4 s on the lab machine (tools/bench/deploy.sh), beside the sending, not before it. The same scan also
 * finds runs of zeros inside allocated extents, which SEEK_DATA would not. BLOCK is 64 KiB: finer than that, a
 * Debian guest's data gains nothing (155.2 MiB at 64 KiB, 154.8 MiB at 4 KiB, lab guest systemd-nm.raw) while the
 * frames, one `dd` each on the controller, multiply.
 */
import type { FileHandle } from 'node:fs/promises';
import { COMPRESSED_FRAME, type FrameCompression } from './frame-compression.js';

/** The granularity of holes: an aligned block of this many zero bytes is not sent. */
export const BLOCK = 64 * 1024;
/** The longest frame: its data is held in memory until its header, which says its length, can be sent. */
export const MAX_FRAME = 8 * 1024 * 1024;
const READ = 1024 * 1024;
const ZEROS = Buffer.alloc(BLOCK);
const ZEROS_READ = Buffer.alloc(READ);

/** Whether `bytes` (at most a read of READ) are all zeros. */
export const isZeros = (bytes: Buffer) => bytes.equals((bytes.length <= BLOCK ? ZEROS : ZEROS_READ).subarray(0, bytes.length));

export interface FrameProgress {
  /** How far into the file the frames have reached. */
  position: number;
  /** Bytes of frames (headers and data) produced so far. */
  wire: number;
}

/** A piece of the file as read: `zeros` when all of it is zeros (its buffer is then reused by the next read: hold none of it). */
export interface Chunk {
  at: number;
  bytes: Buffer;
  zeros: boolean;
}

/**
 * The file, `size` bytes, from its start (a resumed upload, too, says the data below where it starts: framesOf), in
 * reads of 1 MiB. A read that found only zeros leaves its buffer for the next: a fresh one for each read of a hole would
 * fault in as much new memory as the holes are large (2 GiB scanned in 3.7 s instead of 0.5 s, by hand).
 */
export async function* readChunks(file: FileHandle, size: number): AsyncGenerator<Chunk> {
  let buffer = Buffer.allocUnsafe(READ);
  for (let at = 0; at < size; ) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(READ, size - at), at);
    if (bytesRead === 0) throw new Error(`the file ended at ${at} of ${size} bytes: it changed while it was sent`);
    const bytes = buffer.subarray(0, bytesRead);
    const zeros = isZeros(bytes);
    yield { at, bytes, zeros };
    if (!zeros) buffer = Buffer.allocUnsafe(READ);
    at += bytesRead;
  }
}

/**
 * The frames of the chunks (from offset 0) for a controller that holds [0, from) already: `kept` lines for the runs
 * of data below `from`, frames with their bytes from `from` on; then `end`. Told, after each chunk, how far it
 * reached.
 */
export async function* framesOf(
  chunks: AsyncIterable<Chunk>,
  from: number,
  size: number,
  onProgress?: (progress: FrameProgress) => void,
  compression?: FrameCompression,
): AsyncGenerator<Buffer> {
  let wire = 0;
  let run: { start: number; parts: Buffer[]; length: number; kept: boolean } | undefined;
  async function* flush(): AsyncGenerator<Buffer> {
    if (!run) return;
    const { start, parts, length, kept } = run;
    run = undefined;
    // Gzipped where the link is slow (frame-compression.ts): `z OFFSET LENGTH ZLENGTH`, then the gzip.
    const packed = !kept && compression?.active ? await compression.compress(Buffer.concat(parts, length)) : undefined;
    const header = Buffer.from(packed ? `z ${start} ${length} ${packed.length}\n` : `${kept ? 'kept ' : ''}${start} ${length}\n`);
    const bytes = header.length + (packed ? packed.length : kept ? 0 : length);
    wire += bytes;
    yield header;
    if (packed) yield packed;
    else if (!kept) yield* parts;
    compression?.onSent(bytes);
  }
  /** Adds [start, start + block.length) to the run, `kept` (below `from`: its length only) or sent. */
  async function* extend(start: number, block: Buffer, kept: boolean): AsyncGenerator<Buffer> {
    const longest = compression?.active ? COMPRESSED_FRAME : MAX_FRAME;
    if (run && (run.kept !== kept || run.start + run.length !== start || (!kept && run.length + block.length > longest))) yield* flush();
    run ??= { start, parts: [], length: 0, kept };
    if (!kept) run.parts.push(block);
    run.length += block.length;
  }
  for await (const { at, bytes, zeros } of chunks) {
    if (zeros) yield* flush();
    else {
      for (let i = 0; i < bytes.length; i += BLOCK) {
        const block = bytes.subarray(i, Math.min(i + BLOCK, bytes.length));
        const start = at + i;
        if (isZeros(block)) {
          yield* flush();
          continue;
        }
        // A resumed upload's first block may be cut by `from`: its head is kept, its tail sent.
        const keptPart = Math.max(0, Math.min(block.length, from - start));
        if (keptPart > 0) yield* extend(start, block.subarray(0, keptPart), true);
        if (keptPart < block.length) yield* extend(start + keptPart, block.subarray(keptPart), false);
      }
    }
    if (at + bytes.length > from) onProgress?.({ position: at + bytes.length, wire });
  }
  yield* flush();
  wire += 4;
  yield Buffer.from('end\n');
  onProgress?.({ position: size, wire });
}

/** The frames of `file` (`size` bytes) for a controller that holds [0, from): framesOf(readChunks(...)). */
export function sparseFrames(file: FileHandle, from: number, size: number, onProgress?: (progress: FrameProgress) => void, compression?: FrameCompression): AsyncGenerator<Buffer> {
  return framesOf(readChunks(file, size), from, size, onProgress, compression);
}
