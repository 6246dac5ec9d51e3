/**
 * Issue 24 #8, URL base images through the CLI, against a real HTTP server on 127.0.0.1 (counting what it is asked
 * and what it sends) and the in-process controller (counting uploads, listing its files):
 * - `check` and `plan` never GET an image's body: a probe asks for its header only (a bounded Range), and an
 *   image already in the cache is used without any request;
 * - `deploy` downloads it once, verified, and uploads one file for two image entries with the same bytes, on
 *   which both VMs' overlays back; destroy removes it once no VM uses it;
 * - a replace caused by a new image says which image changed, from which sha256 to which.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { captureIo, Exit } from '../cli/capture-io.fixture.js';
import { FakeController, putLink } from '../controller/fake-controller.fixture.js';
import { createProgram } from '../program.js';
import { HEADER_PROBE_BYTES } from './probe-image.js';

/** A raw image: 2 MiB, random past its first sector (so that it cannot be taken for a qcow2). */
const RAW = Buffer.concat([Buffer.alloc(512), randomBytes(2 * 1024 * 1024 - 512)]);
const NEW_RAW = Buffer.concat([Buffer.alloc(512), randomBytes(2 * 1024 * 1024 - 512)]);
const sum = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Seen {
  method: string;
  url: string;
  range: string | undefined;
  /** Body bytes the server sent. */
  sent: number;
}

let server: Server;
let origin: string;
const files = new Map<string, Buffer>();
let seen: Seen[] = [];
let fake: FakeController;
let dir: string;

/** Serves `files` by path, honouring `Range: bytes=A-B` and `bytes=A-` (RFC 9110 §14.2) and HEAD. */
function serve(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) {
  const body = files.get(req.url ?? '');
  const log: Seen = { method: req.method ?? '', url: req.url ?? '', range: req.headers.range, sent: 0 };
  seen.push(log);
  if (!body) return void res.writeHead(404).end();
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const start = m ? Number(m[1]) : 0;
  const end = m && m[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1;
  const part = body.subarray(start, end + 1);
  res.writeHead(m ? 206 : 200, { 'content-length': String(part.length), 'accept-ranges': 'bytes', ...(m ? { 'content-range': `bytes ${start}-${end}/${body.length}` } : {}) });
  if (req.method === 'HEAD') return void res.end();
  log.sent = part.length;
  res.end(part);
}

beforeAll(async () => {
  server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake = await FakeController.start();
  fake.trustHostKey();
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await fake.close();
});
beforeEach(async () => {
  fake.reset();
  putLink(fake, 'br0', 'bridge', true);
  files.clear();
  seen = [];
  dir = await mkdtemp(join(tmpdir(), 'vmctx-url-images-'));
  return () => rm(dir, { recursive: true, force: true });
});

/** Two image entries (`a`, `b`) and one VM on each. */
function deployment(images: { a: [string, string]; b: [string, string] }): string {
  const c = fake.controller();
  return `name: url-images
controllers:
  - { name: lc1, host: 127.0.0.1, port: ${c.port}, user: root, imageDir: ${c.imageDir}, identityFile: ${c.identityFile}, knownHosts: ${c.knownHosts} }
images:
  - { name: a, url: "${origin}${images.a[0]}", sha256: ${images.a[1]} }
  - { name: b, url: "${origin}${images.b[0]}", sha256: ${images.b[1]} }
defaults: { controller: lc1, bridge: br0, spec: { memory: { value: 64, unit: MiB } } }
vms:
  - { name: web-1, image: a }
  - { name: web-2, image: b }
`;
}

async function vmctx(text: string, ...args: string[]) {
  await writeFile(join(dir, 'deployment.yaml'), text);
  const io = captureIo();
  const exitCode = await createProgram(io)
    .parseAsync([...args, '-f', join(dir, 'deployment.yaml'), '--cache', join(dir, 'cache')], { from: 'user' })
    .then(
      () => 0,
      (error: unknown) => {
        if (error instanceof Exit) return error.exitCode;
        throw error;
      },
    );
  return { out: io.out, err: io.err, exitCode };
}

/** What the server sent of image bodies, and the requests that had no Range (a whole GET). */
const bodyBytes = () => seen.reduce((s, r) => s + r.sent, 0);
const wholeGets = () => seen.filter((r) => r.method === 'GET' && r.range === undefined);
const uploads = () => fake.commands.filter((c) => c.includes('vmctx-upload'));
const onController = () => readdirSync(fake.imageDir).filter((f) => !f.startsWith('.')).sort();

describe('URL images: check and plan ask for no body', () => {
  it('check and plan probe the header only; deploy downloads once; a cached image asks nothing', async () => {
    files.set('/a.raw', RAW);
    files.set('/b.raw', RAW);
    const text = deployment({ a: ['/a.raw', sum(RAW)], b: ['/b.raw', sum(RAW)] });

    const check = await vmctx(text, 'check');
    expect(check.exitCode, check.out + check.err).toBe(0);
    expect(wholeGets()).toEqual([]);
    expect(bodyBytes()).toBeLessThanOrEqual(2 * HEADER_PROBE_BYTES);

    const plan = await vmctx(text, 'plan');
    expect(plan.exitCode, plan.out + plan.err).toBe(2);
    expect(wholeGets()).toEqual([]);
    expect(bodyBytes()).toBeLessThanOrEqual(4 * HEADER_PROBE_BYTES);
    expect(existsSync(join(dir, 'cache', 'objects', `${sum(RAW)}.img`))).toBe(false);

    seen = [];
    const deploy = await vmctx(text, 'deploy');
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    // One download for the two entries: the same sha256 is one image.
    expect(wholeGets()).toHaveLength(1);
    expect(bodyBytes()).toBe(RAW.length);

    seen = [];
    const again = await vmctx(text, 'plan');
    expect(again.exitCode, again.out + again.err).toBe(0);
    expect(seen).toEqual([]);
  });

  it('the plan made from a probe is the one deploy makes from the downloaded image (raw; qcow2 with 2 MiB clusters)', async () => {
    // A qcow2 base as qemu-img makes one, 1 GiB virtual; its first cluster (the header's) is past the first probe.
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'cluster_size=2M', join(dir, 'b.qcow2'), '1G']);
    const QCOW2 = readFileSync(join(dir, 'b.qcow2'));
    files.set('/a.raw', RAW);
    files.set('/b.qcow2', QCOW2);
    const text = deployment({ a: ['/a.raw', sum(RAW)], b: ['/b.qcow2', sum(QCOW2)] });
    const planned = await vmctx(text, 'plan', '--json');
    expect(planned.exitCode, planned.err).toBe(2);
    expect(wholeGets()).toEqual([]);
    // The qcow2 was asked twice: its first 64 KiB, then its first cluster.
    expect(seen.filter((r) => r.url === '/b.qcow2').map((r) => r.range)).toEqual([`bytes=0-${HEADER_PROBE_BYTES - 1}`, `bytes=0-${2 * 1024 * 1024 - 1}`]);
    const uploads = (JSON.parse(planned.out) as { controllers: { plan: { uploads: unknown[] } }[] }).controllers[0]!.plan.uploads;
    expect(uploads).toEqual(
      expect.arrayContaining([
        { path: join(fake.imageDir, `a-${sum(RAW).slice(0, 16)}.raw`), bytes: RAW.length, kind: 'base' },
        { path: join(fake.imageDir, `b-${sum(QCOW2).slice(0, 16)}.qcow2`), bytes: QCOW2.length, kind: 'base' },
      ]),
    );
    const deploy = await vmctx(text, 'deploy');
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    // From an empty cache again, so that the plan is made from probes: it finds what deploy made from the bytes.
    await rm(join(dir, 'cache'), { recursive: true, force: true });
    seen = [];
    const after = await vmctx(text, 'plan');
    expect(after.exitCode, after.out + after.err).toBe(0);
    expect(after.out).toMatch(/= unchanged web-1\n  = unchanged web-2\n/);
    expect(wholeGets()).toEqual([]);
  });
});

describe('URL images: the same bytes under two names are one file on the controller', () => {
  it('uploads it once, both overlays back onto it, and destroy removes it with the last VM', async () => {
    files.set('/a.raw', RAW);
    files.set('/b.raw', RAW);
    const text = deployment({ a: ['/a.raw', sum(RAW)], b: ['/b.raw', sum(RAW)] });
    const deploy = await vmctx(text, 'deploy');
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    const base = `a-${sum(RAW).slice(0, 16)}.raw`;
    expect(uploads().filter((c) => c.includes('.raw'))).toHaveLength(1);
    expect(onController().filter((f) => f.endsWith('.raw'))).toEqual([base]);
    for (const vm of ['web-1', 'web-2']) {
      const overlay = readFileSync(join(fake.imageDir, `${vm}.qcow2`));
      expect(overlay.includes(Buffer.from(join(fake.imageDir, base)))).toBe(true);
    }
    const record = JSON.parse(readFileSync(join(fake.imageDir, '.vmctx', readdirSync(join(fake.imageDir, '.vmctx')).find((f) => f.endsWith('.json'))!), 'utf8')) as {
      vms: Record<string, { shared: string[] }>;
    };
    expect(record.vms['web-1']!.shared[0]).toBe(join(fake.imageDir, base));
    expect(record.vms['web-2']!.shared[0]).toBe(join(fake.imageDir, base));

    // Pruning one VM keeps the file the other backs onto; destroy removes it with the last.
    const pruned = await vmctx(text.replace('  - { name: web-2, image: b }\n', ''), 'deploy', '--prune');
    expect(pruned.exitCode, pruned.out + pruned.err).toBe(0);
    expect(onController().filter((f) => f.endsWith('.raw') || f.startsWith('web-2'))).toEqual([base]);
    const destroy = await vmctx(text, 'destroy', '--yes');
    expect(destroy.exitCode, destroy.out + destroy.err).toBe(0);
    expect(onController()).toEqual([]);
  });

  it('a VM on a second copy (an older layout) is replaced once onto the first, and the copy goes', async () => {
    files.set('/a.raw', RAW);
    files.set('/b.raw', RAW);
    const text = deployment({ a: ['/a.raw', sum(RAW)], b: ['/b.raw', sum(RAW)] });
    // Only web-2 (image b): its base is named after b, as each image's was before.
    await vmctx(text.replace('  - { name: web-1, image: a }\n', ''), 'deploy');
    const copy = join(fake.imageDir, `b-${sum(RAW).slice(0, 16)}.raw`);
    const first = join(fake.imageDir, `a-${sum(RAW).slice(0, 16)}.raw`);
    expect(onController().filter((f) => f.endsWith('.raw'))).toEqual([`b-${sum(RAW).slice(0, 16)}.raw`]);
    const plan = await vmctx(text, 'plan');
    expect(plan.out).toContain(`~ replace   web-2: image b is now the base file ${first} (was ${copy})`);
    // A new base under an overlay is a new disk: deploy does it only when allowed to lose what the guest wrote.
    expect((await vmctx(text, 'deploy')).exitCode).toBe(1);
    const deploy = await vmctx(text, 'deploy', '--allow-disk-loss');
    expect(deploy.exitCode, deploy.out + deploy.err).toBe(0);
    expect(onController().filter((f) => f.endsWith('.raw'))).toEqual([`a-${sum(RAW).slice(0, 16)}.raw`]);
  });
});

describe('URL images: a replace says which image changed', () => {
  it('names the image and its old and new sha256', async () => {
    files.set('/a.raw', RAW);
    files.set('/b.raw', RAW);
    await vmctx(deployment({ a: ['/a.raw', sum(RAW)], b: ['/b.raw', sum(RAW)] }), 'deploy');
    files.set('/b2.raw', NEW_RAW);
    const plan = await vmctx(deployment({ a: ['/a.raw', sum(RAW)], b: ['/b2.raw', sum(NEW_RAW)] }), 'plan');
    expect(plan.exitCode, plan.out + plan.err).toBe(2);
    expect(plan.out).toContain(`~ replace   web-2: image b changed (sha256 ${sum(RAW).slice(0, 12)} → ${sum(NEW_RAW).slice(0, 12)})`);
    expect(plan.out).toMatch(/= unchanged +web-1\n/);
    expect(plan.out).not.toContain('overlay changed');
  });
});
