import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isVmctxError, type VmctxError } from '@vmctx/contract';
import { ArtifactCache } from './cache.js';
import { cachedImagePath, fetchImage, parseContentRange, partialImagePath } from './fetch-image.js';

const IMAGE = randomBytes(256 * 1024 + 17);
const SUM = createHash('sha256').update(IMAGE).digest('hex');
const URL_ = 'https://images.example.test/debian.raw';

/** Every request the mock server saw: its URL and Range header. */
let seen: { url: string; range: string | null }[] = [];
const server = setupServer();
server.events.on('request:start', ({ request }) => {
  seen.push({ url: request.url, range: request.headers.get('range') });
});

let dir: string;
let cache: ArtifactCache;
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmctx-fetch-'));
  cache = new ArtifactCache(dir);
  seen = [];
});
afterEach(async () => {
  server.resetHandlers();
  await rm(dir, { recursive: true, force: true });
});

/** A server for IMAGE at `url` that honours `Range: bytes=N-` as RFC 9110 says. */
function rangeServer(url = URL_) {
  return http.get(url, ({ request }) => {
    const m = /^bytes=(\d+)-$/.exec(request.headers.get('range') ?? '');
    if (!m) return new HttpResponse(IMAGE, { headers: { 'content-length': String(IMAGE.length) } });
    const start = Number(m[1]);
    if (start >= IMAGE.length) return new HttpResponse(null, { status: 416, headers: { 'content-range': `bytes */${IMAGE.length}` } });
    return new HttpResponse(IMAGE.subarray(start), {
      status: 206,
      headers: { 'content-range': `bytes ${start}-${IMAGE.length - 1}/${IMAGE.length}`, 'content-length': String(IMAGE.length - start) },
    });
  });
}

async function failure(promise: Promise<unknown>): Promise<VmctxError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isVmctxError(error)) throw new Error(`expected a VmctxError, got ${String(error)}`);
  return error;
}

const exists = (path: string) => readFile(path).then(
  () => true,
  () => false,
);

describe('fetchImage', () => {
  it('downloads, verifies and stores the image as objects/<sha256>.img, leaving no partial file', async () => {
    server.use(rangeServer());
    const progress: [number, number | undefined][] = [];
    const path = await fetchImage(URL_, SUM, cache, { onProgress: (received, total) => progress.push([received, total]) });
    expect(path).toBe(join(dir, 'objects', `${SUM}.img`));
    expect((await readFile(path)).equals(IMAGE)).toBe(true);
    expect(await readdir(join(dir, 'partial'))).toEqual([]);
    expect(seen).toEqual([{ url: URL_, range: null }]);
    expect(progress[0]).toEqual([0, IMAGE.length]);
    expect(progress.at(-1)).toEqual([IMAGE.length, IMAGE.length]);
  });

  it('sends no request at all when the image is already in the cache', async () => {
    await mkdir(join(dir, 'objects'), { recursive: true });
    await writeFile(cachedImagePath(cache, SUM), IMAGE);
    // No handler: any request would fail the test (onUnhandledRequest: 'error').
    expect(await fetchImage(URL_, SUM.toUpperCase(), cache)).toBe(cachedImagePath(cache, SUM));
    expect(seen).toEqual([]);
  });

  it('follows redirects, relative ones too, and names the URL that answered in errors', async () => {
    server.use(
      http.get(URL_, () => new HttpResponse(null, { status: 302, headers: { location: 'https://mirror.example.test/a' } })),
      http.get('https://mirror.example.test/a', () => new HttpResponse(null, { status: 301, headers: { location: '/pool/debian.raw' } })),
      rangeServer('https://mirror.example.test/pool/debian.raw'),
    );
    expect(await fetchImage(URL_, SUM, cache)).toBe(cachedImagePath(cache, SUM));
    expect(seen.map((s) => s.url)).toEqual([URL_, 'https://mirror.example.test/a', 'https://mirror.example.test/pool/debian.raw']);

    await rm(dir, { recursive: true });
    server.use(http.get('https://mirror.example.test/pool/debian.raw', () => new HttpResponse('gone', { status: 410, statusText: 'Gone' })));
    const error = await failure(fetchImage(URL_, SUM, cache, { where: 'images[0].url' }));
    expect(error).toMatchObject({ code: 'DEPLOY_IMAGE_FETCH_FAILED', kind: 'remote', where: 'images[0].url' });
    expect(error.message).toBe(`GET https://mirror.example.test/pool/debian.raw (redirected from ${URL_}): HTTP 410 Gone`);
  });

  it('gives up after maxRedirects (a loop), naming where it was sent last', async () => {
    server.use(http.get(URL_, () => new HttpResponse(null, { status: 307, headers: { location: URL_ } })));
    const error = await failure(fetchImage(URL_, SUM, cache, { maxRedirects: 3 }));
    expect(error.code).toBe('DEPLOY_IMAGE_FETCH_FAILED');
    expect(error.message).toBe(`GET ${URL_}: more than 3 redirects (the last to ${URL_})`);
    expect(seen).toHaveLength(4);
  });

  it('refuses a redirect to another scheme', async () => {
    server.use(http.get(URL_, () => new HttpResponse(null, { status: 302, headers: { location: 'file:///etc/passwd' } })));
    expect((await failure(fetchImage(URL_, SUM, cache))).message).toBe(`GET ${URL_}: redirected to file:///etc/passwd, not http or https`);
  });

  it('fails on 404 with the status, storing nothing', async () => {
    server.use(http.get(URL_, () => new HttpResponse('no such file', { status: 404, statusText: 'Not Found' })));
    const error = await failure(fetchImage(URL_, SUM, cache));
    expect(error).toMatchObject({ code: 'DEPLOY_IMAGE_FETCH_FAILED', kind: 'remote', where: URL_, message: `GET ${URL_}: HTTP 404 Not Found` });
    expect(await exists(cachedImagePath(cache, SUM))).toBe(false);
    expect(await exists(partialImagePath(cache, SUM))).toBe(false);
  });

  it('keeps a truncated body (less than Content-Length) for the next run, which resumes with Range and completes', async () => {
    const cut = 100_000;
    server.use(http.get(URL_, () => new HttpResponse(IMAGE.subarray(0, cut), { headers: { 'content-length': String(IMAGE.length) } })));
    const error = await failure(fetchImage(URL_, SUM, cache));
    expect(error).toMatchObject({ code: 'DEPLOY_IMAGE_FETCH_FAILED', kind: 'remote' });
    expect(error.message).toBe(
      `GET ${URL_}: the download stopped after ${cut} of ${IMAGE.length} bytes (the server announced ${IMAGE.length}); ` +
        `${cut} bytes are kept in ${partialImagePath(cache, SUM)} and the next run resumes from there`,
    );
    expect((await readFile(partialImagePath(cache, SUM))).equals(IMAGE.subarray(0, cut))).toBe(true);
    expect(await exists(cachedImagePath(cache, SUM))).toBe(false);

    server.use(rangeServer());
    seen = [];
    const progress: number[] = [];
    const path = await fetchImage(URL_, SUM, cache, { onProgress: (received) => progress.push(received) });
    expect(seen).toEqual([{ url: URL_, range: `bytes=${cut}-` }]);
    expect(progress[0]).toBe(cut);
    expect((await readFile(path)).equals(IMAGE)).toBe(true);
    expect(await exists(partialImagePath(cache, SUM))).toBe(false);
  });

  it('keeps what arrived before the connection was reset', async () => {
    server.use(
      http.get(URL_, () => {
        let pulls = 0;
        const body = new ReadableStream<Uint8Array>({
          // 5000 bytes, then the socket fails; only once they are in the partial file, since an error drops what
          // is queued and unread (waiting a fixed time instead would fail on a busy machine).
          async pull(controller) {
            if (pulls++ === 0) return controller.enqueue(IMAGE.subarray(0, 5000));
            while ((await stat(partialImagePath(cache, SUM)).catch(() => undefined))?.size !== 5000) {
              await new Promise((resolve) => setTimeout(resolve, 10));
            }
            controller.error(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
          },
        });
        return new HttpResponse(body, { headers: { 'content-length': String(IMAGE.length) } });
      }),
    );
    const error = await failure(fetchImage(URL_, SUM, cache));
    expect(error.code).toBe('DEPLOY_IMAGE_FETCH_FAILED');
    expect(error.message).toMatch(/the download stopped after 5000 of \d+ bytes \(read ECONNRESET\); 5000 bytes are kept in .* and the next run resumes from there$/);
    expect((await readFile(partialImagePath(cache, SUM))).length).toBe(5000);
  });

  it('on a checksum mismatch removes the download and names the URL, the expected and the actual sum', async () => {
    const other = Buffer.from(IMAGE);
    other[1000] = 0xff - IMAGE[1000]!;
    const actual = createHash('sha256').update(other).digest('hex');
    server.use(http.get(URL_, () => new HttpResponse(other)));
    const error = await failure(fetchImage(URL_, SUM, cache, { where: 'images[2].url' }));
    expect(error).toMatchObject({ code: 'DEPLOY_IMAGE_CHECKSUM', kind: 'input', where: 'images[2].url' });
    expect(error.message).toBe(
      `${URL_}: the downloaded image's sha256 is ${actual}, not ${SUM} as the deployment file says; the download was removed. ` +
        'Check the sha256, or whether the URL now serves a newer image',
    );
    expect(await exists(partialImagePath(cache, SUM))).toBe(false);
    expect(await exists(cachedImagePath(cache, SUM))).toBe(false);
  });

  it('starts over from byte 0 when the server ignores Range (200 to a Range request), and ends verified', async () => {
    await mkdir(join(dir, 'partial'), { recursive: true });
    // Bytes that are not the image's: appending to them would fail the checksum.
    await writeFile(partialImagePath(cache, SUM), Buffer.alloc(4096, 0x55));
    server.use(http.get(URL_, () => new HttpResponse(IMAGE, { headers: { 'content-length': String(IMAGE.length) } })));
    const path = await fetchImage(URL_, SUM, cache);
    expect(seen).toEqual([{ url: URL_, range: 'bytes=4096-' }]);
    expect((await readFile(path)).equals(IMAGE)).toBe(true);
  });

  it('verifies a partial file that is already whole when the server answers 416', async () => {
    await mkdir(join(dir, 'partial'), { recursive: true });
    await writeFile(partialImagePath(cache, SUM), IMAGE);
    server.use(rangeServer());
    const path = await fetchImage(URL_, SUM, cache);
    expect(seen).toEqual([{ url: URL_, range: `bytes=${IMAGE.length}-` }]);
    expect((await readFile(path)).equals(IMAGE)).toBe(true);
  });

  it('starts over when a whole-looking partial file does not verify (416), or the server sends another range', async () => {
    await mkdir(join(dir, 'partial'), { recursive: true });
    await writeFile(partialImagePath(cache, SUM), Buffer.alloc(IMAGE.length + 10, 1));
    server.use(rangeServer());
    expect(await fetchImage(URL_, SUM, cache)).toBe(cachedImagePath(cache, SUM));
    expect(seen.map((s) => s.range)).toEqual([`bytes=${IMAGE.length + 10}-`, null]);

    await rm(dir, { recursive: true });
    await mkdir(join(dir, 'partial'), { recursive: true });
    await writeFile(partialImagePath(cache, SUM), IMAGE.subarray(0, 1000));
    seen = [];
    server.use(
      http.get(URL_, ({ request }) =>
        request.headers.has('range')
          ? new HttpResponse(IMAGE.subarray(500), { status: 206, headers: { 'content-range': `bytes 500-${IMAGE.length - 1}/${IMAGE.length}` } })
          : new HttpResponse(IMAGE),
      ),
    );
    expect((await readFile(await fetchImage(URL_, SUM, cache))).equals(IMAGE)).toBe(true);
    expect(seen.map((s) => s.range)).toEqual(['bytes=1000-', null]);
  });

  it('asks for the bytes as they are (no content coding), so that lengths and ranges count file bytes', async () => {
    let encoding: string | null = null;
    server.use(
      http.get(URL_, ({ request }) => {
        encoding = request.headers.get('accept-encoding');
        return new HttpResponse(IMAGE);
      }),
    );
    await fetchImage(URL_, SUM, cache);
    expect(encoding).toBe('identity');
  });

  it('keeps the partial file when aborted', async () => {
    const abort = new AbortController();
    server.use(
      http.get(URL_, () => {
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(IMAGE.subarray(0, 3000));
            // The rest never comes: the caller aborts.
          },
        });
        return new HttpResponse(body, { headers: { 'content-length': String(IMAGE.length) } });
      }),
    );
    const pending = fetchImage(URL_, SUM, cache, {
      signal: abort.signal,
      onProgress: (received) => received >= 3000 && abort.abort(),
    });
    const error = await failure(pending);
    expect(error.code).toBe('DEPLOY_IMAGE_FETCH_FAILED');
    expect(error.message).toContain('(aborted); 3000 bytes are kept');
    expect((await readFile(partialImagePath(cache, SUM))).length).toBe(3000);
  });

  it('refuses what the schema refuses, before any request', async () => {
    expect(await failure(fetchImage('ftp://example.test/x', SUM, cache))).toMatchObject({ code: 'DEPLOY_IMAGE_URL_INVALID', kind: 'input' });
    expect(await failure(fetchImage(URL_, '../../etc/passwd', cache))).toMatchObject({ code: 'DEPLOY_IMAGE_URL_INVALID', kind: 'input' });
    expect(seen).toEqual([]);
  });
});

describe('parseContentRange', () => {
  it('reads RFC 9110 byte ranges', () => {
    expect(parseContentRange('bytes 0-99/200')).toEqual({ start: 0, end: 99, total: 200 });
    expect(parseContentRange('bytes 100-199/*')).toEqual({ start: 100, end: 199 });
    expect(parseContentRange('bytes */200')).toBeUndefined();
    expect(parseContentRange(null)).toBeUndefined();
  });
});
