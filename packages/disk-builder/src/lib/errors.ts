/**
 * Errors of this package: one class, a stable `code` a caller can switch on, and a message that says
 * what went wrong and where (which file, which field).
 */
export type DiskBuilderErrorCode =
  // createOverlay input
  | 'SIZE_ZERO'
  | 'SIZE_TOO_LARGE'
  | 'SIZE_INVALID'
  | 'CLUSTER_SIZE_INVALID'
  | 'BACKING_PATH_EMPTY'
  | 'BACKING_PATH_TOO_LONG'
  | 'BACKING_FORMAT_UNSUPPORTED'
  | 'BACKING_IS_TARGET'
  | 'WRITE_FAILED'
  // inspection
  | 'NOT_FOUND'
  | 'READ_FAILED'
  | 'TRUNCATED'
  | 'CORRUPT_HEADER'
  | 'UNSUPPORTED_VERSION'
  | 'ENCRYPTED'
  | 'EXTERNAL_DATA_FILE'
  | 'MARKED_CORRUPT'
  | 'UNKNOWN_INCOMPATIBLE_FEATURES'
  | 'BACKING_NOT_LOCAL'
  | 'BACKING_FORMAT_MISMATCH'
  | 'BACKING_LOOP'
  | 'CHAIN_TOO_DEEP';

export class DiskBuilderError extends Error {
  override readonly name = 'DiskBuilderError';
  constructor(
    readonly code: DiskBuilderErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
