/**
 * A base image given by URL, fetched from a real HTTP server on loopback (Node's http, with Range as RFC 9110
 * §14 says) by the deployer's own build (`buildArtifacts`), over Node's own fetch: the first transfer is cut off
 * mid-way (the socket destroyed after some bytes), the next build resumes it with a Range request, verifies it
 * against the sha256 and uses it; a third build asks nothing. Needs no root, no lab and no network but 127.0.0.1.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactCache, buildArtifacts, parseDeployment, type Deployment } from '@vmctx/deployer';

const SIZE = 8 * 1024 * 1024;
const IMAGE = randomBytes(SIZE);
const SUM = createHash('sha256').update(IMAGE).digest('hex');
/** The first response is cut off after this many bytes of body. */
const CUT = 3 * 1024 * 1024 + 123;

interface Seen {
  url: string;
  range: string | undefined;
  status: number;
}

let server: Server;
let base: string;
let dir: string;
const seen: Seen[] = [];
let cutNext = true;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmctx-fetch-e2e-'));
  server = createServer((req, res) => {
    const log = (status: number) => seen.push({ url: req.url ?? '', range: req.headers.range, status });
    if (req.url === '/moved') {
      log(302);
      res.writeHead(302, { location: '/images/base.raw' }).end();
      return;
    }
    if (req.url !== '/images/base.raw') {
      log(404);
      res.writeHead(404).end('not here');
      return;
    }
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (start >= SIZE) {
      log(416);
      res.writeHead(416, { 'content-range': `bytes */${SIZE}` }).end();
      return;
    }
    const status = m ? 206 : 200;
    log(status);
    res.writeHead(status, {
      'content-length': String(SIZE - start),
      'accept-ranges': 'bytes',
      ...(m ? { 'content-range': `bytes ${start}-${SIZE - 1}/${SIZE}` } : {}),
    });
    if (cutNext) {
      cutNext = false;
      // Some of the body, then the connection dies: what a dropped link or a killed proxy does.
      res.write(IMAGE.subarray(start, start + CUT), () => res.socket?.destroy());
      return;
    }
    res.end(IMAGE.subarray(start));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function deployment(url: string): Promise<Deployment> {
  const text = `controllers:
  - { name: lc1, host: 127.0.0.1, port: 2201, user: root, imageDir: /var/lib/vmctx/images }
images:
  - { name: base, url: "${url}", sha256: ${SUM} }
vms:
  - name: web-1
    controller: lc1
    image: base
    spec: { memory: { value: 256, unit: MiB }, vcpu: 1 }
`;
  return parseDeployment(text, join(dir, 'deployment.yaml'), { homeDir: dir, sshConfigPath: join(dir, 'no-ssh-config') });
}

describe('a base image by URL, from a real HTTP server on 127.0.0.1', () => {
  it('is fetched through a redirect, cut off, resumed with Range, verified, and then used without a request', async () => {
    const cache = new ArtifactCache(join(dir, 'cache'));
    const d = await deployment(`${base}/moved`);
    const part = join(cache.dir, 'partial', `${SUM}.part`);
    const object = join(cache.dir, 'objects', `${SUM}.img`);

    // 1. Cut off: the build fails, saying what it kept and that the next run resumes.
    const error = (await buildArtifacts(d, { cache }).catch((e: unknown) => e)) as Error & { code?: string; kind?: string; where?: string };
    expect(error).toMatchObject({ code: 'DEPLOY_IMAGE_FETCH_FAILED', kind: 'remote', where: 'images[0].url' });
    expect(error.message).toContain(`GET ${base}/images/base.raw (redirected from ${base}/moved): the download stopped after `);
    expect(error.message).toContain(`bytes are kept in ${part} and the next run resumes from there`);
    const kept = (await stat(part)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(CUT);
    expect((await readFile(part)).equals(IMAGE.subarray(0, kept))).toBe(true);
    await expect(stat(object)).rejects.toThrow();

    // 2. Resumed from what was kept: one Range request, then the image verified and renamed into objects/.
    seen.length = 0;
    const [built] = await buildArtifacts(d, { cache });
    expect(seen).toEqual([
      { url: '/moved', range: `bytes=${kept}-`, status: 302 },
      { url: '/images/base.raw', range: `bytes=${kept}-`, status: 206 },
    ]);
    expect(built!.base).toMatchObject({ kind: 'base', localPath: object, sha256: SUM, size: SIZE });
    expect(built!.base.remotePath).toBe(`/var/lib/vmctx/images/base-${SUM.slice(0, 16)}.raw`);
    expect((await readFile(object)).equals(IMAGE)).toBe(true);
    expect(await readdir(join(cache.dir, 'partial'))).toEqual([]);

    // 3. Fetched once: a later build of the same deployment asks the server nothing.
    seen.length = 0;
    const [again] = await buildArtifacts(await deployment(`${base}/moved`), { cache });
    expect(again!.base.localPath).toBe(object);
    expect(seen).toEqual([]);
  });

  it('reports a 404 with the status, keeping nothing', async () => {
    const cache = new ArtifactCache(join(dir, 'cache-404'));
    const error = (await buildArtifacts(await deployment(`${base}/images/missing.raw`), { cache }).catch((e: unknown) => e)) as Error & { code?: string };
    expect(error).toMatchObject({ code: 'DEPLOY_IMAGE_FETCH_FAILED', message: `GET ${base}/images/missing.raw: HTTP 404 Not Found` });
    expect(await readdir(join(cache.dir, 'partial'))).toEqual([]);
  });
});
