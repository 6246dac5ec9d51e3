import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeFolder } from './make-folder.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'contract-make-folder-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('makeFolder (issue 12)', () => {
  it('makes a folder and the parents it lacks, and takes one that is there', async () => {
    await makeFolder(join(dir, 'a/b/c'), 0o755);
    expect((await stat(join(dir, 'a/b/c'))).isDirectory()).toBe(true);
    await makeFolder(join(dir, 'a/b/c'));
    await makeFolder(dir);
  });

  it("gives mkdir's own error with its path: a file in the way, a file as a parent", async () => {
    await writeFile(join(dir, 'f'), '');
    await expect(makeFolder(join(dir, 'f'))).rejects.toMatchObject({ code: 'EEXIST', path: join(dir, 'f') });
    await expect(makeFolder(join(dir, 'f/x/y'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  // Node's recursive mkdir retries forever here (mkdir answers ENOENT under /proc, which exists).
  it.skipIf(!existsSync('/proc/self'))('ends with ENOENT where the file system refuses folders under a parent that exists (/proc)', async () => {
    await expect(makeFolder('/proc/vmctx-no-such-folder/x')).rejects.toMatchObject({ code: 'ENOENT', path: '/proc/vmctx-no-such-folder' });
  });
});
