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
 * This is a pure function: it returns the non-zero byte runs and the file length. Everything not
 * covered by a run reads as zero.
 */
import { DiskBuilderError } from './errors.js';
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
/** The first three clusters: header, refcount table, refcount block. */
const FIXED_CLUSTERS = 3;

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
      'CLUSTER_SIZE_INVALID',
      `cluster size must be a power of two between 512 and 2 MiB (cluster bits 9..21), got cluster bits ${clusterBits}`,
    );
  }
  const clusterSize = 2 ** clusterBits;
  const virtualSize = checkVirtualSize(options.virtualSize, clusterSize);

  // "Cluster mapping": one L2 table (one cluster of 8-byte entries) maps clusterSize/8 clusters.
  const bytesPerL1Entry = clusterSize * (clusterSize / 8);
  const l1Size = Math.ceil(virtualSize / bytesPerL1Entry);
  if (l1Size > MAX_L1_ENTRIES) {
    throw new DiskBuilderError(
      'SIZE_TOO_LARGE',
      `virtual size ${virtualSize} is too large for qcow2 with ${clusterSize}-byte clusters ` +
        `(QEMU's 32 MiB L1 limit allows ${MAX_L1_ENTRIES * bytesPerL1Entry} bytes); use a larger cluster size`,
    );
  }
  const l1Clusters = Math.ceil((l1Size * 8) / clusterSize);
  const refcountsPerBlock = (clusterSize * 8) / 2 ** REFCOUNT_ORDER;
  const usedClusters = FIXED_CLUSTERS + l1Clusters;
  if (usedClusters > refcountsPerBlock) {
    // QEMU then allocates more refcount blocks (and may move the refcount table) by a path-dependent
    // algorithm; we only write the single-refcount-block layout, which covers every size with 16 KiB
    // clusters and more, and sizes up to cluster_size^3/64 below that.
    const maxSize = (refcountsPerBlock - FIXED_CLUSTERS) * (clusterSize / 8) * bytesPerL1Entry;
    throw new DiskBuilderError(
      'LAYOUT_UNSUPPORTED',
      `an overlay of ${virtualSize} bytes with ${clusterSize}-byte clusters needs more than one refcount block; ` +
        `this writer supports up to ${maxSize} bytes at this cluster size: use a larger cluster size (64 KiB is the default)`,
    );
  }

  const head = encodeHeaderCluster(options.backingFile, options.backingFormat, clusterSize, virtualSize, l1Size);

  // "Host cluster management", refcount table entry: bits 9-63 are the offset of the refcount block.
  const refcountTable = new Uint8Array(8);
  new DataView(refcountTable.buffer).setBigUint64(0, BigInt(2 * clusterSize));
  // "Host cluster management", refcount block entry: a 16-bit count per cluster, 1 = in use.
  const refcountBlock = new Uint8Array(usedClusters * 2);
  const blockView = new DataView(refcountBlock.buffer);
  for (let i = 0; i < usedClusters; i++) blockView.setUint16(i * 2, 1);

  const l1TableOffset = FIXED_CLUSTERS * clusterSize;
  return {
    clusterSize,
    virtualSize,
    l1Size,
    l1TableOffset,
    // "Cluster mapping": the L1 table holds l1_size 8-byte entries, all zero (no L2 table yet); QEMU writes
    // exactly l1_size * 8 bytes, so the file ends there rather than at a cluster boundary.
    length: l1TableOffset + l1Size * 8,
    runs: [
      { offset: 0, bytes: head },
      { offset: clusterSize, bytes: refcountTable },
      { offset: 2 * clusterSize, bytes: refcountBlock },
    ],
  };
}

function checkVirtualSize(size: number, clusterSize: number): number {
  if (typeof size !== 'number' || !Number.isFinite(size) || !Number.isInteger(size) || size < 0) {
    throw new DiskBuilderError('SIZE_INVALID', `virtual size must be a whole number of bytes, got ${String(size)}`);
  }
  if (size === 0) {
    throw new DiskBuilderError('SIZE_ZERO', 'virtual size is 0: an overlay needs a size of at least one byte (give the base image size)');
  }
  const rounded = Math.ceil(size / SECTOR_SIZE) * SECTOR_SIZE;
  if (rounded > Number.MAX_SAFE_INTEGER) {
    throw new DiskBuilderError('SIZE_TOO_LARGE', `virtual size ${size} is beyond 2^53 bytes, more than this writer represents exactly (cluster size ${clusterSize})`);
  }
  return rounded;
}

/** The bytes of cluster 0 up to the end of the backing file name (the rest of the cluster is zero). */
function encodeHeaderCluster(backingFile: string, backingFormat: BackingFormat, clusterSize: number, size: number, l1Size: number): Uint8Array {
  if (!(BACKING_FORMATS as readonly string[]).includes(backingFormat)) {
    throw new DiskBuilderError('BACKING_FORMAT_UNSUPPORTED', `backing format '${String(backingFormat)}' is not one of ${BACKING_FORMATS.join(', ')}`);
  }
  if (typeof backingFile !== 'string' || backingFile.length === 0) {
    throw new DiskBuilderError('BACKING_PATH_EMPTY', 'the backing file path is empty');
  }
  const name = Buffer.from(backingFile, 'utf8');
  if (name.includes(0)) throw new DiskBuilderError('BACKING_PATH_EMPTY', 'the backing file path contains a NUL byte');
  if (name.length > MAX_BACKING_FILE_NAME) {
    throw new DiskBuilderError(
      'BACKING_PATH_TOO_LONG',
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
      'BACKING_PATH_TOO_LONG',
      `the backing file path is ${name.length} bytes; with ${clusterSize}-byte clusters only ` +
        `${clusterSize - backingFileOffset} bytes fit in the header cluster: use a larger cluster size`,
    );
  }

  const out = new Uint8Array(backingFileOffset + name.length);
  writeHeaderFields(new DataView(out.buffer), {
    version: 3,
    backingFileOffset,
    backingFileSize: name.length,
    clusterBits: Math.log2(clusterSize),
    size,
    cryptMethod: 0, // no encryption
    l1Size,
    l1TableOffset: FIXED_CLUSTERS * clusterSize,
    refcountTableOffset: clusterSize,
    refcountTableClusters: 1,
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
