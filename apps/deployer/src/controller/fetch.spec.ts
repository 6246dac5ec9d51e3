/**
 * controller/fetch.ts and sh/fetch-receive.sh (`fetch: controller`, issue 22): the in-process controller (real sh,
 * the machine's curl) fetches from a real HTTP server on loopback, with Range as RFC 9110 §14 says: a fetch cut off
 * mid-way keeps what arrived and the next continues it with a Range request; a file with another sum is removed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ControllerConnection } from './connection.js';
import { failure, FakeController } from './fake-controller.fixture.js';
import { fetchOnController } from './fetch.js';
import { partialPath } from './upload.js';
import { FETCH_RECEIVE_SH } from '../sh/sh.generated.js';

const IMAGE = randomBytes(5 * 1024 * 1024 + 77);
const SUM = createHash('sha256').update(IMAGE).digest('hex');
/** The next response is cut off after this many bytes of its body (undefined: whole). */
let cutAfter: number | undefined;
const ranges: Array<string | undefined> = [];

let server: Server;
let url: string;
let fake: FakeController;
let connection: ControllerConnection;

beforeAll(async () => {
  server = createServer((req, res) => {
    ranges.push(req.headers.range);
    const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = match ? Number(match[1]) : 0;
    if (start >= IMAGE.length) return void res.writeHead(416, { 'content-range': `bytes */${IMAGE.length}` }).end();
    const body = IMAGE.subarray(start);
    res.writeHead(match ? 206 : 200, { 'content-length': body.length, 'accept-ranges': 'bytes', ...(match ? { 'content-range': `bytes ${start}-${IMAGE.length - 1}/${IMAGE.length}` } : {}) });
    if (cutAfter === undefined) return void res.end(body);
    res.write(body.subarray(0, cutAfter), () => res.destroy());
    cutAfter = undefined;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/images/base.raw`;
  fake = await FakeController.start();
  fake.trustHostKey();
  connection = await ControllerConnection.open(fake.controller(), { readyTimeoutMs: 5000 });
});
afterAll(async () => {
  connection.close();
  await fake.close();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  fake.reset();
  ranges.length = 0;
  cutAfter = undefined;
});

describe('fetchOnController', () => {
  it('has the controller fetch the URL, verify its sha256 and publish it with the mode asked; its identity', async () => {
    const remote = join(fake.imageDir, 'base.raw');
    const identity = await fetchOnController(connection, url, remote, { sha256: SUM, size: IMAGE.length, mode: '0640' });
    expect(readFileSync(remote).equals(IMAGE)).toBe(true);
    expect(statSync(remote).mode & 0o7777).toBe(0o640);
    const st = statSync(remote, { bigint: true });
    expect(identity).toMatch(new RegExp(`^${st.dev}:${st.ino}:`));
    expect(readdirSync(fake.imageDir)).toEqual(['base.raw']);
    expect(ranges).toEqual([undefined]);
  });

  it('keeps what arrived of a fetch cut off, and the next continues from there with a Range request', async () => {
    const remote = join(fake.imageDir, 'base.raw');
    cutAfter = 2 * 1024 * 1024 + 5;
    const error = await failure(fetchOnController(connection, url, remote, { sha256: SUM, size: IMAGE.length }));
    expect(error.code).toBe('REMOTE_FETCH_FAILED');
    expect(error.message).toContain(`of ${IMAGE.length} bytes; kept for the next one to continue`);
    const kept = statSync(partialPath(remote, SUM)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(IMAGE.length);
    await fetchOnController(connection, url, remote, { sha256: SUM, size: IMAGE.length });
    expect(ranges).toEqual([undefined, `bytes=${kept}-`]);
    expect(readFileSync(remote).equals(IMAGE)).toBe(true);
    expect(readdirSync(fake.imageDir)).toEqual(['base.raw']);
  });

  it('says REMOTE_UPLOAD_UNVERIFIED and leaves nothing when the file has another sha256', async () => {
    const remote = join(fake.imageDir, 'base.raw');
    const wrong = createHash('sha256').update('another image').digest('hex');
    const error = await failure(fetchOnController(connection, url, remote, { sha256: wrong, size: IMAGE.length }));
    expect(error.code).toBe('REMOTE_UPLOAD_UNVERIFIED');
    expect(error.message).toContain(`sha256 on the controller is ${SUM}, expected ${wrong}`);
    expect(readdirSync(fake.imageDir)).toEqual([]);
  });

  it("says REMOTE_FETCH_FAILED with curl's message for a URL that is not there, and leaves nothing", async () => {
    const remote = join(fake.imageDir, 'base.raw');
    const error = await failure(fetchOnController(connection, url.replace(/:\d+\//, ':1/'), remote, { sha256: SUM, size: IMAGE.length }));
    expect(error.code).toBe('REMOTE_FETCH_FAILED');
    expect(error.message).toMatch(/curl: \(7\)/);
    expect(readdirSync(fake.imageDir)).toEqual([]);
  });
});

describe('fetch-receive.sh without curl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmctx-fetch-sh-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  /** A folder of links to the tools named, for a PATH of only them. */
  const binWith = (name: string, tools: readonly string[]) => {
    const bin = join(dir, name);
    mkdirSync(bin);
    for (const tool of tools) symlinkSync(spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim(), join(bin, tool));
    return bin;
  };
  const base = ['rm', 'flock', 'stat', 'chmod', 'ln', 'dirname', 'openssl'];
  /** The script under dash with PATH=bin (spawned: the server answers in this process). */
  const run = (bin: string, out: string) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn('/bin/dash', ['-c', FETCH_RECEIVE_SH, 'vmctx-fetch', join(out, '.part'), SUM, join(out, 'base.raw'), '0600', String(IMAGE.length), url], { env: { PATH: bin, LC_ALL: 'C' } });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', (error) => resolve({ code: null, stderr: error.message }));
      child.on('close', (code) => resolve({ code, stderr }));
    });

  it('fetches with wget where curl is not there; wget itself continues a cut transfer with a Range request', async () => {
    const bin = binWith('wget', [...base, 'wget']);
    const out = join(dir, 'out-wget');
    mkdirSync(out);
    cutAfter = 1024 * 1024;
    expect(await run(bin, out)).toEqual({ code: 0, stderr: '' });
    expect(ranges).toEqual([undefined, `bytes=${1024 * 1024}-`]);
    expect(readFileSync(join(out, 'base.raw')).equals(IMAGE)).toBe(true);
    expect(readdirSync(out)).toEqual(['base.raw']);
  });

  it('says so with neither curl nor wget (exit 8) and leaves nothing', async () => {
    const out = join(dir, 'out-none');
    mkdirSync(out);
    const result = await run(binWith('none', base), out);
    expect(result).toEqual({ code: 8, stderr: 'neither curl nor wget is on the controller\n' });
    expect(readdirSync(out)).toEqual([]);
  });
});
