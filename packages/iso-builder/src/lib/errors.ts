/**
 * Errors of iso-builder: one class, a VmctxError with a stable `ISO_` code, the kind the CLI turns into an exit
 * code, and `where` (the file or tree path at fault, when there is one). Everything is checked before the
 * first byte is written, so an input error leaves no file behind.
 */
import { catalogueCodes, errorCatalogue, errorClass } from '@vmctx/contract';

/** Every code of this package by kind: what each means is in the deployer's README table. */
export const ISO_ERRORS = errorCatalogue({
  input: [
    // options
    'ISO_BAD_LABEL', 'ISO_BAD_OPTION',
    // the tree and its names
    'ISO_BAD_NAME', 'ISO_DUPLICATE_NAME', 'ISO_BAD_TREE', 'ISO_NAME_COLLISION', 'ISO_JOLIET_NAME',
    // ECMA-119's limits
    'ISO_TOO_MANY_DIRECTORIES', 'ISO_TOO_DEEP', 'ISO_TOO_LARGE',
    // a file changed size between the layout and its copy into the image
    'ISO_FILE_CHANGED',
  ],
  io: ['ISO_READ_FAILED', 'ISO_WRITE_FAILED'],
});

export type IsoErrorCode = keyof typeof ISO_ERRORS;
export const ISO_ERROR_CODES: readonly IsoErrorCode[] = catalogueCodes(ISO_ERRORS);

export class IsoBuilderError extends errorClass('IsoBuilderError', ISO_ERRORS) {
  /** Every path at fault, for errors about several (ISO_TOO_DEEP); `where` is the first. */
  readonly paths: string[];
  constructor(code: IsoErrorCode, message: string, options: { where?: string; cause?: unknown; paths?: string[] } = {}) {
    super(code, message, { where: options.where ?? options.paths?.[0], cause: options.cause });
    this.paths = options.paths ?? [];
  }

  /** The file an I/O error is about (IsoWriteError's field): `where`. */
  get path(): string | undefined {
    return this.where;
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
