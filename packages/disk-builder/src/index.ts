export { detectImageFormat, QCOW2_MAGIC, type ImageFormat } from './lib/image-format.js';
export { DISK_ERROR_CODES, DISK_ERRORS, DiskBuilderError, type DiskBuilderErrorCode } from './lib/errors.js';
export { createOverlay, type CreateOverlayOptions, type CreatedOverlay } from './lib/qcow2-overlay.js';
export { writeOverlayTo } from './lib/qcow2-overlay-stream.js';
export {
  layoutOverlay,
  BACKING_FORMATS,
  DEFAULT_CLUSTER_BITS,
  MIN_CLUSTER_BITS,
  MAX_CLUSTER_BITS,
  type BackingFormat,
  type OverlayOptions,
  type OverlayLayout,
} from './lib/qcow2-overlay-layout.js';
export { decodeHeader, QEMU_FEATURE_NAMES, type DecodedHeader, type Qcow2HeaderFields, type FeatureName } from './lib/qcow2-header.js';
export {
  inspectImage,
  inspectChain,
  describeQcow2,
  localBackingPath,
  MAX_CHAIN_DEPTH,
  type ImageInfo,
  type Qcow2Details,
  type BackingChain,
  type InspectOptions,
  type InspectPurpose,
} from './lib/inspect.js';
export { sha256File, sha256Stream, DEFAULT_HASH_CHUNK, type Sha256Options } from './lib/sha256.js';
export { toQemuImgInfo, type QemuImgInfo } from './lib/qemu-info.js';
export { parseQemuSize, formatQemuSize } from './lib/size.js';
