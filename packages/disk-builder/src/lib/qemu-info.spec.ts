import { describe, expect, it } from 'vitest';
import type { ImageInfo } from './inspect.js';
import { toQemuImgInfo } from './qemu-info.js';

const qcow2: ImageInfo = {
  path: 'vms/vm.qcow2',
  format: 'qcow2',
  virtualSize: 2 ** 30,
  fileSize: 196624,
  allocatedSize: 8192,
  clusterSize: 65536,
  backing: { file: '../base.raw', format: 'raw' },
  qcow2: {
    version: 3, compat: '1.1', refcountBits: 16, compressionType: 'zlib', incompatibleFeatures: [], compatibleFeatures: [],
    autoclearFeatures: [], dirty: false, corrupt: false, lazyRefcounts: true, extendedL2: false, snapshots: 0,
  },
};

describe('toQemuImgInfo', () => {
  it('writes qemu-img info keys, in its order, with the backing name combined as QEMU does', () => {
    const out = toQemuImgInfo(qcow2);
    expect(Object.keys(out)).toEqual([
      'backing-filename-format', 'virtual-size', 'filename', 'cluster-size', 'format', 'actual-size', 'format-specific',
      'full-backing-filename', 'backing-filename', 'dirty-flag',
    ]);
    expect(out).toMatchObject({ 'full-backing-filename': 'vms/../base.raw', 'backing-filename': '../base.raw', 'actual-size': 8192 });
    expect(out['format-specific']?.data).toEqual({ compat: '1.1', 'compression-type': 'zlib', 'lazy-refcounts': true, 'refcount-bits': 16, corrupt: false, 'extended-l2': false });
  });

  it('leaves feature keys out for version 2 and everything qcow2 out for raw', () => {
    expect(toQemuImgInfo({ ...qcow2, backing: undefined, qcow2: { ...qcow2.qcow2!, version: 2, compat: '0.10' } })['format-specific']?.data).toEqual({
      compat: '0.10', 'compression-type': 'zlib', 'refcount-bits': 16,
    });
    expect(toQemuImgInfo({ path: 'b.raw', format: 'raw', virtualSize: 5, fileSize: 5, allocatedSize: 4096 })).toEqual({
      'virtual-size': 5, filename: 'b.raw', format: 'raw', 'actual-size': 4096, 'dirty-flag': false,
    });
  });
});
