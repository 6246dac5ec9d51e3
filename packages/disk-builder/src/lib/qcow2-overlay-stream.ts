/**
 * A qcow2 overlay written to a stream (an upload, a hashing cache, stdout) instead of a file: the layout of
 * `qcow2-overlay-layout.ts` in order, its gaps as zeros, so the bytes are those `createOverlay` puts in a file (where
 * the gaps are holes). An overlay over a base image is a few metadata clusters: its zeros cost nothing worth a hole.
 * The stream is not ended, so the caller may hash, count or close it as it needs.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { layoutOverlay, type OverlayOptions } from './qcow2-overlay-layout.js';

export async function writeOverlayTo(options: OverlayOptions, out: Writable): Promise<void> {
  // All validation happens in the layout, before the first byte is written.
  const layout = layoutOverlay(options);
  const put = async (bytes: Uint8Array) => {
    if (bytes.length > 0 && !out.write(bytes)) await once(out, 'drain');
  };
  let at = 0;
  for (const run of [...layout.runs].sort((a, b) => a.offset - b.offset)) {
    await put(new Uint8Array(run.offset - at));
    await put(run.bytes);
    at = run.offset + run.bytes.length;
  }
  await put(new Uint8Array(layout.length - at));
}
