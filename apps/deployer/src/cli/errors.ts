/**
 * Errors of the command line itself (the packages' errors pass through as they are): VmctxErrors with a stable
 * `CLI_` code and a kind, like every other error of vmctx.
 */
import { catalogueCodes, VmctxError, type ErrorCatalogue } from '@vmctx/contract';

export const CLI_ERRORS = {
  /** Flags that do not go together or are missing, beyond what the option parser checks itself. */
  CLI_USAGE: 'input',
  /** `disk create -u` without a SIZE. */
  CLI_SIZE_REQUIRED: 'input',
  /** `disk create` without -u, and the backing file is not here to be opened. */
  CLI_BACKING_NOT_FOUND: 'input',
  /** An input file or folder named on the command line is not there. */
  CLI_NOT_FOUND: 'input',
  /** An input that must be a file is something else. */
  CLI_NOT_A_FILE: 'input',
  /** An input file could not be read. */
  CLI_READ_FAILED: 'io',
  /** `template lint --existing`: not a JSON list of {name, uuid?, macs?}. */
  CLI_EXISTING_SYNTAX: 'input',
} as const satisfies ErrorCatalogue<`CLI_${string}`>;

export type CliErrorCode = keyof typeof CLI_ERRORS;

export const CLI_ERROR_CODES: readonly CliErrorCode[] = catalogueCodes(CLI_ERRORS);

export class CliError extends VmctxError<CliErrorCode> {
  override readonly name = 'CliError';
  constructor(code: CliErrorCode, message: string, options: { where?: string; cause?: unknown } = {}) {
    super(code, CLI_ERRORS[code], message, options);
  }
}

/** Bad usage the option parser cannot see: exit 2, as commander's own usage errors. */
export const usage = (message: string): CliError => new CliError('CLI_USAGE', message);
