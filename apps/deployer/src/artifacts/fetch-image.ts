/**
 * Base images given by URL (`images: [{ name, url, sha256 }]`): fetched once into the local cache, resumable,
 * verified before use.
 *
 * - Fetched once: the verified file is the cache object `objects/<sha256>.img`; when it is there, nothing is
 *   requested at all.
 * - Resumable: bytes go to `partial/<sha256>.part`. A run that finds a partial file asks for the rest
 *   (`Range: bytes=N-`, RFC 9110 §14.2) and appends on `206` whose `Content-Range` starts at N (§14.4); a server
 *   that ignores Range answers `200` with the whole file, which is written again from byte 0; `416` (§15.5.17)
 *   means the partial file already holds everything, and it is verified as it is.
 * - Streamed: the body is written to disk and hashed chunk by chunk (a resumed download hashes the bytes already
 *   on disk first), never held in memory.
 * - Verified before use: only a file whose sha256 is the one given is renamed (after an fsync) into objects/;
 *   on a mismatch the partial file is removed. A download cut short (fewer bytes than Content-Length, a reset
 *   connection, an abort) keeps the partial file for the next run to resume.
 * - Redirects are followed here, not by fetch (`redirect: 'manual'`), to cap them and to name the URL that
 *   answered in every message.
 *
 * Error codes: DEPLOY_IMAGE_URL_INVALID (kind input: not an http(s) URL or not a sha256; the deployment file's
 * schema refuses both first), DEPLOY_IMAGE_FETCH_FAILED (kind remote: the server failed, refused or was cut off; a retry may
 * work), DEPLOY_IMAGE_CHECKSUM (kind input: every byte arrived, and they are not the ones the deployment file
 * names; downloading again gives the same bytes, so the fix is in the file: the sha256, or a URL that moved on
 * to a newer image), DEPLOY_IMAGE_CACHE_FAILED (kind io: the local cache could not be written).
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { makeFolder, VmctxError } from '@vmctx/contract';
import type { ArtifactCache } from './cache.js';
import { DeployerError } from '../errors.js';

export interface FetchImageOptions {
  /** Default: the global fetch (Node's undici), looked up at call time. */
  fetch?: typeof fetch;
  /** Bytes held so far (a resumed download counts the partial file), and the whole size when the server says it. */
  onProgress?: (received: number, total?: number) => void;
  /** Aborting keeps the partial file: the next run resumes it. */
  signal?: AbortSignal;
  /** Where the image is declared, for messages (`images[0].url`). Default: the URL. */
  where?: string;
  /** Redirects followed before giving up. Default 10. */
  maxRedirects?: number;
}

export const DEFAULT_MAX_REDIRECTS = 10;

/** Where the verified image of `sha256` is (or will be) in the cache. */
export function cachedImagePath(cache: ArtifactCache, sha256: string): string {
  return join(cache.dir, 'objects', `${sha256}.img`);
}

/** Where the bytes of an unfinished download of `sha256` are kept. */
export function partialImagePath(cache: ArtifactCache, sha256: string): string {
  return join(cache.dir, 'partial', `${sha256}.part`);
}

/** Fetches `url` into the cache unless the image of `sha256` is there; returns the verified local path. */
export async function fetchImage(url: string, sha256: string, cache: ArtifactCache, options: FetchImageOptions = {}): Promise<string> {
  const where = options.where ?? url;
  const expected = checkedSha256(url, sha256, where);

  const target = cachedImagePath(cache, expected);
  if (await isFile(target)) return target;
  const part = partialImagePath(cache, expected);
  await local(`create ${join(cache.dir, 'partial')}`, where, () => makeFolder(join(cache.dir, 'partial')));

  const job: Job = { url, where, part, expected, options };
  let result = await attempt(job, await sizeOf(part));
  if (result.kind === 'restart') {
    // The partial file could not be continued (see attempt); once more from nothing, which cannot ask again.
    await local(`remove ${part}`, where, () => rm(part, { force: true }));
    result = await attempt(job, 0);
  }
  if (result.kind === 'restart') throw new DeployerError('DEPLOY_INTERNAL', `${url}: a fresh download asked to start over`, { where });

  if (result.sha256 !== expected) {
    await local(`remove ${part}`, where, () => rm(part, { force: true }));
    throw new DeployerError(
      'DEPLOY_IMAGE_CHECKSUM',
      `${result.url}: the downloaded image's sha256 is ${result.sha256}, not ${expected} as the deployment file says; the download was removed. ` +
        'Check the sha256, or whether the URL now serves a newer image',
      { where },
    );
  }
  await local(`store ${target}`, where, async () => {
    const handle = await open(part, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await makeFolder(join(cache.dir, 'objects'));
    await rename(part, target);
  });
  return target;
}

/** The sha256 of a URL image in lowercase; DEPLOY_IMAGE_URL_INVALID for what is not an http(s) URL or not a sha256. */
export function checkedSha256(url: string, sha256: string, where: string): string {
  const expected = sha256.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(expected)) throw new DeployerError('DEPLOY_IMAGE_URL_INVALID', `${url}: "${sha256}" is not a sha256 (64 hex digits)`, { where });
  if (!/^https?:$/.test(protocolOf(url))) throw new DeployerError('DEPLOY_IMAGE_URL_INVALID', `${url}: only http and https URLs are fetched`, { where });
  return expected;
}

/** What one request needs: the URL, where it is declared, and how to fetch. */
export interface RequestJob {
  url: string;
  where: string;
  options: Pick<FetchImageOptions, 'fetch' | 'signal' | 'maxRedirects'>;
}

interface Job extends RequestJob {
  part: string;
  expected: string;
  options: FetchImageOptions;
}

type Attempt = { kind: 'done'; sha256: string; url: string } | { kind: 'restart' };

/**
 * One request, from `offset` (the partial file's size). `restart` when the partial file cannot be continued: the
 * server answered another range than asked, or said there is nothing past it (416) and it does not verify.
 */
async function attempt(job: Job, offset: number): Promise<Attempt> {
  const { response, url } = await request(job, offset > 0 ? `bytes=${offset}-` : undefined, offset > 0 ? `; the partial download (${offset} bytes) is kept` : '');
  // Not awaited, as `stop` below.
  const cancel = () => void response.body?.cancel().catch(() => undefined);

  if (offset > 0 && response.status === 416) {
    cancel();
    const sha256 = await hashPrefix(job, offset, createHash('sha256')).then((h) => h.digest('hex'));
    return sha256 === job.expected ? { kind: 'done', sha256, url } : { kind: 'restart' };
  }
  let start: number;
  let total: number | undefined;
  /** One past the last byte this response should carry, when it says. */
  let end: number | undefined;
  if (response.status === 206) {
    const range = parseContentRange(response.headers.get('content-range'));
    if (range?.start !== offset) {
      cancel();
      if (offset > 0) return { kind: 'restart' };
      throw failed(job, url, `answered 206 with Content-Range ${JSON.stringify(response.headers.get('content-range'))} to a request for the whole file`);
    }
    start = offset;
    total = range.total;
    end = range.end + 1;
  } else if (response.status === 200) {
    // A server that ignores Range sends everything: written again from byte 0.
    start = 0;
  } else {
    cancel();
    throw failed(job, url, `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${offset > 0 ? `; the partial download (${offset} bytes) is kept` : ''}`);
  }
  if (!response.body) throw failed(job, url, `HTTP ${response.status} without a body`);

  // A body the server encoded (gzip...) is decoded by fetch: its Content-Length counts other bytes than arrive.
  const encoded = (response.headers.get('content-encoding') ?? 'identity').toLowerCase() !== 'identity';
  const length = encoded ? undefined : parseLength(response.headers.get('content-length'));
  if (length !== undefined) end = start + length;
  total ??= end;

  const hash = start > 0 ? await hashPrefix(job, start, createHash('sha256')) : createHash('sha256');
  let received = start;
  job.options.onProgress?.(received, total);
  const cut = (why: string) =>
    failed(
      job,
      url,
      `the download stopped after ${received}${total === undefined ? '' : ` of ${total}`} bytes (${why}); ` +
        `${received} bytes are kept in ${job.part} and the next run resumes from there`,
    );
  const signal = job.options.signal;
  const reader = response.body.getReader();
  // Tells the server to stop; not awaited, since nothing here depends on how the cancel ends (and a stream
  // whose source never answers it would hang the download's failure).
  const stop = () => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', stop, { once: true });
  const file = await local(`open ${job.part}`, job.where, () => open(job.part, start > 0 ? 'a' : 'w'));
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw Object.assign(cut(signal?.aborted ? 'aborted' : describe(error)), { cause: error });
      }
      if (signal?.aborted) throw cut('aborted');
      if (chunk.done) break;
      const bytes = chunk.value;
      hash.update(bytes);
      // One chunk at a time, awaited: the disk paces the download, nothing piles up in memory.
      await local(`write ${job.part}`, job.where, () => file.writeFile(bytes));
      received += bytes.length;
      job.options.onProgress?.(received, total);
    }
  } catch (error) {
    stop();
    throw error;
  } finally {
    signal?.removeEventListener('abort', stop);
    await file.close();
  }
  if (end !== undefined && received < end) throw cut(`the server announced ${end}`);
  return { kind: 'done', sha256: hash.digest('hex'), url };
}

/**
 * GET `url` (with `range`, a Range header's value, when given), following redirects by hand; the response and the
 * URL that gave it. `kept` ends the message of a request that failed (what the caller keeps).
 */
export async function request(job: RequestJob, range: string | undefined, kept = ''): Promise<{ response: Response; url: string }> {
  const doFetch = job.options.fetch ?? globalThis.fetch;
  const max = job.options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (range !== undefined) headers['range'] = range;
  let url = job.url;
  for (let hop = 0; ; hop++) {
    let response: Response;
    try {
      response = await doFetch(url, { headers, redirect: 'manual', ...(job.options.signal ? { signal: job.options.signal } : {}) });
    } catch (error) {
      throw Object.assign(failed(job, url, `${describe(error)}${kept}`), { cause: error });
    }
    const location = response.headers.get('location');
    if (![301, 302, 303, 307, 308].includes(response.status) || location === null) return { response, url };
    void response.body?.cancel().catch(() => undefined);
    if (hop >= max) throw failed(job, url, `more than ${max} redirects (the last to ${location})`);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw failed(job, url, `redirected to ${JSON.stringify(location)}, not a URL`);
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') throw failed(job, url, `redirected to ${next.href}, not http or https`);
    url = next.href;
  }
}

/** The first `length` bytes of the partial file into `hash`: a resumed download's sum covers them too. */
async function hashPrefix(job: Job, length: number, hash: Hash): Promise<Hash> {
  try {
    for await (const chunk of createReadStream(job.part, { start: 0, end: length - 1 })) hash.update(chunk as Buffer);
  } catch (error) {
    throw cacheFailed(job, `read ${job.part}`, error);
  }
  return hash;
}

/** `bytes 100-199/200` (RFC 9110 §14.4); total undefined for `*`. */
export function parseContentRange(value: string | null): { start: number; end: number; total?: number } | undefined {
  const m = value === null ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim());
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), ...(m[3] === '*' ? {} : { total: Number(m[3]) }) };
}

export function parseLength(value: string | null): number | undefined {
  return value !== null && /^\d+$/.test(value.trim()) ? Number(value) : undefined;
}

export function failed(job: RequestJob, url: string, why: string): VmctxError {
  const via = url === job.url ? '' : ` (redirected from ${job.url})`;
  return new DeployerError('DEPLOY_IMAGE_FETCH_FAILED', `GET ${url}${via}: ${why}`, { where: job.where });
}

function cacheFailed(job: Job, what: string, error: unknown): VmctxError {
  return new DeployerError('DEPLOY_IMAGE_CACHE_FAILED', `${job.url}: cannot ${what}: ${(error as Error).message}`, { where: job.where, cause: error });
}

async function local<T>(what: string, where: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new DeployerError('DEPLOY_IMAGE_CACHE_FAILED', `cannot ${what}: ${(error as Error).message}`, { where, cause: error });
  }
}

/** An undici failure is `TypeError: fetch failed` (or `terminated`) with the socket's error as its cause. */
export function describe(error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  const cause = (error as { cause?: unknown })?.cause;
  const inner = cause instanceof Error ? `${(cause as NodeJS.ErrnoException).code ? `${(cause as NodeJS.ErrnoException).code}: ` : ''}${cause.message}` : undefined;
  return inner && inner !== message ? `${message}: ${inner}` : message;
}

function protocolOf(url: string): string {
  try {
    return new URL(url).protocol;
  } catch {
    return '';
  }
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

async function sizeOf(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.size ?? 0;
}
