import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inspectImage, layoutOverlay, toQemuImgInfo } from '@vmctx/disk-builder';
import { Readable } from 'node:stream';
import { captureIo, Exit, failure } from '../cli/capture-io.fixture.js';
import { checksumLine } from './disk-sha256.js';
import { diskCommand } from './disk.js';

let dir: string;
const cwd = process.cwd();
const io = captureIo();
const disk = (...args: string[]) => diskCommand(io).parseAsync(args, { from: 'user' });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmctx-disk-'));
  io.reset();
  await mkdir(join(dir, 'images'));
  await writeFile(join(dir, 'images', 'base.raw'), '');
  await truncate(join(dir, 'images', 'base.raw'), 64 * 2 ** 20);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The bytes createOverlay's layout gives for these options. */
function expected(backingFile: string, virtualSize: number, clusterBits?: number): Buffer {
  const layout = layoutOverlay({ backingFile, backingFormat: 'raw', virtualSize, ...(clusterBits ? { clusterBits } : {}) });
  const buf = Buffer.alloc(layout.length);
  for (const run of layout.runs) buf.set(run.bytes, run.offset);
  return buf;
}

describe('vmctx disk create', () => {
  it('writes an overlay with -u and a size, says so on stderr, nothing on stdout', async () => {
    const file = join(dir, 'vm.qcow2');
    await disk('create', '-f', 'qcow2', '-F', 'raw', '-b', '/var/lib/vmctx/images/base.raw', '-u', file, '20G');
    expect((await readFile(file)).equals(expected('/var/lib/vmctx/images/base.raw', 20 * 2 ** 30))).toBe(true);
    expect(io.out).toBe('');
    expect(io.err).toContain(`Formatting '${file}', fmt=qcow2 cluster_size=65536`);
    expect(io.err).toContain('size=21474836480 backing_file=/var/lib/vmctx/images/base.raw backing_fmt=raw');
  });

  it('without -u opens the backing file relative to the overlay folder and takes its size', async () => {
    await disk('create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', 'images/base.raw', join(dir, 'vm.qcow2'));
    expect((await readFile(join(dir, 'vm.qcow2'))).equals(expected('images/base.raw', 64 * 2 ** 20))).toBe(true);
    expect(io.err).toBe('');
  });

  it('takes the cluster size from -o cluster_size=', async () => {
    await disk('create', '-q', '-F', 'raw', '-b', 'images/base.raw', '-o', 'cluster_size=4k', join(dir, 'vm.qcow2'), '1G');
    expect((await inspectImage(join(dir, 'vm.qcow2'))).clusterSize).toBe(4096);
  });

  it.each([
    ['no backing file', ['-F', 'raw', '-u', 'x.qcow2', '1G'], 'CLI_USAGE'],
    ['no backing format', ['-b', 'images/base.raw', '-u', 'x.qcow2', '1G'], 'CLI_USAGE'],
    ['-u without a size', ['-F', 'raw', '-b', 'images/base.raw', '-u', 'x.qcow2'], 'CLI_SIZE_REQUIRED'],
    ['a missing backing file', ['-F', 'raw', '-b', 'images/nope.raw', 'x.qcow2'], 'CLI_BACKING_NOT_FOUND'],
    ['a backing format that is not the file format', ['-F', 'qcow2', '-b', 'images/base.raw', 'x.qcow2'], 'DISK_BACKING_FORMAT_MISMATCH'],
    ['a size qemu-img would not read', ['-F', 'raw', '-b', 'b', '-u', 'x.qcow2', '10x'], 'DISK_SIZE_INVALID'],
    ['a size of zero', ['-F', 'raw', '-b', 'b', '-u', 'x.qcow2', '0'], 'DISK_SIZE_ZERO'],
    ['a size beyond qcow2', ['-F', 'raw', '-b', 'b', '-u', 'x.qcow2', '3P'], 'DISK_SIZE_TOO_LARGE'],
    ['a cluster size that is not a power of two', ['-F', 'raw', '-b', 'b', '-u', '-o', 'cluster_size=3000', 'x.qcow2', '1G'], 'DISK_CLUSTER_SIZE_INVALID'],
    ['an unknown -o option', ['-F', 'raw', '-b', 'b', '-u', '-o', 'preallocation=full', 'x.qcow2', '1G'], 'CLI_USAGE'],
    ['a backing path too long', ['-F', 'raw', '-b', 'a'.repeat(1024), '-u', 'x.qcow2', '1G'], 'DISK_BACKING_PATH_TOO_LONG'],
  ])('refuses %s with exit code 2 and writes nothing', async (_what, args, code) => {
    const argv = args.map((a) => (a === 'x.qcow2' ? join(dir, 'x.qcow2') : a));
    expect(await failure(io, disk('create', ...argv))).toMatchObject({ exitCode: 2, code });
    expect(await readdir(dir)).toEqual(['images']);
  });

  it('leaves usage errors of the command line to commander, with exit code 2', async () => {
    expect(await failure(io, disk('create', '--frobnicate', 'x.qcow2'))).toMatchObject({ exitCode: 2 });
    expect(io.err).toMatch(/unknown option '--frobnicate'/);
    expect(await failure(io, disk('create', '-f', 'vmdk', '-F', 'raw', '-b', 'b', '-u', 'x', '1G'))).toMatchObject({ exitCode: 2 });
    expect(io.err).toMatch(/Allowed choices are qcow2/);
  });
});

describe('vmctx disk info', () => {
  beforeEach(async () => {
    await disk('create', '-q', '-F', 'raw', '-b', 'images/base.raw', join(dir, 'vm.qcow2'), '1G');
  });

  it('prints qemu-img info JSON', async () => {
    await disk('info', '--output=json', join(dir, 'vm.qcow2'));
    expect(JSON.parse(io.out)).toEqual(toQemuImgInfo(await inspectImage(join(dir, 'vm.qcow2'))));
    expect(JSON.parse(io.out)).toMatchObject({ format: 'qcow2', 'virtual-size': 2 ** 30, 'backing-filename': 'images/base.raw' });
  });

  it('prints the human layout of qemu-img info', async () => {
    await disk('info', join(dir, 'vm.qcow2'));
    expect(io.out).toContain('file format: qcow2\nvirtual size: 1 GiB (1073741824 bytes)\n');
    expect(io.out).toContain(`backing file: images/base.raw (actual path: ${join(dir, 'images/base.raw')})\nbacking file format: raw\n`);
    expect(io.out).toContain('    compat: 1.1\n');
  });

  it('follows the backing chain, and says on stderr where it stops', async () => {
    await disk('info', '--output=json', '--backing-chain', join(dir, 'vm.qcow2'));
    expect((JSON.parse(io.out) as Array<{ format: string }>).map((i) => i.format)).toEqual(['qcow2', 'raw']);
    io.out = '';
    await disk('create', '-q', '-F', 'raw', '-b', '/nowhere/base.raw', '-u', join(dir, 'far.qcow2'), '1G');
    await disk('info', '--output=json', '--backing-chain', join(dir, 'far.qcow2'));
    expect(JSON.parse(io.out)).toHaveLength(1);
    expect(io.err).toContain('/nowhere/base.raw is not present here');
  });

  it("refuses a truncated image as qemu-img does: Could not open 'FILE': its reason, exit 1", async () => {
    const cut = join(dir, 'cut.qcow2');
    await writeFile(cut, (await readFile(join(dir, 'vm.qcow2'))).subarray(0, 80));
    expect(await failure(io, disk('info', cut))).toMatchObject({ exitCode: 1, code: 'DISK_TRUNCATED', message: expect.stringMatching(new RegExp(`^Could not open '${cut}': qcow2 header too short \\(`)) });
  });

  it('shows an image marked corrupt as qemu-img does (corrupt: true), not refused', async () => {
    const bytes = await readFile(join(dir, 'vm.qcow2'));
    bytes.writeBigUInt64BE(2n, 72); // incompatible feature bit 1
    await writeFile(join(dir, 'marked.qcow2'), bytes);
    await disk('info', join(dir, 'marked.qcow2'));
    expect(io.out).toContain('    corrupt: true\n');
    io.out = '';
    await disk('info', '--output=json', join(dir, 'marked.qcow2'));
    expect(JSON.parse(io.out)).toMatchObject({ 'format-specific': { data: { corrupt: true } } });
  });

  it('takes -f to force the format and -U / --force-share as qemu-img does', async () => {
    await disk('info', '-U', '-f', 'raw', join(dir, 'vm.qcow2'));
    expect(io.out).toContain('file format: raw\n');
    io.out = '';
    await disk('info', '--force-share', '-f', 'qcow2', join(dir, 'vm.qcow2'));
    expect(io.out).toContain('file format: qcow2\n');
    const raw = join(dir, 'images', 'base.raw');
    expect(await failure(io, disk('info', '-f', 'qcow2', raw))).toMatchObject({ exitCode: 1, code: 'DISK_CORRUPT_HEADER', message: expect.stringMatching(new RegExp(`^Could not open '${raw}': Image is not in qcow2 format`)) });
    expect(await failure(io, disk('info', '-f', 'vmdk', raw))).toMatchObject({ exitCode: 2 });
  });
});

describe('vmctx disk sha256', () => {
  const sha = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
  /** Runs `vmctx disk sha256 ...args` with `input` on standard input; returns the exit status. */
  async function sha256(input: string, ...args: string[]): Promise<number> {
    try {
      await diskCommand(io, () => Readable.from([Buffer.from(input)])).parseAsync(['sha256', ...args], { from: 'user' });
      return 0;
    } catch (error) {
      if (error instanceof Exit) return error.exitCode;
      throw error;
    }
  }

  it('prints digests as sha256sum does', async () => {
    await writeFile(join(dir, 'a'), 'hello\n');
    await disk('sha256', join(dir, 'a'), join(dir, 'images', 'base.raw'));
    const zeros = createHash('sha256').update(Buffer.alloc(64 * 2 ** 20)).digest('hex');
    expect(io.out).toBe(`5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  ${join(dir, 'a')}\n${zeros}  ${join(dir, 'images', 'base.raw')}\n`);
  });

  it('reads standard input for - and without a file, once', async () => {
    expect(await sha256('abc', '-', '-')).toBe(0);
    expect(io.out).toBe(`${sha('abc')}  -\n${sha('')}  -\n`);
    io.reset();
    expect(await sha256('xyz')).toBe(0);
    expect(io.out).toBe(`${sha('xyz')}  -\n`);
  });

  it('escapes names with a backslash, newline or carriage return, and starts their line with a backslash', async () => {
    await writeFile(join(dir, 'a\\b'), 'x');
    await writeFile(join(dir, 'n\nl\rr'), 'y');
    expect(await sha256('', join(dir, 'a\\b'), join(dir, 'n\nl\rr'))).toBe(0);
    expect(io.out).toBe(`\\${sha('x')}  ${join(dir, 'a\\\\b')}\n\\${sha('y')}  ${join(dir, 'n\\nl\\rr')}\n`);
  });

  it('goes on after a missing file, reports it with its code, and exits 1 at the end', async () => {
    await writeFile(join(dir, 'a'), 'x');
    expect(await sha256('', join(dir, 'nope'), join(dir, 'a'))).toBe(1);
    expect(io.out).toBe(`${sha('x')}  ${join(dir, 'a')}\n`);
    expect(io.err).toMatch(/^vmctx: cannot open .*nope.* \[DISK_NOT_FOUND\]\n$/);
  });

  it('has no --check: sha256sum -c checks the lines it prints', async () => {
    expect(await failure(io, disk('sha256', '--check', 'SUMS'))).toMatchObject({ exitCode: 2 });
  });
});

describe('sha256sum list lines', () => {
  const hex = 'ab'.repeat(32);
  it('escapes names as sha256sum does', () => {
    expect(checksumLine(hex, 'a\\b')).toBe(`\\${hex}  a\\\\b\n`);
    expect(checksumLine(hex, 'n\nl\rr')).toBe(`\\${hex}  n\\nl\\rr\n`);
    expect(checksumLine(hex, 'plain')).toBe(`${hex}  plain\n`);
  });
});
