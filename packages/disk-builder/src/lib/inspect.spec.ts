import { mkdir, mkdtemp, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inspectChain, inspectImage, localBackingPath } from './inspect.js';
import { encodeFeatureNameTable, encodeHeaderExtension, HeaderExtensionType } from './qcow2-header.js';
import { createOverlay } from './qcow2-overlay.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'disk-builder-inspect-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const overlay = (name: string, backingFile: string, backingFormat: 'raw' | 'qcow2', virtualSize = 2 ** 30) =>
  createOverlay({ path: join(dir, name), backingFile, backingFormat, virtualSize, sync: false });

/** Rewrites bytes of a file in place. */
async function patch(path: string, edit: (view: DataView, bytes: Buffer) => void): Promise<void> {
  const bytes = await readFile(path);
  edit(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes);
  await writeFile(path, bytes);
}

describe('inspectImage', () => {
  it('calls a file without magic raw, its virtual size its length in whole sectors', async () => {
    await writeFile(join(dir, 'base.raw'), '');
    await truncate(join(dir, 'base.raw'), 64 * 2 ** 20 + 5);
    expect(await inspectImage(join(dir, 'base.raw'))).toEqual({
      path: join(dir, 'base.raw'), format: 'raw', virtualSize: 64 * 2 ** 20 + 512, fileSize: 64 * 2 ** 20 + 5, allocatedSize: 0,
    });
  });

  it('reads a qcow2 overlay: size, cluster size, recorded backing, features', async () => {
    await overlay('vm.qcow2', '../base.raw', 'raw', 5 * 2 ** 30);
    const info = await inspectImage(join(dir, 'vm.qcow2'));
    expect(info).toMatchObject({
      format: 'qcow2',
      virtualSize: 5 * 2 ** 30,
      clusterSize: 65536,
      fileSize: 196608 + 80,
      backing: { file: '../base.raw', format: 'raw' },
      qcow2: { version: 3, compat: '1.1', refcountBits: 16, compressionType: 'zlib', incompatibleFeatures: [], dirty: false, lazyRefcounts: false, extendedL2: false },
    });
  });

  it('names set feature bits, from the image table when it has one', async () => {
    await overlay('vm.qcow2', 'b', 'raw', 2 ** 20); // one L1 entry maps it, with extended L2 entries too
    await patch(join(dir, 'vm.qcow2'), (v) => {
      v.setBigUint64(72, 0b10001n); // dirty, extended L2
      v.setBigUint64(80, 1n); // lazy refcounts
    });
    expect((await inspectImage(join(dir, 'vm.qcow2'))).qcow2).toMatchObject({
      incompatibleFeatures: ['dirty bit', 'extended L2 entries'],
      compatibleFeatures: ['lazy refcounts'],
      dirty: true,
      lazyRefcounts: true,
      extendedL2: true,
    });
  });

  it.each([
    ['DISK_ENCRYPTED', (v: DataView) => v.setUint32(32, 2), /encrypted \(LUKS\)/],
    ['DISK_EXTERNAL_DATA_FILE', (v: DataView) => v.setBigUint64(72, 4n), /external data file/],
    ['DISK_MARKED_CORRUPT', (v: DataView) => v.setBigUint64(72, 2n), /marked corrupt/],
    ['DISK_UNKNOWN_INCOMPATIBLE_FEATURES', (v: DataView) => v.setBigUint64(72, 1n << 9n), /unknown incompatible bit 9/],
  ] as const)('refuses an image it cannot safely back: %s', async (code, edit, message) => {
    await overlay('vm.qcow2', 'b', 'raw');
    await patch(join(dir, 'vm.qcow2'), edit);
    await expect(inspectImage(join(dir, 'vm.qcow2'))).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
  });

  it('names unknown incompatible features from the image feature table', async () => {
    // A header whose own feature table names bit 7: the error quotes that name.
    await overlay('vm.qcow2', 'b', 'raw');
    await patch(join(dir, 'vm.qcow2'), (v, bytes) => {
      v.setBigUint64(72, 1n << 7n);
      const table = encodeFeatureNameTable([{ type: 'incompatible', bit: 7, name: 'time travel' }]);
      bytes.set(encodeHeaderExtension({ type: HeaderExtensionType.FEATURE_TABLE, data: table }), 112 + 16);
      bytes.set(encodeHeaderExtension({ type: HeaderExtensionType.END, data: new Uint8Array(0) }), 112 + 16 + 56);
    });
    await expect(inspectImage(join(dir, 'vm.qcow2'))).rejects.toMatchObject({ code: 'DISK_UNKNOWN_INCOMPATIBLE_FEATURES', message: expect.stringContaining('time travel') });
  });

  it('reports truncated and corrupt headers clearly', async () => {
    await overlay('vm.qcow2', 'b', 'raw');
    const whole = await readFile(join(dir, 'vm.qcow2'));
    await writeFile(join(dir, 'short.qcow2'), whole.subarray(0, 60));
    await expect(inspectImage(join(dir, 'short.qcow2'))).rejects.toMatchObject({ code: 'DISK_TRUNCATED', message: expect.stringContaining('short.qcow2') });
    await writeFile(join(dir, 'cut.qcow2'), whole.subarray(0, 70_000)); // header fine, L1 table missing
    await expect(inspectImage(join(dir, 'cut.qcow2'))).rejects.toMatchObject({ code: 'DISK_TRUNCATED', message: expect.stringContaining('L1 table') });
    await patch(join(dir, 'vm.qcow2'), (v) => v.setBigUint64(24, 2n ** 40n)); // 1 TiB with a 2-entry L1
    await expect(inspectImage(join(dir, 'vm.qcow2'))).rejects.toMatchObject({ code: 'DISK_CORRUPT_HEADER', message: expect.stringContaining('l1_size 2') });
    await patch(join(dir, 'vm.qcow2'), (v) => v.setUint32(100, 7));
    await expect(inspectImage(join(dir, 'vm.qcow2'))).rejects.toMatchObject({ code: 'DISK_CORRUPT_HEADER' });
  });

  it("for info, describes what qemu-img info opens and refuses what it refuses, leading with QEMU's reason", async () => {
    await overlay('vm.qcow2', 'b', 'raw');
    const whole = await readFile(join(dir, 'vm.qcow2'));
    await writeFile(join(dir, 'cut.qcow2'), whole.subarray(0, 70_000)); // L1 table past the end: QEMU reads zeros
    expect((await inspectImage(join(dir, 'cut.qcow2'), { purpose: 'info' })).virtualSize).toBe(2 ** 30);
    await patch(join(dir, 'vm.qcow2'), (v) => v.setBigUint64(72, 2n)); // incompatible bit 1: marked corrupt
    await expect(inspectImage(join(dir, 'vm.qcow2'))).rejects.toMatchObject({ code: 'DISK_MARKED_CORRUPT' });
    expect((await inspectImage(join(dir, 'vm.qcow2'), { purpose: 'info' })).qcow2).toMatchObject({ corrupt: true, incompatibleFeatures: ['corrupt bit'] });
    await writeFile(join(dir, 'short.qcow2'), whole.subarray(0, 100));
    await expect(inspectImage(join(dir, 'short.qcow2'), { purpose: 'info' })).rejects.toMatchObject({
      code: 'DISK_TRUNCATED',
      message: expect.stringMatching(/short\.qcow2: qcow2 header too short \(.*104.*100 bytes\)$/),
    });
    await patch(join(dir, 'vm.qcow2'), (v) => v.setBigUint64(72, 1n << 15n));
    await expect(inspectImage(join(dir, 'vm.qcow2'), { purpose: 'info' })).rejects.toMatchObject({
      message: expect.stringContaining('vm.qcow2: Unsupported qcow2 feature(s): Unknown incompatible feature: 8000 ('),
    });
  });

  it('for info, describes an AES image (not a LUKS one); for backing, refuses both', async () => {
    await overlay('vm.qcow2', 'b', 'raw');
    await patch(join(dir, 'vm.qcow2'), (v) => v.setUint32(32, 1));
    await expect(inspectImage(join(dir, 'vm.qcow2'))).rejects.toMatchObject({ code: 'DISK_ENCRYPTED' });
    expect((await inspectImage(join(dir, 'vm.qcow2'), { purpose: 'info' })).qcow2?.encryption).toBe('aes');
    await patch(join(dir, 'vm.qcow2'), (v) => v.setUint32(32, 2));
    await expect(inspectImage(join(dir, 'vm.qcow2'), { purpose: 'info' })).rejects.toMatchObject({ code: 'DISK_ENCRYPTED', message: expect.stringContaining('LUKS') });
  });

  it('reads the format -f gives: a qcow2 as raw, and refuses a raw file as qcow2', async () => {
    await overlay('vm.qcow2', 'b', 'raw');
    const size = (await readFile(join(dir, 'vm.qcow2'))).length;
    expect(await inspectImage(join(dir, 'vm.qcow2'), { format: 'raw' })).toMatchObject({ format: 'raw', virtualSize: Math.ceil(size / 512) * 512 });
    await writeFile(join(dir, 'disk.raw'), Buffer.alloc(4096));
    await expect(inspectImage(join(dir, 'disk.raw'), { format: 'qcow2' })).rejects.toMatchObject({ code: 'DISK_CORRUPT_HEADER', message: expect.stringContaining('disk.raw: Image is not in qcow2 format') });
  });

  it('says which image is missing', async () => {
    await expect(inspectImage(join(dir, 'nope.qcow2'))).rejects.toMatchObject({ code: 'DISK_NOT_FOUND', message: expect.stringContaining('nope.qcow2') });
  });
});

describe('inspectChain', () => {
  it('follows relative and absolute backing names from each image folder', async () => {
    await mkdir(join(dir, 'base'));
    await mkdir(join(dir, 'vms'));
    await writeFile(join(dir, 'base', 'base.raw'), '');
    await truncate(join(dir, 'base', 'base.raw'), 2 ** 20);
    await overlay('base/mid.qcow2', 'base.raw', 'raw', 2 ** 20);
    await overlay('vms/top.qcow2', join(dir, 'base', 'mid.qcow2'), 'qcow2', 2 ** 21);
    await overlay('vms/leaf.qcow2', 'top.qcow2', 'qcow2', 2 ** 21);
    const chain = await inspectChain(join(dir, 'vms', 'leaf.qcow2'));
    expect(chain.missing).toBeUndefined();
    expect(chain.images.map((i) => [i.path, i.format, i.virtualSize])).toEqual([
      [join(dir, 'vms', 'leaf.qcow2'), 'qcow2', 2 ** 21],
      [join(dir, 'vms', 'top.qcow2'), 'qcow2', 2 ** 21],
      [join(dir, 'base', 'mid.qcow2'), 'qcow2', 2 ** 20],
      [join(dir, 'base', 'base.raw'), 'raw', 2 ** 20],
    ]);
  });

  it('stops at a backing file that is not here, and says so', async () => {
    await overlay('vm.qcow2', '/var/lib/vmctx/images/debian-base.raw', 'raw');
    const chain = await inspectChain(join(dir, 'vm.qcow2'));
    expect(chain.images).toHaveLength(1);
    expect(chain.missing).toEqual({ file: '/var/lib/vmctx/images/debian-base.raw', path: '/var/lib/vmctx/images/debian-base.raw', format: 'raw' });
  });

  it('refuses a recorded format that does not match the file', async () => {
    await overlay('inner.qcow2', 'x', 'raw');
    await overlay('vm.qcow2', 'inner.qcow2', 'raw');
    await expect(inspectChain(join(dir, 'vm.qcow2'))).rejects.toMatchObject({ code: 'DISK_BACKING_FORMAT_MISMATCH', message: expect.stringContaining("'raw'") });
  });

  it('refuses a loop', async () => {
    await overlay('a.qcow2', 'b.qcow2', 'qcow2');
    await overlay('b.qcow2', 'c.qcow2', 'qcow2');
    await symlink(join(dir, 'a.qcow2'), join(dir, 'c.qcow2'));
    await expect(inspectChain(join(dir, 'a.qcow2'))).rejects.toMatchObject({ code: 'DISK_BACKING_LOOP' });
  });

  it('refuses a backing name with a protocol', async () => {
    await overlay('vm.qcow2', 'nbd://127.0.0.1/x', 'raw');
    await expect(inspectChain(join(dir, 'vm.qcow2'))).rejects.toMatchObject({ code: 'DISK_BACKING_NOT_LOCAL' });
  });
});

describe('localBackingPath', () => {
  it('resolves relative names against the overlay folder and keeps absolute ones', () => {
    expect(localBackingPath('base.raw', '/a/b/vm.qcow2')).toBe('/a/b/base.raw');
    expect(localBackingPath('../img/base.raw', 'vms/vm.qcow2')).toBe('vms/../img/base.raw');
    expect(localBackingPath('base.raw', 'vm.qcow2')).toBe('base.raw');
    expect(localBackingPath('/x/base.raw', '/a/vm.qcow2')).toBe('/x/base.raw');
    expect(localBackingPath('file:/x/base.raw', '/a/vm.qcow2')).toBe('/x/base.raw');
    expect(localBackingPath('./a:b', '/a/vm.qcow2')).toBe('/a/./a:b');
    expect(() => localBackingPath('json:{}', '/a/vm.qcow2')).toThrow(expect.objectContaining({ code: 'DISK_BACKING_NOT_LOCAL' }));
  });
});
