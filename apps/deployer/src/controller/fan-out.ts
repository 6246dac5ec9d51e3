/**
 * One reading of a file for several controllers (issue 22: read once for many). Each consumer gets the chunks
 * through a queue of its own, bounded in bytes; the next read waits until every queue that takes the chunk has room.
 * So a slow controller holds the others back only once its queue is full (it never makes the file be read twice),
 * and one that stops (its upload failed or was cut) is dropped without holding anyone. The chunks are shared, not
 * copied: memory is the spread between the fastest and the slowest consumer, at most the bound, whatever their number.
 */
import type { Chunk } from './sparse-frames.js';

/** Bytes of chunks a consumer may be behind the reading. */
export const QUEUE_BYTES = 16 * 1024 * 1024;

class ChunkQueue implements AsyncIterable<Chunk> {
  private items: Chunk[] = [];
  private bytes = 0;
  private finished = false;
  private error: Error | undefined;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;
  /** The consumer stopped: nothing more is queued for it. */
  closed = false;

  constructor(private readonly limit: number) {}

  push(chunk: Chunk): void {
    if (this.closed) return;
    this.items.push(chunk);
    // A chunk of zeros holds no memory of its own (its buffer is the reader's next).
    if (!chunk.zeros) this.bytes += chunk.bytes.length;
    this.wake('consumer');
  }

  /** Resolves once the queue is under its bound, or its consumer stopped. */
  room(): Promise<void> {
    if (this.closed || this.bytes < this.limit) return Promise.resolve();
    return new Promise((resolve) => (this.wakeProducer = resolve));
  }

  end(error?: Error): void {
    this.finished = true;
    this.error = error;
    this.wake('consumer');
  }

  private wake(who: 'consumer' | 'producer'): void {
    const wake = who === 'consumer' ? this.wakeConsumer : this.wakeProducer;
    if (who === 'consumer') this.wakeConsumer = undefined;
    else this.wakeProducer = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Chunk> {
    try {
      for (;;) {
        const chunk = this.items.shift();
        if (chunk) {
          if (!chunk.zeros) this.bytes -= chunk.bytes.length;
          if (this.bytes < this.limit) this.wake('producer');
          yield chunk;
          continue;
        }
        if (this.error) throw this.error;
        if (this.finished) return;
        await new Promise<void>((resolve) => (this.wakeConsumer = resolve));
      }
    } finally {
      this.closed = true;
      this.items = [];
      this.wake('producer');
    }
  }
}

export class ChunkFanOut {
  private readonly queues: ChunkQueue[] = [];
  private waiting: number;

  /**
   * `expected` consumers, each of which joins (it gets every chunk: a resumed upload says the data below where it
   * starts as kept, sparse-frames.ts) or leaves (it needs nothing); the reading starts once all have done one or the
   * other.
   */
  constructor(
    expected: number,
    private readonly read: () => AsyncIterable<Chunk>,
    private readonly limit = QUEUE_BYTES,
  ) {
    this.waiting = expected;
  }

  join(): AsyncIterable<Chunk> {
    const queue = new ChunkQueue(this.limit);
    this.queues.push(queue);
    this.settle();
    return queue;
  }

  leave(): void {
    this.settle();
  }

  private settle(): void {
    this.waiting -= 1;
    if (this.waiting === 0 && this.queues.length > 0) void this.run();
  }

  private async run(): Promise<void> {
    const queues = this.queues;
    try {
      for await (const chunk of this.read()) {
        const takers = queues.filter((q) => !q.closed);
        for (const q of takers) q.push(chunk);
        await Promise.all(takers.map((q) => q.room()));
        if (queues.every((q) => q.closed)) break;
      }
      for (const q of queues) q.end();
    } catch (error) {
      for (const q of queues) q.end(error as Error);
    }
  }
}
