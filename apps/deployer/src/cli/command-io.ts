/**
 * What every `vmctx` subcommand shares: where its text goes, how it ends, and how a package's error becomes
 * an exit code. Exit codes: 0 done, 1 failure (I/O, the machine), 2 bad usage or bad input.
 */
import type { Command, CommanderError } from 'commander';

export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Ends the process after a usage error or a help display (commander has printed what to say). */
  exit: (code: number) => never;
}

export const processIo: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  exit: (code) => process.exit(code),
};

/** An error a subcommand ends with: `main` prints its message and exits with its code. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Which errors of a package a command turns into exit codes, and which of their codes mean a failure. */
export interface PackageErrors {
  /** The package's error class name (`DiskBuilderError`), or the prefix its codes share (`ISO_`). */
  name?: string;
  codePrefix?: string;
  /** Codes that mean the machine failed (exit 1); every other code is bad input (exit 2). */
  failureCodes?: ReadonlySet<string>;
  /** Node's own I/O errors (ENOENT, EACCES...) are failures too. */
  systemErrors?: boolean;
}

export function commandErrorFrom(error: unknown, errors: PackageErrors): unknown {
  if (!(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return error;
  const ours = (errors.name !== undefined && error.name === errors.name) || (errors.codePrefix !== undefined && code.startsWith(errors.codePrefix));
  if (ours) return new CommandError(`${error.message} [${code}]`, errors.failureCodes?.has(code) ? 1 : 2, code);
  if (errors.systemErrors && /^E[A-Z]+$/.test(code)) return new CommandError(error.message, 1, code);
  return error;
}

/**
 * The behaviour every (sub)command gets: help after a usage error, text through `io`, and usage errors exit 2
 * (commander's default is 1) while help and --version exit 0.
 */
export function withCliDefaults<C extends Command>(command: C, io: CommandIo): C {
  command
    .showHelpAfterError()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride((err: CommanderError) => io.exit(err.exitCode === 0 ? 0 : 2));
  return command;
}
