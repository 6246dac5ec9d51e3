/**
 * disk-builder against the real QEMU tools of this machine (qemu-img, qemu-io): byte-for-byte equality with
 * `qemu-img create`, `qemu-img check`, `qemu-img info --backing-chain`, writes through the overlay with
 * qemu-io while the base stays untouched, and inspection agreeing with qemu-img info. Needs no root and no lab.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createProgram } from '@vmctx/deployer';
import { createOverlay, inspectChain, inspectImage, sha256File, toQemuImgInfo, type BackingFormat } from '@vmctx/disk-builder';

const run = promisify(execFile);
let dir: string;

async function qemuImg(...args: string[]): Promise<string> {
  return (await run('qemu-img', args, { cwd: dir })).stdout;
}
async function qemuImgFails(...args: string[]): Promise<string> {
  try {
    await run('qemu-img', args, { cwd: dir });
  } catch (error) {
    return String((error as { stderr?: string }).stderr);
  }
  throw new Error(`qemu-img ${args.join(' ')} succeeded`);
}
/** qemu-img info JSON without what legitimately differs between two files: their names and allocation. */
function comparableInfo(json: string): unknown {
  return (JSON.parse(json) as Array<Record<string, unknown>>).map(({ filename: _f, 'actual-size': _a, ...rest }) => rest);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'disk-builder-tools-'));
  await mkdir(join(dir, 'sub'));
  // A sparse 64 MiB raw base with recognizable bytes at a few places.
  await writeFile(join(dir, 'base.raw'), '');
  await truncate(join(dir, 'base.raw'), 64 * 2 ** 20);
  await run('qemu-io', ['-f', 'raw', '-c', 'write -P 0x5a 0 64k', '-c', 'write -P 0x33 1M 4k', join(dir, 'base.raw')]);
  await qemuImg('create', '-q', '-f', 'qcow2', 'base.qcow2', '48M');
  await run('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x77 0 128k', join(dir, 'base.qcow2')]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MiB = 2 ** 20;
const GiB = 2 ** 30;
// 1 MiB .. 2 TiB, and sizes that are not multiples of 512 (qemu-img rounds them up).
const SIZES = [MiB, 1_000_000, MiB + 1, 64 * MiB, GiB - 1, 5 * GiB + 3, 100 * GiB, 2 * 2 ** 40];
// 512-byte clusters stop at 5 GiB (qemu-img needs seconds beyond); 4 KiB clusters at 2 TiB need several
// refcount blocks, 512 B at 1 and 5 GiB too: the allocation replay is checked there.
const CLUSTERS = [{ bits: 16 }, { bits: 9, maxSize: 5 * GiB + 3 }, { bits: 10, maxSize: 100 * GiB }, { bits: 12 }, { bits: 14 }, { bits: 21 }];
const BACKINGS: Array<[string, BackingFormat]> = [
  ['base.raw', 'raw'], // relative, kept as given
  ['', 'raw'], // absolute: filled in with the temp folder
  ['base.qcow2', 'qcow2'],
  ['./sub/../base.qcow2', 'qcow2'],
];

const cases = CLUSTERS.flatMap(({ bits, maxSize }) =>
  SIZES.filter((size) => size <= (maxSize ?? Infinity)).map((size, i) => {
    const [file, format] = BACKINGS[(i + bits) % BACKINGS.length]!;
    return { bits, size, file, format };
  }),
);

describe('createOverlay against qemu-img create', () => {
  it.each(cases)('cluster bits $bits, size $size, backing $format "$file": same bytes, check clean, same info', async ({ bits, size, file, format }) => {
    const backing = file === '' ? join(dir, 'base.raw') : file;
    const name = `c${bits}-${size}`;
    await qemuImg('create', '-q', '-f', 'qcow2', '-o', `cluster_size=${2 ** bits}`, '-F', format, '-b', backing, '-u', `${name}.qemu.qcow2`, String(size));
    await createOverlay({ path: join(dir, `${name}.ours.qcow2`), backingFile: backing, backingFormat: format, virtualSize: size, clusterBits: bits });

    const [theirs, ours] = await Promise.all([readFile(join(dir, `${name}.qemu.qcow2`)), readFile(join(dir, `${name}.ours.qcow2`))]);
    expect(ours.length).toBe(theirs.length);
    expect(ours.equals(theirs)).toBe(true);

    const check = JSON.parse(await qemuImg('check', '--output=json', `${name}.ours.qcow2`)) as Record<string, number>;
    expect(check['check-errors']).toBe(0);
    expect(check.leaks ?? 0).toBe(0);
    expect(check.corruptions ?? 0).toBe(0);

    const [infoOurs, infoTheirs] = await Promise.all([
      qemuImg('info', '--output=json', '--backing-chain', `${name}.ours.qcow2`),
      qemuImg('info', '--output=json', '--backing-chain', `${name}.qemu.qcow2`),
    ]);
    expect(comparableInfo(infoOurs)).toEqual(comparableInfo(infoTheirs));
    expect((JSON.parse(infoOurs) as unknown[]).length).toBe(2);
    await Promise.all([rm(join(dir, `${name}.qemu.qcow2`)), rm(join(dir, `${name}.ours.qcow2`))]);
  });
});

describe('refcount table moves and size limits, as qemu-img', () => {
  it('512-byte clusters, 40 GiB: the refcount table moves; same bytes, check clean', async () => {
    await qemuImg('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=512', '-F', 'raw', '-b', 'base.raw', '-u', 'move.qemu.qcow2', '40G');
    await createOverlay({ path: join(dir, 'move.ours.qcow2'), backingFile: 'base.raw', backingFormat: 'raw', virtualSize: 40 * GiB, clusterBits: 9 });
    const [theirs, ours] = await Promise.all([readFile(join(dir, 'move.qemu.qcow2')), readFile(join(dir, 'move.ours.qcow2'))]);
    expect(ours.readBigUInt64BE(48)).not.toBe(512n); // the refcount table is no longer at cluster 1
    expect(ours.equals(theirs)).toBe(true);
    const check = JSON.parse(await qemuImg('check', '--output=json', 'move.ours.qcow2')) as Record<string, number>;
    expect(check['check-errors']).toBe(0);
    expect(check.leaks ?? 0).toBe(0);
  });

  it.each([
    [9, 2 ** 37 + 512],
    [12, 2 ** 43 + 512],
    [16, 2 ** 51 + 512],
  ])('cluster bits %i, size %i: qemu-img refuses it and so do we', async (bits, size) => {
    expect(await qemuImgFails('create', '-q', '-f', 'qcow2', '-o', `cluster_size=${2 ** bits}`, '-F', 'raw', '-b', 'base.raw', '-u', 'limit.qcow2', String(size))).toMatch(/too large/);
    await rm(join(dir, 'limit.qcow2'), { force: true });
    await expect(createOverlay({ path: join(dir, 'limit.qcow2'), backingFile: 'base.raw', backingFormat: 'raw', virtualSize: size, clusterBits: bits })).rejects.toMatchObject({ code: 'DISK_SIZE_TOO_LARGE' });
    expect(await readdir(dir)).not.toContain('limit.qcow2');
  });
});

describe('writing through an overlay with qemu-io', () => {
  it.each([
    ['base.raw', 'raw', 16, '0x5a', 2 * GiB],
    [`${'ABS'}`, 'raw', 9, '0x5a', 64 * MiB],
    ['base.qcow2', 'qcow2', 12, '0x77', 48 * MiB],
  ] as const)('backing %s (%s), cluster bits %i: writes land in the overlay, the base is unchanged', async (file, format, bits, pattern, size) => {
    const backing = file === 'ABS' ? join(dir, 'base.raw') : file;
    const base = join(dir, format === 'raw' ? 'base.raw' : 'base.qcow2');
    const overlay = join(dir, `io-${format}-${bits}.qcow2`);
    const before = await sha256File(base);
    await createOverlay({ path: overlay, backingFile: backing, backingFormat: format, virtualSize: size, clusterBits: bits });
    const io = await run('qemu-io', [
      '-f', 'qcow2',
      '-c', `read -P ${pattern} 0 64k`, // from the base, through the overlay
      '-c', 'write -P 0xc4 32k 96k', // over the end of the base's pattern
      '-c', 'read -P 0xc4 32k 96k',
      '-c', `read -P ${pattern} 0 32k`,
      '-c', 'write -P 0xee 20M 512',
      '-c', 'read -P 0xee 20M 512',
      overlay,
    ]);
    expect(io.stdout).not.toMatch(/Pattern verification failed|error/i);
    expect(io.stdout.match(/^read /gm)).toHaveLength(4);
    expect(await sha256File(base)).toBe(before);
    const check = JSON.parse(await qemuImg('check', '--output=json', overlay)) as Record<string, number>;
    expect(check['check-errors']).toBe(0);
    // The base, read on its own, still has its own bytes where the overlay was written.
    const direct = await run('qemu-io', ['-r', '-f', format, '-c', `read -P ${pattern} 32k 32k`, base]);
    expect(direct.stdout).not.toMatch(/Pattern verification failed/);
  });
});

describe('inspect agrees with qemu-img info', () => {
  const images: Array<[string, string[]]> = [
    ['plain.qcow2', ['create', '-q', '-f', 'qcow2', 'plain.qcow2', '3G']],
    ['small.qcow2', ['create', '-q', '-f', 'qcow2', '-o', 'cluster_size=4096,lazy_refcounts=on', 'small.qcow2', '1000000']],
    ['v2.qcow2', ['create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', 'v2.qcow2', '10M']],
    ['l2.qcow2', ['create', '-q', '-f', 'qcow2', '-o', 'extended_l2=on,refcount_bits=64', 'l2.qcow2', '10M']],
    ['zstd.qcow2', ['create', '-q', '-f', 'qcow2', '-o', 'compression_type=zstd', 'zstd.qcow2', '10M']],
    ['child.qcow2', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', 'base.qcow2', 'child.qcow2']],
    ['raw.img', ['create', '-q', '-f', 'raw', 'raw.img', '3000001']],
  ];
  beforeAll(async () => {
    for (const [, args] of images) await qemuImg(...args);
    await writeFile(join(dir, 'odd.raw'), Buffer.alloc(999, 1)); // not whole sectors
  });

  it.each([...images.map(([name]) => name), 'odd.raw'])('%s', async (name) => {
    const theirs = JSON.parse(await qemuImg('info', '--output=json', join(dir, name))) as Record<string, unknown>;
    expect(toQemuImgInfo(await inspectImage(join(dir, name)))).toEqual(theirs);
  });

  it('follows the backing chain as qemu-img info --backing-chain does', async () => {
    await createOverlay({ path: join(dir, 'grandchild.qcow2'), backingFile: 'child.qcow2', backingFormat: 'qcow2', virtualSize: 48 * MiB });
    const theirs = JSON.parse(await qemuImg('info', '--output=json', '--backing-chain', join(dir, 'grandchild.qcow2'))) as Array<Record<string, unknown>>;
    const chain = await inspectChain(join(dir, 'grandchild.qcow2'));
    expect(chain.missing).toBeUndefined();
    expect(chain.images.map(toQemuImgInfo)).toEqual(theirs);
  });
});

describe('vmctx disk info prints what qemu-img info prints', () => {
  /** Runs `vmctx ...args` in this process and returns what it wrote on stdout. */
  async function vmctx(...args: string[]): Promise<string> {
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      await createProgram().exitOverride().parseAsync(['node', 'vmctx', ...args]);
    } finally {
      spy.mockRestore();
    }
    return out;
  }

  it.each([[[]], [['--output=json']], [['--backing-chain']], [['--output=json', '--backing-chain']]])('with %j', async (flags) => {
    await createOverlay({ path: join(dir, 'sub', 'cli.qcow2'), backingFile: '../base.raw', backingFormat: 'raw', virtualSize: 3 * GiB });
    const file = join(dir, 'sub', 'cli.qcow2');
    expect(await vmctx('disk', 'info', ...flags, file)).toBe(await qemuImg('info', ...flags, file));
  });
});

describe('bad input', () => {
  it('a backing path qemu-img refuses is refused here too, and nothing is left', async () => {
    const long = '/' + 'a'.repeat(1023);
    expect(await qemuImgFails('create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', long, '-u', 'long.qcow2', '1G')).toMatch(/Could not assign backing file/);
    await rm(join(dir, 'long.qcow2'), { force: true }); // qemu-img leaves a half-made file; we must not
    await expect(createOverlay({ path: join(dir, 'long.qcow2'), backingFile: long, backingFormat: 'raw', virtualSize: GiB })).rejects.toMatchObject({ code: 'DISK_BACKING_PATH_TOO_LONG' });
    expect(await readdir(dir)).not.toContain('long.qcow2');
  });

  it('a size beyond what qcow2 allows is refused, as qemu-img does', async () => {
    expect(await qemuImgFails('create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', 'base.raw', '-u', 'big.qcow2', String(2 ** 51 + 512))).toMatch(/too large/);
    await expect(createOverlay({ path: join(dir, 'big.qcow2'), backingFile: 'base.raw', backingFormat: 'raw', virtualSize: 2 ** 51 + 512 })).rejects.toMatchObject({ code: 'DISK_SIZE_TOO_LARGE' });
    await expect(createOverlay({ path: join(dir, 'zero.qcow2'), backingFile: 'base.raw', backingFormat: 'raw', virtualSize: 0 })).rejects.toMatchObject({ code: 'DISK_SIZE_ZERO' });
    expect((await readdir(dir)).filter((f) => f.startsWith('big') || f.startsWith('zero') || f.endsWith('.tmp'))).toEqual([]);
  });

  it('truncated and corrupt headers: qemu-img fails, inspect says why', async () => {
    await createOverlay({ path: join(dir, 'whole.qcow2'), backingFile: 'base.raw', backingFormat: 'raw', virtualSize: GiB });
    const whole = await readFile(join(dir, 'whole.qcow2'));
    await writeFile(join(dir, 'cut.qcow2'), whole.subarray(0, 100));
    await qemuImgFails('info', 'cut.qcow2');
    await expect(inspectImage(join(dir, 'cut.qcow2'))).rejects.toMatchObject({ code: 'DISK_TRUNCATED' });
    const bad = Buffer.from(whole);
    bad.writeUInt32BE(0x12345, 100); // header_length
    await writeFile(join(dir, 'bad.qcow2'), bad);
    await expect(inspectImage(join(dir, 'bad.qcow2'))).rejects.toMatchObject({ code: 'DISK_CORRUPT_HEADER', message: expect.stringContaining('header_length') });
  });

  it('images made by qemu-img that cannot safely be backed are refused', async () => {
    await qemuImg('create', '-q', '-f', 'qcow2', '--object', 'secret,id=s0,data=pw', '-o', 'encrypt.format=aes,encrypt.key-secret=s0', 'aes.qcow2', '1M');
    await expect(inspectImage(join(dir, 'aes.qcow2'))).rejects.toMatchObject({ code: 'DISK_ENCRYPTED', message: expect.stringContaining('AES') });
    // LUKS creation times its key derivation and fails now and then on a busy machine ("Unable to get accurate
    // CPU usage"): a few attempts.
    for (let attempt = 1; ; attempt++) {
      try {
        await qemuImg('create', '-q', '-f', 'qcow2', '--object', 'secret,id=s0,data=pw', '-o', 'encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10', 'enc.qcow2', '1M');
        break;
      } catch (error) {
        if (attempt >= 5 || !String((error as { stderr?: string }).stderr).includes('accurate CPU usage')) throw error;
      }
    }
    await expect(inspectImage(join(dir, 'enc.qcow2'))).rejects.toMatchObject({ code: 'DISK_ENCRYPTED', message: expect.stringContaining('LUKS') });
    await qemuImg('create', '-q', '-f', 'qcow2', '-o', `data_file=${join(dir, 'ext.data')}`, 'ext.qcow2', '1M');
    await expect(inspectImage(join(dir, 'ext.qcow2'))).rejects.toMatchObject({ code: 'DISK_EXTERNAL_DATA_FILE' });
  });
});
