/**
 * probeImage: a URL image's format, virtual size and length from its header alone (issue 24 #8: check and plan
 * downloaded the whole image). What the server is asked, how each answer is read, and that the result is what
 * disk-builder's inspectImage says of the whole file.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectImage } from '@vmctx/disk-builder';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isVmctxError } from '@vmctx/contract';
import { ArtifactCache } from './cache.js';
import { cachedImagePath } from './fetch-image.js';
import { HEADER_PROBE_BYTES, probeImage } from './probe-image.js';

const URL_ = 'https://images.example.test/base.img';
/** A raw image of 999 bytes past a whole number of sectors: a disk of whole sectors, as QEMU counts it. */
const RAW = Buffer.concat([Buffer.alloc(512), randomBytes(300 * 1024 + 999)]);
const sum = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let seen: { range: string | null }[] = [];
const server = setupServer();
server.events.on('request:start', ({ request }) => void seen.push({ range: request.headers.get('range') }));

let dir: string;
let cache: ArtifactCache;
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmctx-probe-'));
  cache = new ArtifactCache(join(dir, 'cache'));
  seen = [];
});
afterEach(async () => {
  server.resetHandlers();
  await rm(dir, { recursive: true, force: true });
});

/** Answers `bytes=A-B` with 206 as RFC 9110 §14 says, or, `honour` false, everything with 200. */
function serve(image: Buffer, honour = true) {
  return http.get(URL_, ({ request }) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(request.headers.get('range') ?? '');
    if (!m || !honour) return new HttpResponse(image, { headers: { 'content-length': String(image.length) } });
    const end = Math.min(Number(m[2]), image.length - 1);
    return new HttpResponse(image.subarray(Number(m[1]), end + 1), { status: 206, headers: { 'content-range': `bytes ${m[1]}-${end}/${image.length}` } });
  });
}

async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isVmctxError(error)) throw new Error(`expected a VmctxError, got ${String(error)}`);
  return error;
}

describe('probeImage', () => {
  it('a raw image: one ranged GET of its first 64 KiB; its length, rounded to sectors, is its virtual size', async () => {
    server.use(serve(RAW));
    const info = await probeImage(URL_, sum(RAW), cache);
    expect(seen).toEqual([{ range: `bytes=0-${HEADER_PROBE_BYTES - 1}` }]);
    await writeFile(join(dir, 'raw'), RAW);
    const whole = await inspectImage(join(dir, 'raw'));
    expect([info.format, info.virtualSize, info.fileSize]).toEqual([whole.format, whole.virtualSize, whole.fileSize]);
  });

  it('a qcow2 image: what inspectImage says of the whole file', async () => {
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'q.qcow2'), '3G']);
    const image = await readFile(join(dir, 'q.qcow2'));
    server.use(serve(image));
    const info = await probeImage(URL_, sum(image), cache);
    expect(seen).toHaveLength(1);
    const whole = await inspectImage(join(dir, 'q.qcow2'));
    expect(info).toEqual({ ...whole, path: URL_, allocatedSize: 0 });
  });

  it('a server that ignores Range: the header is read, the rest of the body is not', async () => {
    const big = Buffer.concat([RAW, Buffer.alloc(4 * 1024 * 1024)]);
    server.use(serve(big, false));
    const info = await probeImage(URL_, sum(big), cache);
    expect([info.format, info.fileSize]).toEqual(['raw', big.length]);
  });

  it('an image in the cache is read there, without a request', async () => {
    await mkdir(join(cache.dir, 'objects'), { recursive: true });
    await writeFile(cachedImagePath(cache, sum(RAW)), RAW);
    const info = await probeImage(URL_, sum(RAW), cache);
    expect(seen).toEqual([]);
    expect(info.fileSize).toBe(RAW.length);
  });

  it.each([
    ['an HTTP error', () => new HttpResponse('gone', { status: 404 }), 'HTTP 404'],
    ['no length', () => new HttpResponse(RAW.subarray(0, 100), { status: 206, headers: { 'content-range': 'bytes 0-99/*' } }), "does not say the image's length"],
    ['an empty image', () => new HttpResponse(null, { status: 416, headers: { 'content-range': 'bytes */0' } }), 'the image is empty'],
    ['another range', () => new HttpResponse(RAW.subarray(10, 100), { status: 206, headers: { 'content-range': `bytes 10-99/${RAW.length}` } }), 'answered 206 with Content-Range'],
  ])('%s: DEPLOY_IMAGE_FETCH_FAILED, where the image is declared', async (_, answer, said) => {
    server.use(http.get(URL_, answer));
    const error = await failure(probeImage(URL_, sum(RAW), cache, { where: 'images[1].url' }));
    expect(error).toMatchObject({ code: 'DEPLOY_IMAGE_FETCH_FAILED', kind: 'remote', where: 'images[1].url' });
    expect(error.message).toContain(said);
  });

  it('refuses what is not an http(s) URL or not a sha256 before asking anything', async () => {
    expect(await failure(probeImage('ftp://example.test/x', sum(RAW), cache))).toMatchObject({ code: 'DEPLOY_IMAGE_URL_INVALID' });
    expect(await failure(probeImage(URL_, 'abc', cache))).toMatchObject({ code: 'DEPLOY_IMAGE_URL_INVALID' });
    expect(seen).toEqual([]);
  });
});
