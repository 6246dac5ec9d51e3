/**
 * Errors of guest-script: a VmctxError with a stable `GUEST_` code (for programs), its kind, and a message that
 * says what is wrong and where (for people); `path` (also `where`) points into the input
 * (`network.routes[1].to`, `context/post-install`).
 */
import { catalogueCodes, VmctxError, type ErrorCatalogue } from '@vmctx/contract';

/** Every code of this package and its kind. */
export const GUEST_ERRORS = {
  GUEST_INVALID_CONTEXT: 'input',
  GUEST_INVALID_OPTION: 'input',
  GUEST_INVALID_TREE: 'input',
  GUEST_NOT_A_CONTEXT_FOLDER: 'input',
  /** The output folder exists and holds files: what is there is not overwritten. */
  GUEST_OUTPUT_EXISTS: 'conflict',
  GUEST_NOT_A_ROOT_FOLDER: 'input',
  /** The installer could not be generated (the script holds its here-document delimiter): a bug. */
  GUEST_INSTALL_FAILED: 'internal',
} as const satisfies ErrorCatalogue<`GUEST_${string}`>;

export type GuestScriptErrorCode = keyof typeof GUEST_ERRORS;

export const GUEST_ERROR_CODES: readonly GuestScriptErrorCode[] = catalogueCodes(GUEST_ERRORS);

export class GuestScriptError extends VmctxError<GuestScriptErrorCode> {
  override readonly name = 'GuestScriptError';
  constructor(
    code: GuestScriptErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(code, GUEST_ERRORS[code], message, { where: path });
  }
}
