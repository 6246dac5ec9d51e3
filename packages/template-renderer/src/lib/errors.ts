/**
 * Errors of the template renderer: one class (and SpecError, its form for an invalid spec), a VmctxError with a
 * stable `TEMPLATE_` code (for programs), its kind, and a message that says what is wrong and where (for
 * people). `path` (also `where`) points into the input: a spec path such as `nics[0].mac`, or an XML path such as
 * `/domain/devices/disk[2]`.
 */
import { catalogueCodes, VmctxError, type ErrorCatalogue } from '@vmctx/contract';

/** Every code of this package and its kind: all are bad input. */
export const TEMPLATE_ERRORS = {
  TEMPLATE_INVALID_MAC: 'input',
  TEMPLATE_INVALID_IPV4: 'input',
  TEMPLATE_INVALID_IDENTITY: 'input',
  TEMPLATE_SPEC_SYNTAX: 'input',
  TEMPLATE_INVALID_SPEC: 'input',
  TEMPLATE_MALFORMED_XML: 'input',
  TEMPLATE_TOO_LARGE: 'input',
  TEMPLATE_FORBIDDEN_DTD: 'input',
  TEMPLATE_NOT_A_DOMAIN: 'input',
  TEMPLATE_REWRITE_FAILED: 'input',
} as const satisfies ErrorCatalogue<`TEMPLATE_${string}`>;

export type TemplateErrorCode = keyof typeof TEMPLATE_ERRORS;

export const TEMPLATE_ERROR_CODES: readonly TemplateErrorCode[] = catalogueCodes(TEMPLATE_ERRORS);

export class TemplateError extends VmctxError<TemplateErrorCode> {
  override readonly name: string = 'TemplateError';
  constructor(
    code: TemplateErrorCode,
    message: string,
    readonly path?: string,
    options: { cause?: unknown } = {},
  ) {
    super(code, TEMPLATE_ERRORS[code], message, { where: path, cause: options.cause });
  }
}
