/**
 * Errors of this package: one class, a VmctxError with a stable `DISK_` code a caller can switch on, the kind
 * the CLI turns into an exit code, and a message that says what went wrong and where (which file, which field).
 */
import { catalogueCodes, errorCatalogue, errorClass } from '@vmctx/contract';

/** Every code of this package by kind: bad input (sizes, paths, unusable images) or a failed read or write. */
export const DISK_ERRORS = errorCatalogue({
  input: [
    // createOverlay input
    'DISK_SIZE_ZERO', 'DISK_SIZE_TOO_LARGE', 'DISK_SIZE_INVALID', 'DISK_CLUSTER_SIZE_INVALID',
    'DISK_BACKING_PATH_EMPTY', 'DISK_BACKING_PATH_TOO_LONG', 'DISK_BACKING_FORMAT_UNSUPPORTED', 'DISK_BACKING_IS_TARGET',
    'DISK_TARGET_NOT_FILE',
    // inspection
    'DISK_NOT_FOUND', 'DISK_TRUNCATED', 'DISK_CORRUPT_HEADER', 'DISK_UNSUPPORTED_VERSION',
    'DISK_ENCRYPTED', 'DISK_EXTERNAL_DATA_FILE', 'DISK_MARKED_CORRUPT', 'DISK_UNKNOWN_INCOMPATIBLE_FEATURES',
    'DISK_BACKING_NOT_LOCAL', 'DISK_BACKING_FORMAT_MISMATCH', 'DISK_BACKING_LOOP', 'DISK_CHAIN_TOO_DEEP',
  ],
  io: ['DISK_WRITE_FAILED', 'DISK_READ_FAILED'],
});

export type DiskBuilderErrorCode = keyof typeof DISK_ERRORS;
export const DISK_ERROR_CODES: readonly DiskBuilderErrorCode[] = catalogueCodes(DISK_ERRORS);

/** `where` is the file. */
export class DiskBuilderError extends errorClass('DiskBuilderError', DISK_ERRORS) {}
