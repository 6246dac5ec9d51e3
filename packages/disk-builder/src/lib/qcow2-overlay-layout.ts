/**
 * Where every byte of a fresh qcow2 v3 overlay goes, exactly as `qemu-img create -f qcow2 -F FMT -b PATH -u SIZE`
 * of QEMU 7.2 lays it out (found by creating images with qemu-img and comparing bytes, and by reading
 * qcow2_co_create / qcow2_update_header in QEMU's block/qcow2.c):
 *
 *   cluster 0   header (112 bytes), backing format extension, feature name table (only for clusters
 *               larger than 4 KiB, where QEMU has room for it), end extension, backing file name
 *   cluster 1   refcount table: one entry, pointing at cluster 2
 *   cluster 2   refcount block: refcount 1 for clusters 0, 1, 2 and the L1 table's clusters
 *   cluster 3.. the L1 table, all zeros (no L2 table allocated), l1_size * 8 bytes; the file ends there
 *
 * That is the layout whenever one refcount block counts every cluster (always with clusters of 16 KiB and
 * more). Beyond that, QEMU's allocator adds refcount blocks after the L1 table and may move the refcount
 * table; qcow2-allocation.ts replays it.
 *
 * This is a pure function: it returns the non-zero byte runs and the file length. Everything not
 * covered by a run reads as zero.
 */
import { DiskBuilderError } from './errors.js';
import { allocateImage, type AllocationResult } from './qcow2-allocation.js';
import {
  encodeFeatureNameTable,
  encodeHeaderExtension,
  HeaderExtensionType,
  MAX_BACKING_FILE_NAME,
  QCOW2_V3_HEADER_LENGTH,
  QEMU_FEATURE_NAMES,
  writeHeaderFields,
} from './qcow2-header.js';

/** The backing formats an overlay may record (qcow2.rst "Header extensions", 0xe2792aca). */
export const BACKING_FORMATS = ['raw', 'qcow2'] as const;
export type BackingFormat = (typeof BACKING_FORMATS)[number];

/** qcow2.rst "Header" byte 20-23: at least 9 (512 B); QEMU accepts at most 21 (2 MiB). */
export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;
export const DEFAULT_CLUSTER_BITS = 16;
/** QEMU's implementation limit on the L1 table: 32 MiB (qcow2.rst "Header" byte 24-31, note). */
export const MAX_L1_ENTRIES = (32 * 1024 * 1024) / 8;
/** qemu-img rounds a virtual size up to whole 512-byte sectors. */
export const SECTOR_SIZE = 512;
/** 16-bit refcounts, as qemu-img writes by default (qcow2.rst "Header" byte 96-99). */
const REFCOUNT_ORDER = 4;

export interface OverlayOptions {
  /** The backing file name written into the overlay, kept exactly as given (relative names stay relative). */
  backingFile: string;
  backingFormat: BackingFormat;
  /** Virtual size in bytes; rounded up to a multiple of 512 as qemu-img does. */
  virtualSize: number;
  /** log2 of the cluster size, 9 (512 B) to 21 (2 MiB); 16 (64 KiB) by default. */
  clusterBits?: number;
}

export interface ByteRun {
  offset: number;
  bytes: Uint8Array;
}

export interface OverlayLayout {
  clusterSize: number;
  virtualSize: number;
  l1Size: number;
  l1TableOffset: number;
  /** Total file length in bytes. */
  length: number;
  /** The non-zero parts of the file, in file order. */
  runs: ByteRun[];
}

export function layoutOverlay(options: OverlayOptions): OverlayLayout {
  const clusterBits = options.clusterBits ?? DEFAULT_CLUSTER_BITS;
  if (!Number.isInteger(clusterBits) || clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw new DiskBuilderError(
      'DISK_CLUSTER_SIZE_INVALID',
      `cluster size must be a power of two between 512 and 2 MiB (cluster bits 9..21), got cluster bits ${clusterBits}`,
    );
  }
  const clusterSize = 2 ** clusterBits;
  const virtualSize = checkVirtualSize(options.virtualSize, clusterSize);
  const plan = planHeaderCluster(options.backingFile, options.backingFormat, clusterSize);

  // "Cluster mapping": one L2 table (one cluster of 8-byte entries) maps clusterSize/8 clusters.
  const bytesPerL1Entry = clusterSize * (clusterSize / 8);
  const l1Size = Math.ceil(virtualSize / bytesPerL1Entry);
  if (l1Size > MAX_L1_ENTRIES) {
    throw new DiskBuilderError(
      'DISK_SIZE_TOO_LARGE',
      `virtual size ${virtualSize} is too large for qcow2 with ${clusterSize}-byte clusters ` +
        `(QEMU's 32 MiB L1 limit allows ${MAX_L1_ENTRIES * bytesPerL1Entry} bytes); use a larger cluster size`,
    );
  }
  // Refcount table, refcount blocks and L1 table where QEMU's allocator puts them (qcow2-allocation.ts).
  const allocation = allocateImage(clusterBits, l1Size);
  const head = encodeHeaderCluster(plan, clusterSize, virtualSize, l1Size, allocation);
  const runs: ByteRun[] = [{ offset: 0, bytes: head }];
  for (const index of [...allocation.clusters.keys()].sort((a, b) => a - b)) {
    runs.push({ offset: index * clusterSize, bytes: trimZeros(allocation.clusters.get(index)!) });
  }
  return { clusterSize, virtualSize, l1Size, l1TableOffset: allocation.l1TableOffset, length: allocation.length, runs };
}

/** A cluster's bytes without its trailing zeros (they are zero in the file anyway). */
function trimZeros(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return bytes.subarray(0, end);
}

function checkVirtualSize(size: number, clusterSize: number): number {
  if (typeof size !== 'number' || !Number.isFinite(size) || !Number.isInteger(size) || size < 0) {
    throw new DiskBuilderError('DISK_SIZE_INVALID', `virtual size must be a whole number of bytes, got ${String(size)}`);
  }
  if (size === 0) {
    throw new DiskBuilderError('DISK_SIZE_ZERO', 'virtual size is 0: an overlay needs a size of at least one byte (give the base image size)');
  }
  const rounded = Math.ceil(size / SECTOR_SIZE) * SECTOR_SIZE;
  if (rounded > Number.MAX_SAFE_INTEGER) {
    throw new DiskBuilderError('DISK_SIZE_TOO_LARGE', `virtual size ${size} is beyond 2^53 bytes, more than this writer represents exactly (cluster size ${clusterSize})`);
  }
  return rounded;
}

interface HeaderPlan {
  name: Uint8Array;
  extensions: Uint8Array[];
  backingFileOffset: number;
}

/** Checks the backing file name and format and places the extensions and the name in cluster 0. */
function planHeaderCluster(backingFile: string, backingFormat: BackingFormat, clusterSize: number): HeaderPlan {
  if (!(BACKING_FORMATS as readonly string[]).includes(backingFormat)) {
    throw new DiskBuilderError('DISK_BACKING_FORMAT_UNSUPPORTED', `backing format '${String(backingFormat)}' is not one of ${BACKING_FORMATS.join(', ')}`);
  }
  if (typeof backingFile !== 'string' || backingFile.length === 0) {
    throw new DiskBuilderError('DISK_BACKING_PATH_EMPTY', 'the backing file path is empty');
  }
  const name = Buffer.from(backingFile, 'utf8');
  if (name.includes(0)) throw new DiskBuilderError('DISK_BACKING_PATH_EMPTY', 'the backing file path contains a NUL byte');
  if (name.length > MAX_BACKING_FILE_NAME) {
    throw new DiskBuilderError(
      'DISK_BACKING_PATH_TOO_LONG',
      `the backing file path is ${name.length} bytes; qcow2 allows at most ${MAX_BACKING_FILE_NAME} (qcow2.rst "Header" byte 16-19)`,
    );
  }

  const extensions = [
    encodeHeaderExtension({ type: HeaderExtensionType.BACKING_FORMAT, data: Buffer.from(backingFormat, 'ascii') }),
    // QEMU leaves the 384-byte feature name table out when clusters are 4 KiB or smaller, keeping room
    // for the backing file name.
    ...(clusterSize > 4096
      ? [encodeHeaderExtension({ type: HeaderExtensionType.FEATURE_TABLE, data: encodeFeatureNameTable(QEMU_FEATURE_NAMES) })]
      : []),
    encodeHeaderExtension({ type: HeaderExtensionType.END, data: new Uint8Array(0) }),
  ];
  const extensionsLength = extensions.reduce((n, e) => n + e.length, 0);
  const backingFileOffset = QCOW2_V3_HEADER_LENGTH + extensionsLength;
  // "Header extensions": the backing file name is stored after the extensions, within the first cluster.
  if (backingFileOffset + name.length > clusterSize) {
    throw new DiskBuilderError(
      'DISK_BACKING_PATH_TOO_LONG',
      `the backing file path is ${name.length} bytes; with ${clusterSize}-byte clusters only ` +
        `${clusterSize - backingFileOffset} bytes fit in the header cluster: use a larger cluster size`,
    );
  }
  return { name, extensions, backingFileOffset };
}

/** The bytes of cluster 0 up to the end of the backing file name (the rest of the cluster is zero). */
function encodeHeaderCluster(plan: HeaderPlan, clusterSize: number, size: number, l1Size: number, allocation: AllocationResult): Uint8Array {
  const { name, extensions, backingFileOffset } = plan;
  const out = new Uint8Array(backingFileOffset + name.length);
  writeHeaderFields(new DataView(out.buffer), {
    version: 3,
    backingFileOffset,
    backingFileSize: name.length,
    clusterBits: Math.log2(clusterSize),
    size,
    cryptMethod: 0, // no encryption
    l1Size,
    l1TableOffset: allocation.l1TableOffset,
    refcountTableOffset: allocation.refcountTableOffset,
    refcountTableClusters: allocation.refcountTableClusters,
    nbSnapshots: 0,
    snapshotsOffset: 0,
    incompatibleFeatures: 0n, // compression type zlib (no bit 3), standard L2 entries (no bit 4)
    compatibleFeatures: 0n, // lazy_refcounts=off
    autoclearFeatures: 0n,
    refcountOrder: REFCOUNT_ORDER,
    headerLength: QCOW2_V3_HEADER_LENGTH,
    compressionType: 0, // "Additional fields" byte 104: 0 = deflate ("zlib" in QEMU)
  });
  let at = QCOW2_V3_HEADER_LENGTH;
  for (const ext of extensions) {
    out.set(ext, at);
    at += ext.length;
  }
  out.set(name, at);
  return out;
}
