/**
 * Errors of the template renderer. Every error has a stable `code` (for programs) and a message that says what
 * is wrong and where (for people). `path` points into the input: a spec path such as `nics[0].mac`, or an XML
 * path such as `/domain/devices/disk[2]`.
 */
export type TemplateErrorCode =
  | 'TEMPLATE_INVALID_MAC'
  | 'TEMPLATE_INVALID_IPV4'
  | 'TEMPLATE_INVALID_IDENTITY'
  | 'TEMPLATE_INVALID_SPEC'
  | 'TEMPLATE_MALFORMED_XML'
  | 'TEMPLATE_TOO_LARGE'
  | 'TEMPLATE_FORBIDDEN_DTD'
  | 'TEMPLATE_NOT_A_DOMAIN'
  | 'TEMPLATE_REWRITE_FAILED';

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  constructor(
    readonly code: TemplateErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}
