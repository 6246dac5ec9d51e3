/**
 * Errors of the template renderer: one class (and SpecError, its form for an invalid spec), a VmctxError with a
 * stable `TEMPLATE_` code (for programs), its kind, and a message that says what is wrong and where (for
 * people). `path` (the same as `where`) points into the input: a spec path such as `nics[0].mac`, or an XML path
 * such as `/domain/devices/disk[2]`.
 */
import { catalogueCodes, errorCatalogue, errorClass } from '@vmctx/contract';

/** Every code of this package by kind: all are bad input. */
export const TEMPLATE_ERRORS = errorCatalogue({
  input: [
    // identities
    'TEMPLATE_INVALID_MAC', 'TEMPLATE_INVALID_IPV4', 'TEMPLATE_INVALID_IDENTITY',
    // specs
    'TEMPLATE_SPEC_SYNTAX', 'TEMPLATE_INVALID_SPEC',
    // native templates
    'TEMPLATE_MALFORMED_XML', 'TEMPLATE_TOO_LARGE', 'TEMPLATE_FORBIDDEN_DTD', 'TEMPLATE_NOT_A_DOMAIN', 'TEMPLATE_REWRITE_FAILED',
  ],
});

export type TemplateErrorCode = keyof typeof TEMPLATE_ERRORS;
export const TEMPLATE_ERROR_CODES: readonly TemplateErrorCode[] = catalogueCodes(TEMPLATE_ERRORS);

export class TemplateError extends errorClass('TemplateError', TEMPLATE_ERRORS) {
  get path(): string | undefined {
    return this.where;
  }
}
