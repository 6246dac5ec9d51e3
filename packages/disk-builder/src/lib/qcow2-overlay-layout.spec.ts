import { describe, expect, it } from 'vitest';
import { decodeHeader, HeaderExtensionType } from './qcow2-header.js';
import { layoutOverlay, type OverlayOptions } from './qcow2-overlay-layout.js';

const base: OverlayOptions = { backingFile: '/tmp/dq/base.raw', backingFormat: 'raw', virtualSize: 2 ** 30 };

/** The file as bytes: runs over zeros. */
function materialize(options: OverlayOptions): Buffer {
  const layout = layoutOverlay(options);
  const out = Buffer.alloc(layout.length);
  for (const run of layout.runs) out.set(run.bytes, run.offset);
  return out;
}

describe('layoutOverlay', () => {
  it('writes the header qemu-img 7.2 writes for `create -f qcow2 -F raw -b /tmp/dq/base.raw -u x 1G`', () => {
    // From `xxd` of qemu-img's own image, bytes 0x00-0x7f.
    const golden =
      '514649fb000000030000000000000210' + '00000010000000100000000040000000' + '00000000000000020000000000030000' +
      '00000000000100000000000100000000' + '0'.repeat(64) + '00000004000000700000000000000000' + 'e2792aca000000037261770000000000';
    const file = materialize(base);
    expect(file.subarray(0, 0x80).toString('hex')).toBe(golden);
    expect(file.length).toBe(196624); // 3 clusters and a 2-entry L1 table
    expect(file.subarray(0x210, 0x220).toString()).toBe('/tmp/dq/base.raw');
  });

  it('decodes back to the fields of a fresh overlay', () => {
    const d = decodeHeader(materialize({ ...base, backingFormat: 'qcow2', backingFile: 'rel/base.qcow2' }), 'x');
    expect(d.fields).toMatchObject({
      version: 3, clusterBits: 16, size: 2 ** 30, cryptMethod: 0, l1Size: 2, l1TableOffset: 196608,
      refcountTableOffset: 65536, refcountTableClusters: 1, nbSnapshots: 0, refcountOrder: 4, headerLength: 112,
      incompatibleFeatures: 0n, compatibleFeatures: 0n, autoclearFeatures: 0n, compressionType: 0,
    });
    expect(d.backingFile).toBe('rel/base.qcow2');
    expect(d.backingFormat).toBe('qcow2');
    expect(d.featureNames.map((f) => f.name)).toContain('lazy refcounts');
  });

  it('points the refcount table at cluster 2 and counts header, tables and L1 once each', () => {
    // 4 KiB clusters, 16 GiB: L1 of 8192 entries = 16 clusters, so clusters 0..18 are in use.
    const file = materialize({ ...base, clusterBits: 12, virtualSize: 16 * 2 ** 30 });
    expect(file.readBigUInt64BE(4096)).toBe(8192n);
    expect(file.subarray(4104, 8192).every((b) => b === 0)).toBe(true);
    const counts = Array.from({ length: 22 }, (_, i) => file.readUInt16BE(8192 + 2 * i));
    expect(counts).toEqual([...Array(19).fill(1), 0, 0, 0]);
    expect(file.length).toBe(3 * 4096 + 8192 * 8);
  });

  it('leaves out the feature name table for clusters of 4 KiB and less, as QEMU does', () => {
    const types = (bits: number) => decodeHeader(materialize({ ...base, clusterBits: bits, virtualSize: 2 ** 20 }), 'x').extensions.map((e) => e.type);
    expect(types(12)).toEqual([HeaderExtensionType.BACKING_FORMAT]);
    expect(types(9)).toEqual([HeaderExtensionType.BACKING_FORMAT]);
    expect(types(13)).toEqual([HeaderExtensionType.BACKING_FORMAT, HeaderExtensionType.FEATURE_TABLE]);
  });

  it('rounds the virtual size up to 512 bytes and sizes L1 for it', () => {
    expect(layoutOverlay({ ...base, virtualSize: 1_000_000 })).toMatchObject({ virtualSize: 1_000_448, l1Size: 1 });
    expect(layoutOverlay({ ...base, virtualSize: 1 })).toMatchObject({ virtualSize: 512, l1Size: 1 });
    expect(layoutOverlay({ ...base, virtualSize: 2 ** 29 + 1 })).toMatchObject({ l1Size: 2 });
    expect(layoutOverlay({ ...base, virtualSize: 2 ** 41 })).toMatchObject({ l1Size: 4096, length: 196608 + 32768 });
    expect(layoutOverlay({ ...base, clusterBits: 21, virtualSize: 2 ** 30 })).toMatchObject({ clusterSize: 2 ** 21, l1Size: 1, length: 3 * 2 ** 21 + 8 });
  });

  it('adds refcount blocks after the L1 table where QEMU does, once one block no longer counts everything', () => {
    // qemu-img 7.2, 512-byte clusters, 1 GiB: L1 of 512 clusters at cluster 3, refcount blocks at 515 and 516.
    const file = materialize({ ...base, clusterBits: 9, virtualSize: 2 ** 30 });
    const d = decodeHeader(file, 'x').fields;
    expect(d).toMatchObject({ l1Size: 32768, l1TableOffset: 3 * 512, refcountTableOffset: 512, refcountTableClusters: 1 });
    expect(file.length).toBe(264704);
    const table = Array.from({ length: 4 }, (_, i) => Number(file.readBigUInt64BE(512 + 8 * i)) / 512);
    expect(table).toEqual([2, 515, 516, 0]);
    // Block 515 counts clusters 256..511 (all L1), block 516 counts 512..516 (L1 tail and both new blocks).
    expect(Array.from({ length: 256 }, (_, i) => file.readUInt16BE(515 * 512 + 2 * i)).every((n) => n === 1)).toBe(true);
    expect(Array.from({ length: 6 }, (_, i) => file.readUInt16BE(516 * 512 + 2 * i))).toEqual([1, 1, 1, 1, 1, 0]);
  });

  it('moves the refcount table when it fills up, as QEMU does', () => {
    // qemu-img 7.2, 512-byte clusters, 64 GiB: the table moves to cluster 33025 and takes 4 clusters.
    const layout = layoutOverlay({ ...base, clusterBits: 9, virtualSize: 64 * 2 ** 30 });
    const head = decodeHeader(layout.runs[0]!.bytes, 'x').fields;
    expect(head).toMatchObject({ l1Size: 2097152, l1TableOffset: 1536, refcountTableOffset: 33025 * 512, refcountTableClusters: 4 });
    expect(layout.length).toBe(16910848);
  });

  it('keeps a relative backing path exactly as given', () => {
    expect(decodeHeader(materialize({ ...base, backingFile: '../images/base.raw' }), 'x').backingFile).toBe('../images/base.raw');
  });
});

describe('layoutOverlay refuses bad input with a code', () => {
  const code = (o: Partial<OverlayOptions>) => {
    try {
      layoutOverlay({ ...base, ...o });
    } catch (error) {
      return (error as { code: string }).code;
    }
    return 'no error';
  };
  it('sizes', () => {
    expect(code({ virtualSize: 0 })).toBe('DISK_SIZE_ZERO');
    expect(code({ virtualSize: -1 })).toBe('DISK_SIZE_INVALID');
    expect(code({ virtualSize: 1.5 })).toBe('DISK_SIZE_INVALID');
    expect(code({ virtualSize: Number.NaN })).toBe('DISK_SIZE_INVALID');
    // 64 KiB clusters: 4 Mi L1 entries of 512 MiB each = 2 PiB at most, as qemu-img.
    expect(code({ virtualSize: 2 ** 51 })).toBe('no error');
    expect(code({ virtualSize: 2 ** 51 + 1 })).toBe('DISK_SIZE_TOO_LARGE');
    expect(code({ clusterBits: 9, virtualSize: 2 ** 37 + 512 })).toBe('DISK_SIZE_TOO_LARGE');
    expect(code({ clusterBits: 21, virtualSize: 2 ** 60 })).toBe('DISK_SIZE_TOO_LARGE'); // beyond 2^53
  });
  it('cluster sizes', () => {
    for (const bits of [8, 22, 15.5]) expect(code({ clusterBits: bits })).toBe('DISK_CLUSTER_SIZE_INVALID');
    for (const bits of [9, 10, 14, 16, 21]) expect(code({ clusterBits: bits, virtualSize: 2 ** 20 })).toBe('no error');
  });
  it('backing paths: empty, over 1023 bytes, or not fitting in a small header cluster', () => {
    expect(code({ backingFile: '' })).toBe('DISK_BACKING_PATH_EMPTY');
    expect(code({ backingFile: '/' + 'a'.repeat(1022) })).toBe('no error');
    expect(code({ backingFile: '/' + 'a'.repeat(1023) })).toBe('DISK_BACKING_PATH_TOO_LONG');
    expect(code({ backingFile: '/' + 'é'.repeat(512) })).toBe('DISK_BACKING_PATH_TOO_LONG'); // 1025 bytes in UTF-8
    // 512-byte clusters: 512 - 112 - 16 - 8 = 376 bytes for the name.
    expect(code({ clusterBits: 9, virtualSize: 2 ** 20, backingFile: '/' + 'a'.repeat(375) })).toBe('no error');
    expect(code({ clusterBits: 9, virtualSize: 2 ** 20, backingFile: '/' + 'a'.repeat(376) })).toBe('DISK_BACKING_PATH_TOO_LONG');
  });
  it('backing formats it cannot record', () => {
    expect(code({ backingFormat: 'vmdk' as never })).toBe('DISK_BACKING_FORMAT_UNSUPPORTED');
  });
});
