/**
 * A qcow2 overlay as a stream, for the artifact cache (which hashes what it is given as it writes): disk-builder's
 * layout (its non-zero byte runs and length, the same bytes `createOverlay` puts in a file), the gaps as zeros.
 * An overlay over a base image is a few metadata clusters, so writing its zeros costs nothing worth a hole.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { layoutOverlay, type OverlayOptions } from '@vmctx/disk-builder';

export async function writeOverlayStream(options: OverlayOptions, out: Writable): Promise<void> {
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
