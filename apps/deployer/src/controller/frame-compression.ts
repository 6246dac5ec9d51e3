/**
 * Compression of an upload's frames on the wire, where it pays (issue 22): a frame's data gzipped here (zlib at
 * level 1, on libuv's threads: beside the sending, not in its way) and inflated by `gzip -dc` on the controller
 * (sh/upload-receive.sh: `z OFFSET LENGTH ZLENGTH`, then ZLENGTH bytes). It pays only on a link slower than the
 * compressor: on the lab's loopback (about 100 MB/s through ssh) zlib's level 1 (53 MB/s on one core here, 160 MiB
 * of /usr/lib in frames of 1 MiB, by hand; bench part 10: `on` takes 2.04x the time of `off` there) slows the
 * upload down.
 *
 * A controller's `compression`: `off` never; `on` always (where the controller has gzip); `auto` (the default)
 * measures the link on the upload itself: the rate the channel takes frames at, from the 12th to the 44th MiB sent
 * (the first fill buffers, not the link), and compresses from then on when it is under AUTO_BELOW. Either way a
 * frame that gzip does not shrink by a tenth goes as it is, and after four such in a row (data that does not
 * compress: random, already compressed) the next 16 MiB go without trying; then it tries again (a guest's disk
 * holds stretches of both: stopping for good at the first such stretch left a throttled link uncompressed, bench
 * part 10).
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';

export type CompressionMode = 'auto' | 'on' | 'off';

/** The link's rate (bytes a second) under which `auto` compresses: some 60 % of what zlib's level 1 packs here. */
export const AUTO_BELOW = 32 * 1024 * 1024;
/** `auto` measures from this many bytes sent (the buffers before the link fill first) ... */
const PROBE_FROM = 12 * 1024 * 1024;
/** ... to this many. */
const PROBE_TO = 44 * 1024 * 1024;
/** A compressed frame's data at most: memory stays flat (the raw bytes, gathered, and their gzip). */
export const COMPRESSED_FRAME = 1024 * 1024;
/** Frames in a row that gzip does not shrink enough, after which the next PAUSE bytes go without trying. */
const MISSES = 4;
const PAUSE = 16 * 1024 * 1024;

const gzipAsync = promisify(gzip);

export class FrameCompression {
  /** The link's rate `auto` measured (bytes a second), once it did. */
  measured: number | undefined;
  /** Compression chosen: `on`, or `auto` on a slow link. */
  private chosen: boolean;
  private sent = 0;
  /** When, and after how many bytes sent, the measure began (the first frame to reach PROBE_FROM). */
  private probe: { at: number; sent: number } | undefined;
  private misses = 0;
  private pausedUntil = 0;

  /** `gzipThere`: the controller has gzip (its first line said so). */
  constructor(
    readonly mode: CompressionMode,
    private readonly gzipThere: boolean,
  ) {
    this.chosen = gzipThere && mode === 'on';
  }

  /** Whether the next frame is to be compressed. */
  get active(): boolean {
    return this.chosen && this.sent >= this.pausedUntil;
  }

  /** `bytes` went into the channel (the consumer took them: the link's pace, once the buffers are full). */
  onSent(bytes: number): void {
    const before = this.sent;
    this.sent += bytes;
    if (this.mode !== 'auto' || !this.gzipThere || this.measured !== undefined) return;
    if (before < PROBE_FROM && this.sent >= PROBE_FROM) this.probe = { at: performance.now(), sent: this.sent };
    if (this.probe !== undefined && this.sent >= PROBE_TO) {
      // The bytes sent since the measure began: frames of up to 8 MiB cross PROBE_FROM past it.
      this.measured = ((this.sent - this.probe.sent) * 1000) / Math.max(1, performance.now() - this.probe.at);
      this.chosen = this.measured < AUTO_BELOW;
    }
  }

  /** The gzip of `data`, or undefined when it does not shrink by a tenth (the frame then goes as it is). */
  async compress(data: Buffer): Promise<Buffer | undefined> {
    const packed = await gzipAsync(data, { level: 1 });
    if (packed.length <= data.length * 0.9) {
      this.misses = 0;
      return packed;
    }
    this.misses += 1;
    if (this.misses >= MISSES) {
      this.misses = 0;
      this.pausedUntil = this.sent + PAUSE;
    }
    return undefined;
  }
}
