/**
 * Errors of the command line itself (the packages' errors pass through as they are): VmctxErrors with a stable
 * `CLI_` code and a kind, like every other error of vmctx.
 */
import { catalogueCodes, errorCatalogue, errorClass } from '@vmctx/contract';

/**
 * Input: CLI_USAGE (flags that do not go together or are missing, beyond what the option parser checks),
 * CLI_SIZE_REQUIRED (`disk create -u` without a SIZE), CLI_BACKING_NOT_FOUND (`disk create` without -u, and the
 * backing file is not here to be opened), CLI_NOT_FOUND and CLI_NOT_A_FILE (an input named on the command line),
 * CLI_EXISTING_SYNTAX (`template lint --existing`), CLI_OUTPUT_IS_INPUT (an output that is one of the inputs). I/O: CLI_READ_FAILED (an input that cannot be read), CLI_WRITE_FAILED (stdout cannot be written: ENOSPC).
 */
export const CLI_ERRORS = errorCatalogue({
  input: ['CLI_USAGE', 'CLI_SIZE_REQUIRED', 'CLI_BACKING_NOT_FOUND', 'CLI_NOT_FOUND', 'CLI_NOT_A_FILE', 'CLI_EXISTING_SYNTAX', 'CLI_OUTPUT_IS_INPUT'],
  io: ['CLI_READ_FAILED', 'CLI_WRITE_FAILED'],
});

export type CliErrorCode = keyof typeof CLI_ERRORS;
export const CLI_ERROR_CODES: readonly CliErrorCode[] = catalogueCodes(CLI_ERRORS);

export class CliError extends errorClass('CliError', CLI_ERRORS) {}

/** Bad usage the option parser cannot see: exit 2, as commander's own usage errors. */
export const usage = (message: string): CliError => new CliError('CLI_USAGE', message);
