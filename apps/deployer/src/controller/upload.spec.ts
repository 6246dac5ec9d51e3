import { createHash, randomBytes } from 'node:crypto';
import { closeSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sparseDigestOfBytes } from './sparse-digest.fixture.js';
import { ControllerConnection } from './connection.js';
import { failure, FakeController } from './fake-controller.fixture.js';
import { partialPath, remoteSha256, uploadFile, uploadFileToMany } from './upload.js';

let fake: FakeController;
let connection: ControllerConnection;
let local: string;
let file: string;
let data: Buffer;
let sha256: string;

beforeAll(async () => {
  fake = await FakeController.start();
  fake.trustHostKey();
  connection = await ControllerConnection.open(fake.controller(), { readyTimeoutMs: 5000 });
  local = mkdtempSync(join(tmpdir(), 'vmctx-upload-spec-'));
  // Several of upload's 1 MiB chunks, and not a whole number of them.
  data = randomBytes(3 * 1024 * 1024 + 4321);
  sha256 = createHash('sha256').update(data).digest('hex');
  file = join(local, 'base.raw');
  writeFileSync(file, data);
});
afterAll(async () => {
  connection.close();
  await fake.close();
  rmSync(local, { recursive: true, force: true });
});
beforeEach(() => fake.reset());


const isUpload = (command: string) => command.includes('vmctx-upload');

describe('uploadFile', () => {
  it('puts the file under its final name, intact, with the mode asked, and nothing else', async () => {
    const remote = join(fake.imageDir, 'base.raw');
    const progress: number[] = [];
    await uploadFile(connection, file, remote, { sha256, size: data.length, mode: '0644', onProgress: (sent) => progress.push(sent) });
    expect(readFileSync(remote).equals(data)).toBe(true);
    expect(statSync(remote).mode & 0o7777).toBe(0o644);
    expect(readdirSync(fake.imageDir)).toEqual(['base.raw']);
    expect(progress.at(-1)).toBe(data.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  // Found by deployer-safety.lab (an image folder that fills during the upload): the receiving dd failed on a full
  // file system and the command ended (exit 5) while frames were still being sent; the deployer reported the broken
  // channel, not why the controller stopped: "No space left on device" was lost.
  it("says the controller's own reason when the command ends while frames are still sent (a file system that fills)", async () => {
    const big = join(local, 'big.raw');
    writeFileSync(big, randomBytes(32 * 1024 * 1024));
    const bigSum = createHash('sha256').update(readFileSync(big)).digest('hex');
    // dd as on a file system that is full past 2 MiB: it reads nothing and fails as GNU dd does.
    const dd = join(fake.root, 'bin', 'dd');
    writeFileSync(
      dd,
      `#!/bin/sh\nfor a; do case $a in seek=*) at=\${a#seek=} ;; of=*) of=\${a#of=} ;; esac; done\nif [ "\${at:-0}" -ge 2097152 ]; then echo "dd: error writing '$of': No space left on device" >&2; exit 1; fi\nexec /bin/dd "$@"\n`,
      { mode: 0o755 },
    );
    try {
      const error = await failure(uploadFile(connection, big, join(fake.imageDir, 'big.raw'), { sha256: bigSum, size: 32 * 1024 * 1024 }));
      expect(error.code).toBe('REMOTE_UPLOAD_FAILED');
      expect(error.message).toContain('No space left on device');
      expect(error.message).toContain('the partial file was removed');
      expect(readdirSync(fake.imageDir)).toEqual([]);
    } finally {
      rmSync(dd);
    }
  });

  it('makes the file 0600 when no mode is asked', async () => {
    const remote = join(fake.imageDir, 'context.iso');
    await uploadFile(connection, file, remote, { sha256, size: data.length });
    expect(statSync(remote).mode & 0o7777).toBe(0o600);
  });

  it('never replaces what is at the final name: a file, or a link to a folder, stays as it was, the upload removed (issue 19)', async () => {
    const remote = join(fake.imageDir, 'web-1.qcow2');
    writeFileSync(remote, 'old');
    const error = await failure(uploadFile(connection, file, remote, { sha256, size: data.length }));
    expect(error.code).toBe('REMOTE_UPLOAD_FAILED');
    expect(error.message).toContain('appeared on the controller during the upload');
    expect(readFileSync(remote, 'utf8')).toBe('old');
    rmSync(remote);
    // A link to a folder planted at the final name: mv would have moved the overlay into that folder.
    const elsewhere = mkdtempSync(join(local, 'elsewhere-'));
    symlinkSync(elsewhere, remote);
    await failure(uploadFile(connection, file, remote, { sha256, size: data.length }));
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(lstatSync(remote).isSymbolicLink()).toBe(true);
    rmSync(remote);
    expect(readdirSync(fake.imageDir).filter((f) => f.includes('vmctx-part'))).toEqual([]);
  });

  it('publishes the file and returns its identity (device, inode, birth time), as stat reads it on the controller', async () => {
    const remote = join(fake.imageDir, 'web-1.qcow2');
    const identity = await uploadFile(connection, file, remote, { sha256, size: data.length });
    const info = statSync(remote, { bigint: true });
    expect(identity).toMatch(new RegExp(`^${info.dev}:${info.ino}:\\d+\\.\\d{9}$`));
    expect(readFileSync(remote).equals(data)).toBe(true);
  });

  it('says REMOTE_UPLOAD_UNVERIFIED and leaves nothing when the controller stored other bytes', async () => {
    // The server flips one byte on its way to disk: what was sent hashes right, what arrived does not. The stream is
    // one frame (sparse-frames.ts): its header, then the data.
    let offset = -Buffer.byteLength(`0 ${data.length}\n`);
    const corrupt = () =>
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          const at = 1_500_000 - offset;
          if (at >= 0 && at < chunk.length) {
            chunk = Buffer.from(chunk);
            chunk[at] = chunk[at]! ^ 0x01;
          }
          offset += chunk.length;
          done(null, chunk);
        },
      });
    fake.hook = (command, _channel, run) => run(isUpload(command) ? { stdin: corrupt() } : {});
    const remote = join(fake.imageDir, 'base.raw');
    const error = await failure(uploadFile(connection, file, remote, { sha256, size: data.length }));
    expect(error.code).toBe('REMOTE_UPLOAD_UNVERIFIED');
    const stored = Buffer.from(data);
    stored[1_500_000] = stored[1_500_000]! ^ 0x01;
    // The controller's digest is the sparse one (sparse-digest.ts), of the bytes it stored.
    expect(error.message).toContain(`sparse sha256 on the controller is ${sparseDigestOfBytes(stored)}, expected ${sparseDigestOfBytes(data)}`);
    expect(error.message).toContain('removed');
    expect(readdirSync(fake.imageDir)).toEqual([]);
  });

  it('sends nothing when the file no longer has the sha256 given (it changed since it was summed)', async () => {
    const remote = join(fake.imageDir, 'base.raw');
    const wrong = createHash('sha256').update('something else').digest('hex');
    const error = await failure(uploadFile(connection, file, remote, { sha256: wrong, size: data.length }));
    expect(error.code).toBe('REMOTE_UPLOAD_FAILED');
    expect(error.message).toContain(`the file changed: it now holds ${data.length} bytes of sha256 ${sha256.slice(0, 16)}, not ${data.length} of ${wrong.slice(0, 16)}; nothing was sent`);
    expect(readdirSync(fake.imageDir)).toEqual([]);
  });

  it('says REMOTE_UPLOAD_UNVERIFIED and leaves nothing when the sparse digest given is not the one received', async () => {
    const remote = join(fake.imageDir, 'base.raw');
    const wrong = createHash('sha256').update('something else').digest('hex');
    const error = await failure(uploadFile(connection, file, remote, { sha256, sparseSha256: wrong, size: data.length }));
    expect(error.code).toBe('REMOTE_UPLOAD_UNVERIFIED');
    expect(error.message).toContain(`sparse sha256 on the controller is ${sparseDigestOfBytes(data)}, expected ${wrong}`);
    expect(readdirSync(fake.imageDir)).toEqual([]);
  });

  it('keeps what arrived when the receiving command dies mid-way, and the next upload sends only the rest (issue 19)', async () => {
    fake.hook = (command, _channel, run) => {
      if (!isUpload(command)) return run();
      run({ killAfterBytes: 1024 * 1024 });
    };
    const remote = join(fake.imageDir, 'base.raw');
    const error = await failure(uploadFile(connection, file, remote, { sha256, size: data.length }));
    expect(error.code).toBe('REMOTE_UPLOAD_FAILED');
    const partial = partialPath(remote, sha256);
    expect(error.message).toContain(`what arrived is kept in ${partial} for the next deploy to resume`);
    const kept = statSync(partial).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(data.length);
    expect(readFileSync(partial).equals(data.subarray(0, kept))).toBe(true);
    // The next upload: told where to start, it sends the rest only (and a frame header, and `end`); the sum covers
    // the whole.
    fake.hook = undefined;
    const progress: number[] = [];
    let wire = 0;
    await uploadFile(connection, file, remote, { sha256, size: data.length, onProgress: (sent, _total, bytes) => (progress.push(sent), (wire = bytes)) });
    expect(readFileSync(remote).equals(data)).toBe(true);
    expect(wire).toBeGreaterThanOrEqual(data.length - kept);
    expect(wire).toBeLessThan(data.length - kept + 64);
    expect(progress[0]).toBeGreaterThan(kept);
    expect(progress.at(-1)).toBe(data.length);
    expect(readdirSync(fake.imageDir)).toEqual(['base.raw']);
  });

  it('removes a kept part that is not a prefix of the file, and says so; the next upload sends it whole', async () => {
    const remote = join(fake.imageDir, 'base.raw');
    const partial = partialPath(remote, sha256);
    writeFileSync(partial, Buffer.from('not the start of the image'));
    const error = await failure(uploadFile(connection, file, remote, { sha256, size: data.length }));
    expect(error.code).toBe('REMOTE_UPLOAD_UNVERIFIED');
    expect(readdirSync(fake.imageDir)).toEqual([]);
    await uploadFile(connection, file, remote, { sha256, size: data.length });
    expect(readFileSync(remote).equals(data)).toBe(true);
  });

  it('says REMOTE_UPLOAD_FAILED, with what the controller said, when it cannot write there', async () => {
    const remote = join(fake.imageDir, 'missing-folder', 'base.raw');
    const error = await failure(uploadFile(connection, file, remote, { sha256, size: data.length }));
    expect(error.code).toBe('REMOTE_UPLOAD_FAILED');
    expect(error.message).toMatch(/exited 5: .*missing-folder.*(No such file or directory|Directory nonexistent)/);
    expect(error.message).toContain('the partial file was removed');
    expect(readdirSync(fake.imageDir)).toEqual([]);
  });

  it('says REMOTE_UPLOAD_FAILED when the local file cannot be read, and leaves nothing', async () => {
    const remote = join(fake.imageDir, 'base.raw');
    const error = await failure(uploadFile(connection, join(local, 'nope.raw'), remote, { sha256, size: 10 }));
    expect(error.code).toBe('REMOTE_UPLOAD_FAILED');
    expect(readdirSync(fake.imageDir)).toEqual([]);
  });
});

/** 64 MiB holding 3 MiB of data at a few offsets, the rest holes: a base image as guest installers leave them. */
function sparseImage(): { path: string; sha256: string; size: number } {
  const path = join(local, 'sparse.raw');
  const size = 64 * 1024 * 1024;
  writeFileSync(path, '');
  truncateSync(path, size);
  const fd = openSync(path, 'r+');
  const extents: Array<[number, Buffer]> = [
    [0, randomBytes(1024 * 1024)],
    [17 * 1024 * 1024 + 4096, randomBytes(1024 * 1024 + 123)],
    [size - 1024 * 1024, randomBytes(1024 * 1024)],
  ];
  for (const [at, bytes] of extents) writeSync(fd, bytes, 0, bytes.length, at);
  closeSync(fd);
  return { path, sha256: createHash('sha256').update(readFileSync(path)).digest('hex'), size };
}

describe('uploadFile with compression: on (issue 22)', () => {
  it('gzips the frames that shrink, sends the others as they are; the controller holds the same bytes, its holes holes', async () => {
    const compressing = await ControllerConnection.open({ ...fake.controller(), compression: 'on' }, { readyTimeoutMs: 5000 });
    try {
      const size = 16 * 1024 * 1024;
      const text = Buffer.from('a guest writes text that compresses well\n'.repeat(100_000)).subarray(0, 3 * 1024 * 1024);
      const random = randomBytes(1024 * 1024);
      const path = join(local, 'mixed.raw');
      writeFileSync(path, '');
      truncateSync(path, size);
      const fd = openSync(path, 'r+');
      writeSync(fd, text, 0, text.length, 0);
      writeSync(fd, random, 0, random.length, 8 * 1024 * 1024);
      closeSync(fd);
      const bytes = readFileSync(path);
      const remote = join(fake.imageDir, 'mixed.raw');
      let wire = 0;
      await uploadFile(compressing, path, remote, { sha256: createHash('sha256').update(bytes).digest('hex'), size, onProgress: (_s, _t, w) => (wire = w) });
      expect(readFileSync(remote).equals(bytes)).toBe(true);
      expect(statSync(remote).blocks * 512).toBeLessThanOrEqual(5 * 1024 * 1024);
      // The text went gzipped (a few KiB), the random MiB as it is.
      expect(wire).toBeGreaterThan(random.length);
      expect(wire).toBeLessThan(random.length + 256 * 1024);
    } finally {
      compressing.close();
    }
  });
});

describe('uploadFile of a sparse image (issue 22)', () => {
  it('leaves the holes holes on the controller: allocated within 5 % of the local file, the same bytes', async () => {
    const image = sparseImage();
    const remote = join(fake.imageDir, 'sparse.raw');
    await uploadFile(connection, image.path, remote, { sha256: image.sha256, size: image.size });
    const here = statSync(image.path).blocks * 512;
    const there = statSync(remote).blocks * 512;
    expect(here).toBeLessThan(image.size / 4);
    expect(Math.abs(there - here)).toBeLessThanOrEqual(here * 0.05);
    expect(statSync(remote).size).toBe(image.size);
    expect(readFileSync(remote).equals(readFileSync(image.path))).toBe(true);
  });

  it('sends the data only, and after a cut only the data not yet there; the holes stay holes', async () => {
    const image = sparseImage();
    const remote = join(fake.imageDir, 'sparse.raw');
    const dataBytes = 3 * 1024 * 1024 + 123;
    let wire = 0;
    fake.hook = (command, _channel, run) => (isUpload(command) ? run({ killAfterBytes: 1024 * 1024 + 512 * 1024 }) : run());
    await failure(uploadFile(connection, image.path, remote, { sha256: image.sha256, size: image.size }));
    const kept = statSync(partialPath(remote, image.sha256)).size;
    // The first extent (1 MiB at 0) and part of the second, at 17 MiB.
    expect(kept).toBeGreaterThan(17 * 1024 * 1024);
    fake.hook = undefined;
    await uploadFile(connection, image.path, remote, { sha256: image.sha256, size: image.size, onProgress: (_sent, _total, bytes) => (wire = bytes) });
    expect(readFileSync(remote).equals(readFileSync(image.path))).toBe(true);
    expect(wire).toBeLessThan(dataBytes - 1024 * 1024);
    expect(wire).toBeGreaterThan(1024 * 1024);
    expect(Math.abs(statSync(remote).blocks - statSync(image.path).blocks)).toBeLessThanOrEqual(statSync(image.path).blocks * 0.05);
  });
});

describe('uploadFileToMany: the same image to several controllers, read once (issue 22)', () => {
  let other: FakeController;
  let otherConnection: ControllerConnection;
  beforeAll(async () => {
    other = await FakeController.start();
    other.trustHostKey();
    otherConnection = await ControllerConnection.open(other.controller(), { readyTimeoutMs: 5000 });
  });
  afterAll(async () => {
    otherConnection.close();
    await other.close();
  });
  beforeEach(() => other.reset());

  it('publishes it on each, holes kept; each sends only what it lacks (one resumes a kept part)', async () => {
    const image = sparseImage();
    const bytes = readFileSync(image.path);
    const remote = join(fake.imageDir, 'sparse.raw');
    const otherRemote = join(other.imageDir, 'sparse.raw');
    // The other controller holds the first 17 MiB already (a cut upload): its first extent is not sent again.
    // (written as an upload leaves it: its holes holes).
    writeFileSync(partialPath(otherRemote, image.sha256), bytes.subarray(0, 1024 * 1024));
    truncateSync(partialPath(otherRemote, image.sha256), 17 * 1024 * 1024);
    const wire = [0, 0];
    const results = await uploadFileToMany(
      [
        { connection, remotePath: remote, onProgress: (_s, _t, w) => (wire[0] = w) },
        { connection: otherConnection, remotePath: otherRemote, onProgress: (_s, _t, w) => (wire[1] = w) },
      ],
      image.path,
      { sha256: image.sha256, size: image.size },
    );
    expect(results.map((r) => typeof r)).toEqual(['string', 'string']);
    for (const path of [remote, otherRemote]) {
      expect(readFileSync(path).equals(bytes)).toBe(true);
      expect(Math.abs(statSync(path).blocks - statSync(image.path).blocks)).toBeLessThanOrEqual(statSync(image.path).blocks * 0.05);
    }
    expect(wire[0]).toBeGreaterThan(3 * 1024 * 1024);
    // Less its first MiB and that frame's header, plus the line that says it kept (`kept 0 1048576`).
    expect(wire[0]! - wire[1]!).toBe(1024 * 1024 + '0 1048576\n'.length - 'kept 0 1048576\n'.length);
  });

  it("gives one controller's failure to that controller only", async () => {
    const image = sparseImage();
    const results = await uploadFileToMany(
      [
        { connection, remotePath: join(fake.imageDir, 'missing-folder', 'sparse.raw') },
        { connection: otherConnection, remotePath: join(other.imageDir, 'sparse.raw') },
      ],
      image.path,
      { sha256: image.sha256, size: image.size },
    );
    expect(results[0]).toMatchObject({ code: 'REMOTE_UPLOAD_FAILED' });
    expect(readFileSync(join(other.imageDir, 'sparse.raw')).equals(readFileSync(image.path))).toBe(true);
    const unreadable = await uploadFileToMany([{ connection, remotePath: join(fake.imageDir, 'x.raw') }], join(local, 'nope.raw'), { sha256: image.sha256, size: 1 });
    expect(unreadable[0]).toMatchObject({ code: 'REMOTE_UPLOAD_FAILED', message: expect.stringContaining('nothing was sent') });
  });
});

describe('remoteSha256', () => {
  it('reads the sha256 of a file on the controller, and undefined for no file', async () => {
    const remote = join(fake.imageDir, 'base.raw');
    writeFileSync(remote, data);
    expect(await remoteSha256(connection, remote)).toBe(sha256);
    expect(await remoteSha256(connection, join(fake.imageDir, 'none'))).toBeUndefined();
  });
});
