import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkFileMapPaths, writeFileMap } from './file-map.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gs-filemap-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileMap', () => {
  it("says why the output cannot be written, about the output, with the system's code (issue 12)", async () => {
    await writeFile(join(dir, 'file'), '');
    await expect(writeFileMap({ a: { data: 'a', mode: 0o644 } }, join(dir, 'file/out'))).rejects.toMatchObject({
      code: 'GUEST_WRITE_FAILED',
      kind: 'io',
      where: join(dir, 'file/out'),
      message: expect.stringMatching(/^cannot write .*file\/out: ENOTDIR: not a directory, mkdir '.*'; nothing written$/),
    });
    // Node's recursive mkdir retried forever under /proc, and said ENOENT for a read-only file system.
    if (existsSync('/proc/self')) {
      await expect(writeFileMap({ a: { data: 'a', mode: 0o644 } }, '/proc/vmctx-out')).rejects.toMatchObject({ code: 'GUEST_WRITE_FAILED', where: '/proc/vmctx-out', message: expect.stringContaining('ENOENT') });
    }
  });


  it('writes contents and modes, creating folders', async () => {
    const out = join(dir, 'ctx');
    await writeFileMap({ 'post-install': { data: '#!/bin/sh\n', mode: 0o755 }, 'files/001': { data: new Uint8Array([1, 2]), mode: 0o400 } }, out);
    expect(await readFile(join(out, 'post-install'), 'utf8')).toBe('#!/bin/sh\n');
    expect((await stat(join(out, 'post-install'))).mode & 0o777).toBe(0o755);
    expect([...(await readFile(join(out, 'files/001')))]).toEqual([1, 2]);
    expect((await stat(join(out, 'files/001'))).mode & 0o777).toBe(0o400);
  });

  it('fills an empty folder but refuses one with files, and leaves nothing behind when it fails', async () => {
    const out = join(dir, 'ctx');
    await mkdir(out);
    await writeFileMap({ a: { data: 'a', mode: 0o644 } }, out);
    await expect(writeFileMap({ b: { data: 'b', mode: 0o644 } }, out)).rejects.toMatchObject({ code: 'GUEST_OUTPUT_EXISTS' });
    // "x" is both a file and a folder: the write fails half-way.
    const failed = join(dir, 'failed');
    await expect(writeFileMap({ x: { data: '1', mode: 0o644 }, 'x/y': { data: '2', mode: 0o644 } }, failed)).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['ctx']);
  });

  it('refuses paths that would leave the folder', async () => {
    for (const path of ['/etc/passwd', '../x', 'a/../../x', 'a//b', './a']) {
      expect(() => checkFileMapPaths({ [path]: { data: '', mode: 0o644 } })).toThrow(expect.objectContaining({ code: 'GUEST_INVALID_TREE' }));
    }
    expect(() => checkFileMapPaths({ a: { data: '', mode: 0o10000 } })).toThrow(/mode/);
    await writeFile(join(dir, 'file'), '');
    await expect(writeFileMap({ a: { data: '', mode: 0o644 } }, join(dir, 'file'))).rejects.toMatchObject({ code: 'GUEST_OUTPUT_EXISTS' });
  });

  it('removes its temporary folder when SIGTERM comes while the tree is written', async () => {
    const out = join(dir, 'ctx');
    // A listener of the test's own: the signal is then not raised again, and only the clean-up is seen.
    const other = () => undefined;
    process.on('SIGTERM', other);
    try {
      const big = new Uint8Array(64 * 1024 * 1024);
      const writing = writeFileMap({ a: { data: big, mode: 0o600 }, b: { data: big, mode: 0o600 } }, out);
      // Looked for until it is seen or the write is over (no count of tries: a busy machine is slow at both).
      let over = false;
      void writing.then(
        () => (over = true),
        () => (over = true),
      );
      let during: string[] = [];
      while (!over && during.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        during = (await readdir(dir)).filter((n) => n.startsWith('.ctx.tmp-'));
      }
      expect(during).toHaveLength(1);
      process.emit('SIGTERM', 'SIGTERM');
      // Removed at once (a real signal ends the process right after; here the write goes on and fails or ends).
      expect(readdirSync(dir).filter((n) => n.startsWith('.ctx.tmp-'))).toEqual([]);
      await writing.catch(() => undefined);
    } finally {
      process.off('SIGTERM', other);
    }
  });
});
