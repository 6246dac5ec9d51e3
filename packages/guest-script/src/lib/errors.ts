/**
 * Errors of guest-script: a VmctxError with a stable `GUEST_` code (for programs), its kind, and a message that
 * says what is wrong and where (for people); `path` (the same as `where`) points into the input
 * (`network.routes[1].to`, `context/post-install`).
 */
import { catalogueCodes, errorCatalogue, errorClass } from '@vmctx/contract';

/**
 * Every code of this package by kind. An output folder that holds files is a conflict (nothing is overwritten);
 * GUEST_INSTALL_FAILED, an installer that cannot be generated (the script holds its here-document delimiter), a bug.
 */
export const GUEST_ERRORS = errorCatalogue({
  input: ['GUEST_INVALID_CONTEXT', 'GUEST_EMPTY_CONTEXT', 'GUEST_INVALID_OPTION', 'GUEST_INVALID_TREE', 'GUEST_NOT_A_CONTEXT_FOLDER', 'GUEST_NOT_A_ROOT_FOLDER', 'GUEST_CLOUD_CONFIG_INVALID', 'GUEST_CLOUD_CONFIG_CONFLICT'],
  io: ['GUEST_WRITE_FAILED'],
  conflict: ['GUEST_OUTPUT_EXISTS'],
  internal: ['GUEST_INSTALL_FAILED'],
});

export type GuestScriptErrorCode = keyof typeof GUEST_ERRORS;
export const GUEST_ERROR_CODES: readonly GuestScriptErrorCode[] = catalogueCodes(GUEST_ERRORS);

export class GuestScriptError extends errorClass('GuestScriptError', GUEST_ERRORS) {
  get path(): string | undefined {
    return this.where;
  }
}
