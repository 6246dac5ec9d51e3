import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createOverlay } from './qcow2-overlay.js';
import type { OverlayOptions } from './qcow2-overlay-layout.js';
import { writeOverlayTo } from './qcow2-overlay-stream.js';

const dir = mkdtempSync(join(tmpdir(), 'disk-overlay-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function streamed(options: OverlayOptions): Promise<Buffer> {
  const chunks: Buffer[] = [];
  // A slow sink (highWaterMark 1): the writer must wait for drain, not pile up.
  const out = new Writable({ highWaterMark: 1, write: (chunk: Buffer, _e, done) => void setImmediate(() => (chunks.push(chunk), done())) });
  await writeOverlayTo(options, out);
  await new Promise<void>((resolve) => out.end(resolve));
  return Buffer.concat(chunks);
}

describe('writeOverlayTo', () => {
  it.each<[string, OverlayOptions]>([
    ['raw base, 1 GiB', { backingFile: '/var/lib/vmctx/images/base.raw', backingFormat: 'raw', virtualSize: 2 ** 30 }],
    ['qcow2 base, odd size', { backingFile: 'base.qcow2', backingFormat: 'qcow2', virtualSize: 10 * 2 ** 30 + 512 }],
    ['2 TiB with 64 KiB clusters', { backingFile: '/srv/b.raw', backingFormat: 'raw', virtualSize: 2 ** 41 }],
  ])('gives the bytes createOverlay writes: %s', async (name, options) => {
    const path = join(dir, `${name.replace(/\W+/g, '-')}.qcow2`);
    await createOverlay({ ...options, path, sync: false });
    expect((await streamed(options)).equals(readFileSync(path))).toBe(true);
  });

  it('refuses bad options before writing a byte', async () => {
    let written = 0;
    const out = new Writable({ write: (_chunk, _encoding, done) => ((written += 1), done()) });
    await expect(writeOverlayTo({ backingFile: 'base.raw', backingFormat: 'raw', virtualSize: -1 }, out)).rejects.toMatchObject({ code: expect.stringMatching(/^DISK_/) });
    expect(written).toBe(0);
  });
});
