/**
 * ImageInfo in the shape of `qemu-img info --output=json` (QEMU 7.2's ImageInfo QAPI type), so that a
 * pipeline reading qemu-img's JSON can read ours. Keys are written in qemu-img's order.
 */
import { localBackingPath, type ImageInfo } from './inspect.js';

export interface QemuImgInfo {
  'backing-filename-format'?: string;
  'virtual-size': number;
  filename: string;
  'cluster-size'?: number;
  format: string;
  'actual-size': number;
  'format-specific'?: { type: 'qcow2'; data: Record<string, string | number | boolean | { format: string }> };
  encrypted?: boolean;
  'full-backing-filename'?: string;
  'backing-filename'?: string;
  'dirty-flag': boolean;
}

export function toQemuImgInfo(info: ImageInfo): QemuImgInfo {
  const out: QemuImgInfo = {
    ...(info.backing?.format !== undefined ? { 'backing-filename-format': info.backing.format } : {}),
    'virtual-size': info.virtualSize,
    filename: info.path,
    ...(info.clusterSize !== undefined ? { 'cluster-size': info.clusterSize } : {}),
    format: info.format,
    'actual-size': info.allocatedSize,
    'dirty-flag': false,
  };
  const q = info.qcow2;
  if (q) {
    // Version 2 images have no feature bits: qemu-img leaves those keys out.
    const data: Record<string, string | number | boolean | { format: string }> =
      q.version >= 3
        ? {
            compat: q.compat,
            'compression-type': q.compressionType,
            'lazy-refcounts': q.lazyRefcounts,
            'refcount-bits': q.refcountBits,
            ...(q.encryption ? { encrypt: { format: q.encryption } } : {}),
            ...(q.dataFile ? { 'data-file': q.dataFile.name, 'data-file-raw': q.dataFile.raw } : {}),
            corrupt: q.corrupt,
            'extended-l2': q.extendedL2,
          }
        : { compat: q.compat, 'compression-type': q.compressionType, 'refcount-bits': q.refcountBits, ...(q.encryption ? { encrypt: { format: q.encryption } } : {}) };
    out['format-specific'] = { type: 'qcow2', data };
    out['dirty-flag'] = q.dirty;
  }
  // qemu-img's order: format-specific, full-backing-filename and backing-filename, encrypted, then dirty-flag last.
  const { 'dirty-flag': dirty, ...rest } = out;
  const encrypted = q?.encryption ? { encrypted: true } : {};
  if (info.backing) {
    let full: string | undefined;
    try {
      full = localBackingPath(info.backing.file, info.path);
    } catch {
      full = undefined; // a protocol name: qemu-img prints it as is
    }
    return { ...rest, 'full-backing-filename': full ?? info.backing.file, 'backing-filename': info.backing.file, ...encrypted, 'dirty-flag': dirty };
  }
  return { ...rest, ...encrypted, 'dirty-flag': dirty };
}
