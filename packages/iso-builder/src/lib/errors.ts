/**
 * Errors of iso-builder: one class, a VmctxError with a stable `ISO_` code, the kind the CLI turns into an exit
 * code, and `where` (the file or tree path at fault, when there is one). Everything is checked before the
 * first byte is written, so an input error leaves no file behind.
 */
import { catalogueCodes, VmctxError, type ErrorCatalogue } from '@vmctx/contract';

/** Every code of this package and its kind. */
export const ISO_ERRORS = {
  /** The volume label breaks the context CD's label rule. */
  ISO_BAD_LABEL: 'input',
  /** An option (the epoch, SOURCE_DATE_EPOCH) is not usable. */
  ISO_BAD_OPTION: 'input',
  /** A file name that is empty, `.`, `..`, has `/` or NUL, is not Unicode, or is over 255 bytes. */
  ISO_BAD_NAME: 'input',
  /** Two entries of one directory have the same name, or a file stands where a directory is needed. */
  ISO_DUPLICATE_NAME: 'input',
  /** The source tree cannot be used: missing, unreadable, or holding a socket, FIFO or device. */
  ISO_BAD_TREE: 'input',
  /** No free 8.3 name (ECMA-119 7.5) is left for a file. */
  ISO_NAME_COLLISION: 'input',
  /** No free Joliet name is left for a file. */
  ISO_JOLIET_NAME: 'input',
  /** More directories than a path table numbers (ECMA-119 9.4.5). */
  ISO_TOO_MANY_DIRECTORIES: 'input',
  /** Directories deeper than ECMA-119's 8 levels, without deepDirectories: 'allow'. */
  ISO_TOO_DEEP: 'input',
  /** More than 2^32-1 sectors. */
  ISO_TOO_LARGE: 'input',
  /** A file changed size between the layout and its copy into the image. */
  ISO_FILE_CHANGED: 'input',
  /** A file of the tree could not be read. */
  ISO_READ_FAILED: 'io',
  /** The image could not be written. */
  ISO_WRITE_FAILED: 'io',
} as const satisfies ErrorCatalogue<`ISO_${string}`>;

export type IsoErrorCode = keyof typeof ISO_ERRORS;

export const ISO_ERROR_CODES: readonly IsoErrorCode[] = catalogueCodes(ISO_ERRORS);

export class IsoBuilderError extends VmctxError<IsoErrorCode> {
  override readonly name = 'IsoBuilderError';
  /** The file an I/O error is about (also in `where`). */
  readonly path: string | undefined;
  /** Every path at fault, for errors about several (ISO_TOO_DEEP). */
  readonly paths: string[];
  constructor(code: IsoErrorCode, message: string, options: { where?: string; cause?: unknown; paths?: string[] } = {}) {
    const paths = options.paths ?? [];
    super(code, ISO_ERRORS[code], message, { where: options.where ?? paths[0], cause: options.cause });
    this.path = this.where;
    this.paths = paths;
  }
}

// The eight classes this one replaces, kept as names of it so that callers' `instanceof` still holds.
/** @deprecated IsoBuilderError with code ISO_BAD_LABEL. */
export const VolumeLabelError = IsoBuilderError;
/** @deprecated IsoBuilderError with code ISO_BAD_OPTION. */
export const IsoOptionError = IsoBuilderError;
/** @deprecated IsoBuilderError with code ISO_TOO_DEEP or ISO_TOO_LARGE. */
export const LayoutError = IsoBuilderError;
/** @deprecated IsoBuilderError with code ISO_NAME_COLLISION. */
export const IsoNameError = IsoBuilderError;
/** @deprecated IsoBuilderError with code ISO_JOLIET_NAME. */
export const JolietNameError = IsoBuilderError;
/** @deprecated IsoBuilderError with code ISO_TOO_MANY_DIRECTORIES. */
export const PathTableError = IsoBuilderError;
/** @deprecated IsoBuilderError with code ISO_BAD_NAME, ISO_DUPLICATE_NAME or ISO_BAD_TREE. */
export const TreeError = IsoBuilderError;
/** @deprecated IsoBuilderError with code ISO_READ_FAILED, ISO_FILE_CHANGED or ISO_WRITE_FAILED. */
export const IsoWriteError = IsoBuilderError;
