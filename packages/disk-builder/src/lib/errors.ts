/**
 * Errors of this package: one class, a VmctxError with a stable `DISK_` code a caller can switch on, the kind
 * the CLI turns into an exit code, and a message that says what went wrong and where (which file, which field).
 */
import { catalogueCodes, VmctxError, type ErrorCatalogue } from '@vmctx/contract';

/** Every code of this package and its kind: bad input (sizes, paths, unusable images) or a failed read or write. */
export const DISK_ERRORS = {
  // createOverlay input
  DISK_SIZE_ZERO: 'input',
  DISK_SIZE_TOO_LARGE: 'input',
  DISK_SIZE_INVALID: 'input',
  DISK_CLUSTER_SIZE_INVALID: 'input',
  DISK_BACKING_PATH_EMPTY: 'input',
  DISK_BACKING_PATH_TOO_LONG: 'input',
  DISK_BACKING_FORMAT_UNSUPPORTED: 'input',
  DISK_BACKING_IS_TARGET: 'input',
  DISK_WRITE_FAILED: 'io',
  // inspection
  DISK_NOT_FOUND: 'input',
  DISK_READ_FAILED: 'io',
  DISK_TRUNCATED: 'input',
  DISK_CORRUPT_HEADER: 'input',
  DISK_UNSUPPORTED_VERSION: 'input',
  DISK_ENCRYPTED: 'input',
  DISK_EXTERNAL_DATA_FILE: 'input',
  DISK_MARKED_CORRUPT: 'input',
  DISK_UNKNOWN_INCOMPATIBLE_FEATURES: 'input',
  DISK_BACKING_NOT_LOCAL: 'input',
  DISK_BACKING_FORMAT_MISMATCH: 'input',
  DISK_BACKING_LOOP: 'input',
  DISK_CHAIN_TOO_DEEP: 'input',
} as const satisfies ErrorCatalogue<`DISK_${string}`>;

export type DiskBuilderErrorCode = keyof typeof DISK_ERRORS;

export const DISK_ERROR_CODES: readonly DiskBuilderErrorCode[] = catalogueCodes(DISK_ERRORS);

export class DiskBuilderError extends VmctxError<DiskBuilderErrorCode> {
  override readonly name = 'DiskBuilderError';
  constructor(code: DiskBuilderErrorCode, message: string, options: { where?: string; cause?: unknown } = {}) {
    super(code, DISK_ERRORS[code], message, options);
  }
}
