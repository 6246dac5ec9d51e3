/**
 * Errors of guest-script. Every error has a stable `code` (for programs) and a message that says what is wrong
 * and where (for people); `path` points into the input (`network.routes[1].to`, `context/post-install`).
 */
export type GuestScriptErrorCode =
  | 'GUEST_INVALID_CONTEXT'
  | 'GUEST_INVALID_OPTION'
  | 'GUEST_INVALID_TREE'
  | 'GUEST_NOT_A_CONTEXT_FOLDER'
  | 'GUEST_OUTPUT_EXISTS'
  | 'GUEST_NOT_A_ROOT_FOLDER'
  | 'GUEST_INSTALL_FAILED';

export class GuestScriptError extends Error {
  override readonly name = 'GuestScriptError';
  constructor(
    readonly code: GuestScriptErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}
