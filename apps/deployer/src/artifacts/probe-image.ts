/**
 * What `check`, `plan` and `status` need of a base image given by URL, without its bytes (issue 24: they downloaded
 * the whole image before contacting a controller).
 *
 * The image's identity is the sha256 the deployment file gives: it names the base on the controller and goes into
 * each domain's owner mark, so whether a VM changes is known from the file. Two things are not in the file, and
 * every plan needs them: the image's format (the base's name on the controller ends in it, and the overlay records
 * it as its backing format, which QEMU requires rather than probing) and its virtual size (the overlay's own). A
 * HEAD request gives neither, only a length; so the probe is one ranged GET of the image's header (RFC 9110 §14.2,
 * `Range: bytes=0-65535`), which also says what HEAD would (the URL answers, with which status, and the whole length
 * in `Content-Range`, §14.4). A qcow2 whose first cluster is larger than that is asked once more for its first
 * cluster (up to 2 MiB), where its header extensions live. From those bytes and the length, disk-builder's own
 * reading (`describeQcow2`, or a raw image's length rounded to sectors) gives exactly what `inspectImage` gives of the
 * downloaded file, so the overlay, the plan and the upload sizes are the ones `deploy` then makes.
 *
 * - An image already in the cache (objects/<sha256>.img, verified) is read there: no request at all.
 * - A server that ignores Range answers 200 with the whole body: only the header's bytes are read, then the body is
 *   cancelled.
 * - The header is not verified against the sha256 (only the whole file can be): `deploy` downloads and verifies the
 *   image and builds the overlay from the verified bytes, so a server whose ranged answer lies can mislead a plan,
 *   never a deploy.
 *
 * Error codes: DEPLOY_IMAGE_URL_INVALID and DEPLOY_IMAGE_FETCH_FAILED as fetch-image.ts; disk-builder's DISK_* when
 * the header is not one an overlay can be put on.
 */
import { stat } from 'node:fs/promises';
import { describeQcow2, detectImageFormat, inspectImage, type ImageInfo } from '@vmctx/disk-builder';
import type { ArtifactCache } from './cache.js';
import { cachedImagePath, checkedSha256, failed, parseContentRange, parseLength, request, type FetchImageOptions, type RequestJob } from './fetch-image.js';

/** Bytes asked for first: a qcow2 header with its extensions fits in 64 KiB, qemu-img's default cluster. */
export const HEADER_PROBE_BYTES = 64 * 1024;
/** qcow2's largest cluster (cluster_bits 21): the most a second request asks for. */
const MAX_CLUSTER_BYTES = 2 * 1024 * 1024;

export type ProbeImageOptions = Pick<FetchImageOptions, 'fetch' | 'signal' | 'maxRedirects' | 'where'>;

/** The format, virtual size and length of the image at `url` whose sha256 is `sha256`, from its header. */
export async function probeImage(url: string, sha256: string, cache: ArtifactCache, options: ProbeImageOptions = {}): Promise<ImageInfo> {
  const where = options.where ?? url;
  const expected = checkedSha256(url, sha256, where);
  const cached = cachedImagePath(cache, expected);
  if ((await stat(cached).catch(() => undefined))?.isFile()) return inspectImage(cached);

  const job: RequestJob = { url, where, options };
  let { bytes, total } = await readHead(job, HEADER_PROBE_BYTES);
  if (total === 0) throw failed(job, url, 'the image is empty (0 bytes)');
  // QEMU's block layer counts whole 512-byte sectors, as inspectImage does: a raw file of 999 bytes is a 1024-byte disk.
  if (detectImageFormat(bytes) === 'raw') return { path: url, format: 'raw', virtualSize: Math.ceil(total / 512) * 512, fileSize: total, allocatedSize: 0 };
  // qcow2 "Header" bytes 20-23: cluster_bits. The whole first cluster holds the extensions and the backing file name.
  const clusterBits = bytes.length >= 24 ? new DataView(bytes.buffer, bytes.byteOffset).getUint32(20) : 0;
  const clusterSize = clusterBits >= 9 && clusterBits <= 21 ? 2 ** clusterBits : 0;
  const wanted = Math.min(total, clusterSize, MAX_CLUSTER_BYTES);
  if (wanted > bytes.length) ({ bytes, total } = await readHead(job, wanted));
  return { ...describeQcow2(url, bytes, total), allocatedSize: 0 };
}

/** The first `length` bytes of the image (fewer when it is shorter) and its whole length, from one GET. */
async function readHead(job: RequestJob, length: number): Promise<{ bytes: Uint8Array; total: number }> {
  const { response, url } = await request(job, `bytes=0-${length - 1}`);
  const cancel = () => void response.body?.cancel().catch(() => undefined);
  let total: number | undefined;
  if (response.status === 206) {
    const range = parseContentRange(response.headers.get('content-range'));
    if (range?.start !== 0) {
      cancel();
      throw failed(job, url, `answered 206 with Content-Range ${JSON.stringify(response.headers.get('content-range'))} to a request for the first ${length} bytes`);
    }
    total = range.total;
  } else if (response.status === 200) {
    // A server that ignores Range sends everything; its Content-Length is the image's (unless the body is encoded).
    const encoded = (response.headers.get('content-encoding') ?? 'identity').toLowerCase() !== 'identity';
    total = encoded ? undefined : parseLength(response.headers.get('content-length'));
  } else if (response.status === 416) {
    // §15.5.17: nothing at byte 0, an empty file; `bytes */0` says so.
    cancel();
    return { bytes: new Uint8Array(), total: 0 };
  } else {
    cancel();
    throw failed(job, url, `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  }
  if (total === undefined) {
    cancel();
    throw failed(job, url, "the server does not say the image's length (no complete length in Content-Range, no Content-Length)");
  }
  if (!response.body) throw failed(job, url, `HTTP ${response.status} without a body`);
  const want = Math.min(length, total);
  const bytes = new Uint8Array(want);
  let got = 0;
  const reader = response.body.getReader();
  try {
    while (got < want) {
      const chunk = await reader.read();
      if (chunk.done) break;
      const take = Math.min(chunk.value.length, want - got);
      bytes.set(chunk.value.subarray(0, take), got);
      got += take;
    }
  } catch (error) {
    throw Object.assign(failed(job, url, `the header's transfer failed after ${got} of ${want} bytes: ${(error as Error).message}`), { cause: error });
  } finally {
    // The rest of a whole body (a server that ignored Range) is not wanted.
    void reader.cancel().catch(() => undefined);
  }
  if (got < want) throw failed(job, url, `the header's transfer stopped after ${got} of ${want} bytes`);
  return { bytes, total };
}
