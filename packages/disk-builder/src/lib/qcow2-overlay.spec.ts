import { execFileSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { layoutOverlay } from './qcow2-overlay-layout.js';
import { createOverlay } from './qcow2-overlay.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'disk-builder-overlay-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createOverlay', () => {
  it('writes the layout: runs at their offsets, zeros elsewhere, exact length', async () => {
    const options = { backingFile: 'base.raw', backingFormat: 'raw' as const, virtualSize: 3 * 2 ** 30 };
    const created = await createOverlay({ ...options, path: join(dir, 'vm.qcow2') });
    const file = await readFile(join(dir, 'vm.qcow2'));
    const layout = layoutOverlay(options);
    const expected = Buffer.alloc(layout.length);
    for (const run of layout.runs) expected.set(run.bytes, run.offset);
    expect(file.equals(expected)).toBe(true);
    expect(created).toMatchObject({ path: join(dir, 'vm.qcow2'), l1Size: 6, length: layout.length, clusterSize: 65536 });
    expect(await readdir(dir)).toEqual(['vm.qcow2']);
  });

  it('replaces an existing file, as qemu-img does', async () => {
    await writeFile(join(dir, 'vm.qcow2'), 'old content');
    await createOverlay({ path: join(dir, 'vm.qcow2'), backingFile: '/b', backingFormat: 'raw', virtualSize: 2 ** 20, sync: false });
    expect((await readFile(join(dir, 'vm.qcow2'))).subarray(0, 4).toString('latin1')).toBe('QFI\xfb');
  });

  it('never replaces a device node or a FIFO (issue 12: disk create onto /dev/full replaced it)', async () => {
    // Nodes of the test's own, never the machine's: code without the guard would replace whatever it is given.
    const nodes: [string, string][] = [[join(dir, 'pipe'), 'a FIFO']];
    execFileSync('mkfifo', [nodes[0]![0]]);
    if (process.getuid?.() === 0) {
      execFileSync('mknod', ['-m', '666', join(dir, 'null'), 'c', '1', '3']);
      nodes.push([join(dir, 'null'), 'a character device']);
    }
    for (const [path, what] of nodes) {
      const error = await createOverlay({ path, backingFile: '/b', backingFormat: 'raw', virtualSize: 2 ** 20, sync: false }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, path).toMatchObject({ code: 'DISK_TARGET_NOT_FILE', where: path });
      expect((error as Error).message).toContain(`${path} is ${what}`);
    }
    expect(lstatSync(join(dir, 'pipe')).isFIFO()).toBe(true);
    if (nodes.length > 1) expect(lstatSync(join(dir, 'null')).isCharacterDevice()).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(nodes.map(([p]) => p.slice(dir.length + 1)).sort());
  });

  it('writes through a symbolic link to the file it names, and keeps the link (as qemu-img)', async () => {
    await writeFile(join(dir, 'real.qcow2'), 'old content');
    await symlink('real.qcow2', join(dir, 'vm.qcow2'));
    await createOverlay({ path: join(dir, 'vm.qcow2'), backingFile: '/b', backingFormat: 'raw', virtualSize: 2 ** 20, sync: false });
    expect(lstatSync(join(dir, 'vm.qcow2')).isSymbolicLink()).toBe(true);
    expect((await readFile(join(dir, 'real.qcow2'))).subarray(0, 4).toString('latin1')).toBe('QFI\xfb');
    expect((await readdir(dir)).sort()).toEqual(['real.qcow2', 'vm.qcow2']);
  });

  it.each([
    ['DISK_SIZE_ZERO', { virtualSize: 0 }],
    ['DISK_SIZE_TOO_LARGE', { virtualSize: 2 ** 52 }],
    ['DISK_BACKING_PATH_TOO_LONG', { backingFile: 'x'.repeat(1024) }],
    ['DISK_CLUSTER_SIZE_INVALID', { clusterBits: 23 }],
  ] as const)('leaves nothing behind on %s, nor touches an existing file', async (code, bad) => {
    await writeFile(join(dir, 'keep.qcow2'), 'keep');
    const opts = { backingFile: '/b', backingFormat: 'raw' as const, virtualSize: 2 ** 20, ...bad };
    await expect(createOverlay({ ...opts, path: join(dir, 'new.qcow2') })).rejects.toMatchObject({ code });
    await expect(createOverlay({ ...opts, path: join(dir, 'keep.qcow2') })).rejects.toMatchObject({ code });
    expect(await readdir(dir)).toEqual(['keep.qcow2']);
    expect(await readFile(join(dir, 'keep.qcow2'), 'utf8')).toBe('keep');
  });

  it('refuses to replace its own backing file, whatever the name says', async () => {
    await writeFile(join(dir, 'base.raw'), 'precious');
    await mkdir(join(dir, 'sub'));
    for (const [path, backingFile] of [
      [join(dir, 'base.raw'), 'base.raw'],
      [join(dir, 'base.raw'), join(dir, 'base.raw')],
      [join(dir, 'base.raw'), 'sub/../base.raw'],
    ] as const) {
      await expect(createOverlay({ path, backingFile, backingFormat: 'raw', virtualSize: 2 ** 20 })).rejects.toMatchObject({ code: 'DISK_BACKING_IS_TARGET' });
    }
    expect(await readFile(join(dir, 'base.raw'), 'utf8')).toBe('precious');
    // Another file beside it is fine.
    await createOverlay({ path: join(dir, 'vm.qcow2'), backingFile: 'base.raw', backingFormat: 'raw', virtualSize: 2 ** 20 });
  });

  it('refuses a target further down the backing chain (it would destroy the base and make a loop)', async () => {
    await writeFile(join(dir, 'base.raw'), Buffer.alloc(2 ** 20, 7));
    await createOverlay({ path: join(dir, 'good.qcow2'), backingFile: 'base.raw', backingFormat: 'raw', virtualSize: 2 ** 20 });
    await createOverlay({ path: join(dir, 'top.qcow2'), backingFile: 'good.qcow2', backingFormat: 'qcow2', virtualSize: 2 ** 20 });
    for (const [path, backingFile] of [
      [join(dir, 'base.raw'), 'good.qcow2'],
      [join(dir, 'base.raw'), 'top.qcow2'],
      [join(dir, 'good.qcow2'), 'top.qcow2'],
    ] as const) {
      await expect(createOverlay({ path, backingFile, backingFormat: 'qcow2', virtualSize: 2 ** 20 })).rejects.toMatchObject({
        code: 'DISK_BACKING_IS_TARGET',
        message: expect.stringMatching(/in the backing chain/),
      });
    }
    expect((await readFile(join(dir, 'base.raw'))).equals(Buffer.alloc(2 ** 20, 7))).toBe(true);
    // A new file, or one outside the chain, is fine.
    await createOverlay({ path: join(dir, 'other.qcow2'), backingFile: 'top.qcow2', backingFormat: 'qcow2', virtualSize: 2 ** 20 });
    await createOverlay({ path: join(dir, 'other.qcow2'), backingFile: 'top.qcow2', backingFormat: 'qcow2', virtualSize: 2 ** 20 });
  });

  it('reports a folder it cannot write to, naming the path', async () => {
    const path = join(dir, 'missing', 'vm.qcow2');
    await expect(createOverlay({ path, backingFile: '/b', backingFormat: 'raw', virtualSize: 2 ** 20 })).rejects.toMatchObject({
      code: 'DISK_WRITE_FAILED',
      message: expect.stringContaining(path),
    });
  });

  it('removes its temporary file when the rename fails', async () => {
    // A directory at the target path: the final rename fails after everything was written.
    const path = join(dir, 'vm.qcow2');
    await import('node:fs/promises').then((fs) => fs.mkdir(join(path, 'inside'), { recursive: true }));
    await expect(createOverlay({ path, backingFile: '/b', backingFormat: 'raw', virtualSize: 2 ** 20 })).rejects.toMatchObject({ code: 'DISK_WRITE_FAILED' });
    expect(await readdir(dir)).toEqual(['vm.qcow2']);
  });
});
