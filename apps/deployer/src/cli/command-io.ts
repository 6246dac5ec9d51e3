/**
 * What every `vmctx` subcommand shares: where its text and data go, and how it ends. How an error becomes an
 * exit code is in action.ts (one place, from the error's kind).
 */
import type { Command, CommanderError } from 'commander';
import type { Writable } from 'node:stream';

export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Where bytes go on stdout (an image written without -o). */
  output: Writable & { isTTY?: boolean };
  /** The environment a command reads (SOURCE_DATE_EPOCH). */
  env: Record<string, string | undefined>;
  /** Ends the process with this code (after a usage error, a help display or a failure has been printed). */
  exit: (code: number) => never;
}

export const processIo: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  output: process.stdout,
  env: process.env,
  exit: (code) => process.exit(code),
};

/**
 * The behaviour every (sub)command gets: help after a usage error, text through `io`, and usage errors exit 2
 * (commander's default is 1) while help and --version exit 0.
 */
export function withCliDefaults<C extends Command>(command: C, io: Pick<CommandIo, 'stdout' | 'stderr' | 'exit'>): C {
  command
    .showHelpAfterError()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride((err: CommanderError) => io.exit(err.exitCode === 0 ? 0 : 2));
  return command;
}

/**
 * What happens when stdout cannot be written: a reader that went away (`vmctx template lint --list | head -1`,
 * EPIPE) ends the command quietly, with the status a SIGPIPE would give (141); any other failure (ENOSPC on
 * `> /dev/full`) is one line on stderr and exit 1, never a stack trace.
 */
export function guardOutput(stream: NodeJS.EventEmitter, name: string, io: Pick<CommandIo, 'stderr' | 'exit'>): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') io.exit(141);
    io.stderr(`vmctx: writing to ${name} failed: ${error.message} [CLI_WRITE_FAILED]\n`);
    io.exit(1);
  });
}
