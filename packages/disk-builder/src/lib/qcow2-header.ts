/**
 * The qcow2 header, its header extensions and the feature name table: encoding and decoding.
 *
 * Every field cites QEMU `docs/interop/qcow2.rst`, the section and the byte range where it lives.
 * All numbers in qcow2 are big endian ("All numbers in qcow2 are stored in Big Endian byte order").
 */
import { DiskBuilderError } from './errors.js';
import { QCOW2_MAGIC } from './image-format.js';

/** qcow2.rst "Header": version 2 ends at byte 72, version 3 is at least 104 bytes long. */
export const QCOW2_V2_HEADER_LENGTH = 72;
export const QCOW2_V3_MIN_HEADER_LENGTH = 104;
/**
 * The header length QEMU writes for version 3: 104 bytes of fields, the one-byte compression_type at 104,
 * padded to a multiple of 8 (qcow2.rst "Additional fields", "Header padding").
 */
export const QCOW2_V3_HEADER_LENGTH = 112;

/** qcow2.rst "Header extensions", byte 0-3: header extension type. */
export const HeaderExtensionType = {
  END: 0x00000000,
  BACKING_FORMAT: 0xe2792aca,
  FEATURE_TABLE: 0x6803f857,
  BITMAPS: 0x23852875,
  FULL_DISK_ENCRYPTION: 0x0537be77,
  EXTERNAL_DATA_FILE: 0x44415441,
} as const;

/** qcow2.rst "Header", bytes 72-79 incompatible_features, bit numbers. */
export const IncompatibleFeature = { DIRTY: 0, CORRUPT: 1, EXTERNAL_DATA_FILE: 2, COMPRESSION_TYPE: 3, EXTENDED_L2: 4 } as const;
/** qcow2.rst "Header", bytes 80-87 compatible_features, bit numbers. */
export const CompatibleFeature = { LAZY_REFCOUNTS: 0 } as const;
/** qcow2.rst "Header", bytes 88-95 autoclear_features, bit numbers. */
export const AutoclearFeature = { BITMAPS: 0, RAW_EXTERNAL_DATA: 1 } as const;
/** Incompatible bits this package understands; any other set bit makes an image unsafe to read. */
export const KNOWN_INCOMPATIBLE_MASK = 0b11111n;

/** qcow2.rst "Feature name table", byte 0: which bitmap a name belongs to. */
export type FeatureType = 'incompatible' | 'compatible' | 'autoclear';
const FEATURE_TYPE_CODE: Record<FeatureType, number> = { incompatible: 0, compatible: 1, autoclear: 2 };

export interface FeatureName {
  type: FeatureType;
  bit: number;
  name: string;
}

/** The feature name table as QEMU 7.2 writes it, in its order (qcow2_update_header in block/qcow2.c). */
export const QEMU_FEATURE_NAMES: readonly FeatureName[] = [
  { type: 'incompatible', bit: IncompatibleFeature.DIRTY, name: 'dirty bit' },
  { type: 'incompatible', bit: IncompatibleFeature.CORRUPT, name: 'corrupt bit' },
  { type: 'incompatible', bit: IncompatibleFeature.EXTERNAL_DATA_FILE, name: 'external data file' },
  { type: 'incompatible', bit: IncompatibleFeature.COMPRESSION_TYPE, name: 'compression type' },
  { type: 'incompatible', bit: IncompatibleFeature.EXTENDED_L2, name: 'extended L2 entries' },
  { type: 'compatible', bit: CompatibleFeature.LAZY_REFCOUNTS, name: 'lazy refcounts' },
  { type: 'autoclear', bit: AutoclearFeature.BITMAPS, name: 'bitmaps' },
  { type: 'autoclear', bit: AutoclearFeature.RAW_EXTERNAL_DATA, name: 'raw external data' },
];

/** qcow2.rst "Feature name table": each entry is 48 bytes, the name takes bytes 2-47. */
export const FEATURE_NAME_ENTRY_SIZE = 48;
const FEATURE_NAME_MAX = FEATURE_NAME_ENTRY_SIZE - 2;

/** qcow2.rst "Header", bytes 16-19: the backing file name "must not be longer than 1023 bytes". */
export const MAX_BACKING_FILE_NAME = 1023;

/** The fixed header fields (qcow2.rst "Header" and "Additional fields"). */
export interface Qcow2HeaderFields {
  version: number;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  /** Virtual disk size in bytes. */
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatibleFeatures: bigint;
  compatibleFeatures: bigint;
  autoclearFeatures: bigint;
  refcountOrder: number;
  headerLength: number;
  compressionType: number;
}

export interface HeaderExtension {
  type: number;
  data: Uint8Array;
}

/** Writes the fixed header fields into `view` at offset 0; returns the header length written. */
export function writeHeaderFields(view: DataView, h: Qcow2HeaderFields): number {
  view.setUint32(0, QCOW2_MAGIC); // "Header" byte 0-3: magic "QFI\xfb"
  view.setUint32(4, h.version); // byte 4-7: version
  view.setBigUint64(8, BigInt(h.backingFileOffset)); // byte 8-15: backing_file_offset
  view.setUint32(16, h.backingFileSize); // byte 16-19: backing_file_size
  view.setUint32(20, h.clusterBits); // byte 20-23: cluster_bits
  view.setBigUint64(24, BigInt(h.size)); // byte 24-31: size
  view.setUint32(32, h.cryptMethod); // byte 32-35: crypt_method
  view.setUint32(36, h.l1Size); // byte 36-39: l1_size
  view.setBigUint64(40, BigInt(h.l1TableOffset)); // byte 40-47: l1_table_offset
  view.setBigUint64(48, BigInt(h.refcountTableOffset)); // byte 48-55: refcount_table_offset
  view.setUint32(56, h.refcountTableClusters); // byte 56-59: refcount_table_clusters
  view.setUint32(60, h.nbSnapshots); // byte 60-63: nb_snapshots
  view.setBigUint64(64, BigInt(h.snapshotsOffset)); // byte 64-71: snapshots_offset
  if (h.version < 3) return QCOW2_V2_HEADER_LENGTH;
  view.setBigUint64(72, h.incompatibleFeatures); // byte 72-79: incompatible_features
  view.setBigUint64(80, h.compatibleFeatures); // byte 80-87: compatible_features
  view.setBigUint64(88, h.autoclearFeatures); // byte 88-95: autoclear_features
  view.setUint32(96, h.refcountOrder); // byte 96-99: refcount_order
  view.setUint32(100, h.headerLength); // byte 100-103: header_length
  // "Additional fields" byte 104: compression_type; 105-111 padding stays zero ("Header padding").
  if (h.headerLength > QCOW2_V3_MIN_HEADER_LENGTH) view.setUint8(104, h.compressionType);
  return h.headerLength;
}

/** One header extension: type, length, data, zero padding to a multiple of 8 ("Header extensions"). */
export function encodeHeaderExtension(ext: HeaderExtension): Uint8Array {
  const out = new Uint8Array(8 + roundUp8(ext.data.length));
  const view = new DataView(out.buffer);
  view.setUint32(0, ext.type); // byte 0-3: header extension type
  view.setUint32(4, ext.data.length); // byte 4-7: length of the header extension data
  out.set(ext.data, 8); // byte 8-n: data; n-m: padding
  return out;
}

/** "Feature name table": type (byte 0), bit (byte 1), name padded with zeros (bytes 2-47). */
export function encodeFeatureNameTable(names: readonly FeatureName[]): Uint8Array {
  const out = new Uint8Array(names.length * FEATURE_NAME_ENTRY_SIZE);
  names.forEach((f, i) => {
    const base = i * FEATURE_NAME_ENTRY_SIZE;
    out[base] = FEATURE_TYPE_CODE[f.type];
    out[base + 1] = f.bit;
    const name = Buffer.from(f.name, 'utf8');
    out.set(name.subarray(0, FEATURE_NAME_MAX), base + 2);
  });
  return out;
}

export function decodeFeatureNameTable(data: Uint8Array): FeatureName[] {
  const names: FeatureName[] = [];
  const types: FeatureType[] = ['incompatible', 'compatible', 'autoclear'];
  for (let base = 0; base + FEATURE_NAME_ENTRY_SIZE <= data.length; base += FEATURE_NAME_ENTRY_SIZE) {
    const type = types[data[base] ?? 255];
    if (type === undefined) continue; // an unknown bitmap: nothing we could name
    const raw = data.subarray(base + 2, base + FEATURE_NAME_ENTRY_SIZE);
    const end = raw.indexOf(0);
    names.push({ type, bit: data[base + 1] ?? 0, name: Buffer.from(end < 0 ? raw : raw.subarray(0, end)).toString('utf8') });
  }
  return names;
}

export interface DecodedHeader {
  fields: Qcow2HeaderFields;
  extensions: Array<HeaderExtension & { offset: number }>;
  backingFile?: string;
  backingFormat?: string;
  featureNames: FeatureName[];
}

/**
 * Decodes a header from the first bytes of a file (at least the first cluster, or the whole file when
 * it is shorter). `where` names the file in error messages.
 */
export function decodeHeader(head: Uint8Array, where: string): DecodedHeader {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  // Each refusal leads with the reason QEMU 7.2's qcow2_do_open (block/qcow2.c) gives for the same fault, checked
  // in its order, so that `vmctx disk info` says what `qemu-img info` says; the bytes at fault follow in brackets.
  const fail = (code: 'DISK_TRUNCATED' | 'DISK_CORRUPT_HEADER' | 'DISK_UNSUPPORTED_VERSION', reason: string, detail: string): never => {
    throw new DiskBuilderError(code, `${where}: ${reason} (${detail})`, { where });
  };
  const corrupt = (reason: string, detail: string): never => fail('DISK_CORRUPT_HEADER', reason, detail);
  const need = (end: number, what: string, reason = 'qcow2 header too short'): void => {
    if (head.length < end) fail('DISK_TRUNCATED', reason, `the qcow2 ${what} ends at byte ${end} but the file has only ${head.length} bytes`);
  };
  if (head.length < 4 || view.getUint32(0) !== QCOW2_MAGIC) corrupt('Image is not in qcow2 format', 'no qcow2 magic at byte 0-3');
  need(8, 'header');
  const version = view.getUint32(4);
  if (version !== 2 && version !== 3) fail('DISK_UNSUPPORTED_VERSION', `Unsupported qcow2 version ${version}`, 'byte 4-7; versions 2 and 3 are known');
  need(24, 'header');
  // "Header" byte 20-23: at least 9; QEMU's implementation limit is 2 MiB clusters.
  const clusterBits = view.getUint32(20);
  if (clusterBits < 9 || clusterBits > 21) corrupt(`Unsupported cluster size: 2^${clusterBits}`, `cluster_bits (byte 20-23) is ${clusterBits}, not 9..21`);
  need(QCOW2_V2_HEADER_LENGTH, 'header');
  const u64 = (offset: number, field: string, reason: string): number => {
    const value = view.getBigUint64(offset);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) corrupt(reason, `${field} (byte ${offset}-${offset + 7}) is ${value}, beyond 2^53`);
    return Number(value);
  };
  const fields: Qcow2HeaderFields = {
    version,
    backingFileOffset: u64(8, 'backing_file_offset', 'Invalid backing file offset'),
    backingFileSize: view.getUint32(16),
    clusterBits,
    size: u64(24, 'size', 'Image is too big'),
    cryptMethod: view.getUint32(32),
    l1Size: view.getUint32(36),
    l1TableOffset: u64(40, 'l1_table_offset', 'Active L1 table offset invalid'),
    refcountTableOffset: u64(48, 'refcount_table_offset', 'Reference count table offset invalid'),
    refcountTableClusters: view.getUint32(56),
    nbSnapshots: view.getUint32(60),
    snapshotsOffset: u64(64, 'snapshots_offset', 'Snapshot table offset invalid'),
    // Version 2 images: no feature bits, refcount_order 4, header_length 72 ("Header").
    incompatibleFeatures: 0n,
    compatibleFeatures: 0n,
    autoclearFeatures: 0n,
    refcountOrder: 4,
    headerLength: QCOW2_V2_HEADER_LENGTH,
    compressionType: 0,
  };
  const clusterSize = 2 ** fields.clusterBits;
  if (version === 3) {
    need(QCOW2_V3_MIN_HEADER_LENGTH, 'version 3 header');
    fields.incompatibleFeatures = view.getBigUint64(72);
    fields.compatibleFeatures = view.getBigUint64(80);
    fields.autoclearFeatures = view.getBigUint64(88);
    fields.refcountOrder = view.getUint32(96);
    fields.headerLength = view.getUint32(100);
    const length = `header_length (byte 100-103) is ${fields.headerLength}, not a multiple of 8 between 104 and the cluster size`;
    if (fields.headerLength < QCOW2_V3_MIN_HEADER_LENGTH) corrupt('qcow2 header too short', length);
    if (fields.headerLength > clusterSize) corrupt('qcow2 header exceeds cluster size', length);
    // qcow2.rst "Header" byte 100-103: "must be a multiple of 8" (QEMU does not check it; extensions would be misread).
    if (fields.headerLength % 8 !== 0) corrupt('Invalid qcow2 header length', length);
    need(fields.headerLength, 'header');
    if (fields.headerLength > QCOW2_V3_MIN_HEADER_LENGTH) fields.compressionType = view.getUint8(104);
  }
  if (fields.backingFileOffset > clusterSize) {
    corrupt('Invalid backing file offset', `backing_file_offset (byte 8-15) is ${fields.backingFileOffset}, past the first cluster`);
  }
  if (fields.refcountOrder > 6) corrupt('Reference count entry width too large; may not exceed 64 bits', `refcount_order (byte 96-99) is ${fields.refcountOrder}, more than 6`);
  for (const [name, offset, reason] of [
    ['refcount_table_offset', fields.refcountTableOffset, 'Reference count table offset invalid'],
    ['l1_table_offset', fields.l1TableOffset, 'Active L1 table offset invalid'],
  ] as const) {
    if (offset % clusterSize !== 0) corrupt(reason, `${name} ${offset} is not aligned to the cluster size ${clusterSize}`);
  }

  // "Header extensions": directly after the header, up to an end extension, within the first cluster.
  const extensions: DecodedHeader['extensions'] = [];
  let backingFormat: string | undefined;
  let featureNames: FeatureName[] = [];
  if (version === 3) {
    let at = fields.headerLength;
    for (;;) {
      if (at + 8 > clusterSize) corrupt('Header extension too large', `header extensions run past the first cluster (byte ${at})`);
      need(at + 8, `header extension at byte ${at}`, 'Could not read qcow2 header extension');
      const type = view.getUint32(at);
      const length = view.getUint32(at + 4);
      if (type === HeaderExtensionType.END) break;
      const dataEnd = at + 8 + length;
      if (dataEnd > clusterSize) corrupt('Header extension too large', `header extension 0x${type.toString(16)} at byte ${at} (length ${length}) runs past the first cluster`);
      need(dataEnd, `header extension 0x${type.toString(16)} at byte ${at}`, 'Could not read qcow2 header extension');
      const data = head.subarray(at + 8, dataEnd);
      extensions.push({ type, offset: at, data });
      if (type === HeaderExtensionType.BACKING_FORMAT) backingFormat = Buffer.from(data).toString('utf8');
      if (type === HeaderExtensionType.FEATURE_TABLE) featureNames = decodeFeatureNameTable(data);
      at = at + 8 + roundUp8(length);
    }
  }

  let backingFile: string | undefined;
  if (fields.backingFileOffset !== 0) {
    if (fields.backingFileSize > MAX_BACKING_FILE_NAME) {
      corrupt('Backing file name too long', `backing_file_size (byte 16-19) is ${fields.backingFileSize}, more than ${MAX_BACKING_FILE_NAME}`);
    }
    const end = fields.backingFileOffset + fields.backingFileSize;
    if (end > clusterSize) corrupt('Backing file name too long', `the backing file name (bytes ${fields.backingFileOffset}-${end}) runs past the first cluster`);
    need(end, 'backing file name', 'Could not read backing file name');
    backingFile = Buffer.from(head.subarray(fields.backingFileOffset, end)).toString('utf8');
  }
  return {
    fields,
    extensions,
    featureNames,
    ...(backingFile !== undefined ? { backingFile } : {}),
    ...(backingFormat !== undefined ? { backingFormat } : {}),
  };
}

export function roundUp8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
