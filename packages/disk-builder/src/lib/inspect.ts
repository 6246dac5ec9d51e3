/**
 * Inspecting images: format by magic (raw or qcow2), virtual size, a qcow2's recorded backing file and
 * features, and the backing chain of a qcow2 when its files are present locally.
 *
 * It refuses what an overlay cannot safely be put on (encrypted images, external data files, images marked
 * corrupt, unknown incompatible features, a recorded backing format that does not match the file), with an
 * error that says which file and why.
 */
import { open, realpath, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { DiskBuilderError } from './errors.js';
import { detectImageFormat, type ImageFormat } from './image-format.js';
import {
  CompatibleFeature,
  AutoclearFeature,
  decodeHeader,
  type DecodedHeader,
  HeaderExtensionType,
  IncompatibleFeature,
  KNOWN_INCOMPATIBLE_MASK,
  QEMU_FEATURE_NAMES,
  type FeatureName,
  type FeatureType,
} from './qcow2-header.js';

export interface Qcow2Details {
  version: number;
  /** "0.10" for version 2, "1.1" for version 3, as qemu-img info calls them. */
  compat: '0.10' | '1.1';
  refcountBits: number;
  compressionType: 'zlib' | 'zstd' | `unknown(${number})`;
  /** Names of the set feature bits (from the image's feature name table, else QEMU's names). */
  incompatibleFeatures: string[];
  compatibleFeatures: string[];
  autoclearFeatures: string[];
  dirty: boolean;
  /** Incompatible bit 1: QEMU found the metadata corrupt (qemu-img info shows `corrupt: true`). */
  corrupt: boolean;
  lazyRefcounts: boolean;
  extendedL2: boolean;
  snapshots: number;
  /** crypt_method 1 (qemu-img info: `encrypt: format: aes`); only an inspection for 'info' describes one. */
  encryption?: 'aes';
  /** The external data file (header extension 0x44415441) and whether it is raw (autoclear bit 1). */
  dataFile?: { name: string; raw: boolean };
}

export interface ImageInfo {
  /** The path as given (or, in a chain, as resolved). */
  path: string;
  format: ImageFormat;
  /** The size the guest sees, in bytes. */
  virtualSize: number;
  /** The file's length in bytes. */
  fileSize: number;
  /** Bytes the file occupies on disk (st_blocks * 512, what qemu-img calls actual-size). */
  allocatedSize: number;
  clusterSize?: number;
  /** The backing file as recorded in a qcow2 header: the name exactly as written, and its recorded format. */
  backing?: { file: string; format?: string };
  qcow2?: Qcow2Details;
}

/**
 * What an inspection is for. 'backing' (the default) refuses what an overlay cannot safely be put on: an image
 * marked corrupt, tables past the end of the file. 'info' describes what `qemu-img info` opens (a marked-corrupt
 * image shows `corrupt: true`) and refuses what qemu-img refuses to open, with its reason.
 */
export type InspectPurpose = 'backing' | 'info';

export interface InspectOptions {
  purpose?: InspectPurpose;
  /** Read the image as this format instead of probing its magic (qemu-img's -f): qcow2 on another file fails. */
  format?: ImageFormat;
}

const bit = (mask: bigint, n: number) => ((mask >> BigInt(n)) & 1n) === 1n;

/** The names of the set bits of `mask` (from the image's feature name table, else QEMU's names). */
function featureNames(decoded: DecodedHeader, mask: bigint, type: FeatureType): string[] {
  const table = decoded.featureNames.length > 0 ? decoded.featureNames : QEMU_FEATURE_NAMES;
  const names = NAMES_BY_TYPE(table, type);
  const fallback = NAMES_BY_TYPE(QEMU_FEATURE_NAMES, type);
  const out: string[] = [];
  for (let n = 0; n < 64; n++) if (bit(mask, n)) out.push(names.get(n) ?? fallback.get(n) ?? `unknown ${type} bit ${n}`);
  return out;
}

const NAMES_BY_TYPE = (table: readonly FeatureName[], type: FeatureType) =>
  new Map(table.filter((f) => f.type === type).map((f) => [f.bit, f.name]));

export async function inspectImage(path: string, options: InspectOptions = {}): Promise<ImageInfo> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'DISK_NOT_FOUND' : 'DISK_READ_FAILED';
    throw new DiskBuilderError(code, `cannot open image ${path}: ${(error as Error).message}`, { where: path, cause: error });
  }
  try {
    const st = await handle.stat();
    const fileSize = st.size;
    const allocatedSize = st.blocks * 512;
    const first = await readAt(handle, 0, Math.min(fileSize, 4096), path);
    // QEMU's block layer counts whole 512-byte sectors: a raw file of 999 bytes is a 1024-byte disk.
    if ((options.format ?? detectImageFormat(first)) === 'raw') return { path, format: 'raw', virtualSize: Math.ceil(fileSize / 512) * 512, fileSize, allocatedSize };
    // The whole first cluster: extensions and the backing file name live there ("Header extensions").
    const clusterBits = first.length >= 24 ? new DataView(first.buffer, first.byteOffset).getUint32(20) : 0;
    const clusterSize = clusterBits >= 9 && clusterBits <= 21 ? 2 ** clusterBits : 0;
    const head = clusterSize > first.length ? await readAt(handle, 0, Math.min(fileSize, clusterSize), path) : first;
    return { ...describeQcow2(path, head, fileSize, options.purpose), allocatedSize };
  } finally {
    await handle.close();
  }
}

/** Pure part of inspectImage for a qcow2 file: `head` holds the first cluster (or the whole, shorter, file). */
export function describeQcow2(path: string, head: Uint8Array, fileSize: number, purpose: InspectPurpose = 'backing'): Omit<ImageInfo, 'allocatedSize'> {
  const decoded = decodeHeader(head, path);
  const h = decoded.fields;
  const clusterSize = 2 ** h.clusterBits;

  const setBits = (mask: bigint, type: FeatureType) => featureNames(decoded, mask, type);

  // "Header" byte 32-35: crypt_method, 0 for no encryption. qemu-img info describes an AES image (a LUKS one with
  // its LUKS header's details, which this reader does not decode: refused).
  if (h.cryptMethod !== 0 && !(purpose === 'info' && h.cryptMethod === 1)) {
    const method = h.cryptMethod === 1 ? 'AES' : h.cryptMethod === 2 ? 'LUKS' : `method ${h.cryptMethod}`;
    throw new DiskBuilderError('DISK_ENCRYPTED', `${path}: the qcow2 image is encrypted (${method}); an overlay cannot be put on it without its key`, { where: path });
  }
  // "Header" byte 72-79: unknown incompatible bits mean "fail to open". QEMU names each from the image's feature
  // name table, else "Unknown incompatible feature: <mask in hex>" (report_unsupported_feature).
  const unknown = h.incompatibleFeatures & ~KNOWN_INCOMPATIBLE_MASK;
  if (unknown !== 0n) {
    const own = NAMES_BY_TYPE(decoded.featureNames, 'incompatible');
    const named: string[] = [];
    for (let n = 0; n < 64; n++) if ((unknown >> BigInt(n)) & 1n) named.push(own.get(n) ?? `Unknown incompatible feature: ${(1n << BigInt(n)).toString(16)}`);
    throw new DiskBuilderError(
      'DISK_UNKNOWN_INCOMPATIBLE_FEATURES',
      `${path}: Unsupported qcow2 feature(s): ${named.join(', ')} (incompatible features this reader does not know: ${setBits(unknown, 'incompatible').join(', ')})`,
      { where: path },
    );
  }
  if (purpose === 'backing' && bit(h.incompatibleFeatures, IncompatibleFeature.EXTERNAL_DATA_FILE)) {
    throw new DiskBuilderError('DISK_EXTERNAL_DATA_FILE', `${path}: the qcow2 image keeps its data in an external data file; refusing to back an overlay with it`, { where: path });
  }
  if (purpose === 'backing' && bit(h.incompatibleFeatures, IncompatibleFeature.CORRUPT)) {
    throw new DiskBuilderError('DISK_MARKED_CORRUPT', `${path}: the qcow2 image is marked corrupt (incompatible feature bit 1); run qemu-img check -r all`, { where: path });
  }
  // "Cluster mapping": the L1 table must map the whole virtual disk (an L2 table maps cluster_size / 8 clusters,
  // half as many with extended L2 entries); QEMU refuses smaller ones.
  const l2Entries = clusterSize / (bit(h.incompatibleFeatures, IncompatibleFeature.EXTENDED_L2) ? 16 : 8);
  const l1Needed = Math.ceil(h.size / (clusterSize * l2Entries));
  if (h.l1Size < l1Needed) {
    throw new DiskBuilderError('DISK_CORRUPT_HEADER', `${path}: L1 table is too small (l1_size ${h.l1Size} cannot map a virtual size of ${h.size}; needs ${l1Needed})`, { where: path });
  }
  // QEMU reads what lies past the end of a file as zeros and opens such an image (qemu-img info describes it); an
  // overlay must not be put on it.
  if (purpose === 'info') return describedQcow2(path, decoded, fileSize);
  // The tables the header points at must lie within the file.
  const l1End = h.l1TableOffset + h.l1Size * 8;
  if (h.l1Size > 0 && l1End > fileSize) {
    throw new DiskBuilderError('DISK_TRUNCATED', `${path}: the L1 table (bytes ${h.l1TableOffset}-${l1End}) lies past the end of the file (${fileSize} bytes)`, { where: path });
  }
  const refcountEnd = h.refcountTableOffset + h.refcountTableClusters * clusterSize;
  if (h.refcountTableClusters === 0 || refcountEnd > fileSize) {
    throw new DiskBuilderError(
      'DISK_TRUNCATED',
      `${path}: the refcount table (bytes ${h.refcountTableOffset}-${refcountEnd}) is empty or lies past the end of the file (${fileSize} bytes)`,
      { where: path },
    );
  }

  return describedQcow2(path, decoded, fileSize);
}

function describedQcow2(path: string, decoded: DecodedHeader, fileSize: number): Omit<ImageInfo, 'allocatedSize'> {
  const h = decoded.fields;
  const clusterSize = 2 ** h.clusterBits;
  const setBits = (mask: bigint, type: FeatureType) => featureNames(decoded, mask, type);
  const compression = h.compressionType === 0 ? 'zlib' : h.compressionType === 1 ? 'zstd' : (`unknown(${h.compressionType})` as const);
  const info: Omit<ImageInfo, 'allocatedSize'> = {
    path,
    format: 'qcow2',
    virtualSize: h.size,
    fileSize,
    clusterSize,
    qcow2: {
      version: h.version,
      compat: h.version === 2 ? '0.10' : '1.1',
      refcountBits: 2 ** h.refcountOrder,
      compressionType: compression,
      incompatibleFeatures: setBits(h.incompatibleFeatures, 'incompatible'),
      compatibleFeatures: setBits(h.compatibleFeatures, 'compatible'),
      autoclearFeatures: setBits(h.autoclearFeatures, 'autoclear'),
      dirty: bit(h.incompatibleFeatures, IncompatibleFeature.DIRTY),
      corrupt: bit(h.incompatibleFeatures, IncompatibleFeature.CORRUPT),
      lazyRefcounts: bit(h.compatibleFeatures, CompatibleFeature.LAZY_REFCOUNTS),
      extendedL2: bit(h.incompatibleFeatures, IncompatibleFeature.EXTENDED_L2),
      snapshots: h.nbSnapshots,
    },
  };
  if (h.cryptMethod === 1) info.qcow2!.encryption = 'aes';
  const dataFile = decoded.extensions.find((e) => e.type === HeaderExtensionType.EXTERNAL_DATA_FILE);
  if (bit(h.incompatibleFeatures, IncompatibleFeature.EXTERNAL_DATA_FILE) && dataFile !== undefined) {
    info.qcow2!.dataFile = { name: Buffer.from(dataFile.data).toString('utf8'), raw: bit(h.autoclearFeatures, AutoclearFeature.RAW_EXTERNAL_DATA) };
  }
  if (decoded.backingFile !== undefined) {
    info.backing = { file: decoded.backingFile, ...(decoded.backingFormat !== undefined ? { format: decoded.backingFormat } : {}) };
  }
  return info;
}

export interface BackingChain {
  /** The image itself first, then each backing file present locally, in order. */
  images: ImageInfo[];
  /** The first backing file that is not present locally (the chain stops there), if any. */
  missing?: { file: string; path: string; format?: string };
}

/** How deep a chain may go before we call it a loop or an abuse. */
export const MAX_CHAIN_DEPTH = 64;

/**
 * Follows a qcow2's backing chain. A relative backing name is resolved against the folder of the image that
 * records it (as QEMU does). Each recorded format must match the file's magic.
 */
export async function inspectChain(path: string, options: InspectOptions = {}): Promise<BackingChain> {
  const images: ImageInfo[] = [];
  const seen = new Set<string>();
  let current = path;
  let expectedFormat: string | undefined;
  let recordedBy: string | undefined;
  for (;;) {
    if (images.length >= MAX_CHAIN_DEPTH) {
      throw new DiskBuilderError('DISK_CHAIN_TOO_DEEP', `${path}: the backing chain is deeper than ${MAX_CHAIN_DEPTH} images`, { where: path });
    }
    const real = await realpath(current).catch(() => undefined);
    if (real !== undefined) {
      if (seen.has(real)) throw new DiskBuilderError('DISK_BACKING_LOOP', `${recordedBy ?? path}: the backing chain loops back to ${current}`, { where: recordedBy ?? path });
      seen.add(real);
    }
    // -f names the format of the image given, not of its backing files (their format is recorded or probed).
    const info = await inspectImage(current, { ...(options.purpose ? { purpose: options.purpose } : {}), ...(images.length === 0 && options.format ? { format: options.format } : {}) });
    if (expectedFormat !== undefined && expectedFormat !== info.format) {
      throw new DiskBuilderError(
        'DISK_BACKING_FORMAT_MISMATCH',
        `${recordedBy}: records backing format '${expectedFormat}' but ${current} is ${info.format}`,
      );
    }
    images.push(info);
    if (!info.backing) return { images };

    const next = localBackingPath(info.backing.file, current);
    const format = info.backing.format;
    if (format !== undefined && format !== 'raw' && format !== 'qcow2') {
      throw new DiskBuilderError('DISK_BACKING_FORMAT_MISMATCH', `${current}: backing format '${format}' is neither raw nor qcow2; cannot inspect it`, { where: current });
    }
    const present = await stat(next).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw new DiskBuilderError('DISK_READ_FAILED', `cannot stat backing file ${next}: ${error.message}`, { where: next, cause: error });
      },
    );
    if (!present) return { images, missing: { file: info.backing.file, path: next, ...(format !== undefined ? { format } : {}) } };
    expectedFormat = format;
    recordedBy = current;
    current = next;
  }
}

/**
 * The local path of a backing file name recorded in `overlay`, combined as QEMU's path_combine does: an absolute
 * name as is, a relative one appended to the overlay's folder as written ("vms/vm.qcow2" + "../b.raw" gives
 * "vms/../b.raw", what qemu-img info shows as full-backing-filename). A name with a protocol prefix before its
 * first slash ("nbd:...", "json:{...}") is not a local file, as QEMU's path_has_protocol decides; "file:" is
 * stripped.
 */
export function localBackingPath(file: string, overlay: string): string {
  let name = file;
  if (name.startsWith('file:')) name = name.slice('file:'.length);
  const colon = name.indexOf(':');
  const slash = name.indexOf('/');
  if (colon >= 0 && (slash < 0 || colon < slash)) {
    throw new DiskBuilderError('DISK_BACKING_NOT_LOCAL', `${overlay}: backing file '${file}' uses a protocol, not a local path`, { where: overlay });
  }
  if (isAbsolute(name)) return name;
  return overlay.slice(0, overlay.lastIndexOf('/') + 1) + name;
}

async function readAt(handle: import('node:fs/promises').FileHandle, position: number, length: number, path: string): Promise<Uint8Array> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  try {
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
  } catch (error) {
    throw new DiskBuilderError('DISK_READ_FAILED', `cannot read ${path}: ${(error as Error).message}`, { where: path, cause: error });
  }
  return buffer.subarray(0, done);
}
