/**
 * What every `vmctx` subcommand shares: where its text and data go, and how it ends. How an error becomes an
 * exit code is in action.ts (one place, from the error's kind).
 */
import { type Command, type CommanderError, Help } from 'commander';
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
  exit: (code) => {
    // Help or --version written into /dev/full, then exit 0 at once: the write failed already, but its error event
    // (guardOutput) would come after the exit. Said here, by the same rule.
    const failed = code === 0 ? (process.stdout as { errored?: Error | null }).errored : null;
    if (failed) outputFailed(failed as NodeJS.ErrnoException, 'stdout', { stderr: (text) => process.stderr.write(text), exit: (c) => process.exit(c) });
    return process.exit(code);
  },
};

/** `vmctx context iso`: the names from the program down to this command. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * What follows a usage error instead of the whole help: the command's usage line and where its help is
 * (`Usage: vmctx context iso [options] <input>` / `see 'vmctx context iso --help'`), as git prints it.
 */
export function usageHint(command: Command): string {
  return `Usage: ${command.createHelp().commandUsage(command)}\nsee '${commandPath(command)} --help'\n`;
}

type ErrorAwareHelp = Help & { forError?: boolean };

/**
 * The help commander prints on stderr when a command that has subcommands got none (`vmctx`, `vmctx context`)
 * or `help NAME` names none of them: a usage error, so its message, the usage line and the hint, not the whole
 * help. Help asked for is the whole help, as commander writes it.
 */
const usageOnError = {
  prepareContext(this: ErrorAwareHelp, context: Parameters<Help['prepareContext']>[0]): void {
    this.forError = context.error === true;
    Help.prototype.prepareContext.call(this, context);
  },
  formatHelp(this: ErrorAwareHelp, cmd: Command, helper: Help): string {
    if (!this.forError) return Help.prototype.formatHelp.call(this, cmd, helper);
    const missing = cmd.args.length === 0 ? 'error: missing command' : `error: unknown command '${cmd.args[cmd.args.length - 1]}'`;
    return `${missing}\n${usageHint(cmd)}`;
  },
};

/**
 * The behaviour every (sub)command gets: text through `io`; a usage error (unknown command or option, missing
 * argument, no subcommand) is its message, the usage line and a hint on stderr, and exit 2 (commander's default
 * is 1, and the whole help); help asked for (-h, --help, `help NAME`) and --version go to stdout and exit 0.
 */
export function withCliDefaults<C extends Command>(command: C, io: Pick<CommandIo, 'stdout' | 'stderr' | 'exit'>): C {
  command
    .showHelpAfterError(false)
    .configureHelp(usageOnError)
    .configureOutput({
      writeOut: io.stdout,
      writeErr: io.stderr,
      outputError: (message, write) => write(`${message}${usageHint(command)}`),
    })
    .exitOverride((err: CommanderError) => io.exit(err.exitCode === 0 ? 0 : 2));
  return command;
}

/**
 * What happens when stdout cannot be written: a reader that went away (`vmctx template lint --list | head -1`,
 * EPIPE) ends the command quietly, with the status a SIGPIPE would give (141); any other failure (ENOSPC on
 * `> /dev/full`) is one line on stderr and exit 1, never a stack trace.
 */
export function guardOutput(stream: NodeJS.EventEmitter, name: string, io: Pick<CommandIo, 'stderr' | 'exit'>): void {
  stream.on('error', (error: NodeJS.ErrnoException) => outputFailed(error, name, io));
}

function outputFailed(error: NodeJS.ErrnoException, name: string, io: Pick<CommandIo, 'stderr' | 'exit'>): never {
  if (error.code === 'EPIPE') io.exit(141);
  io.stderr(`vmctx: writing to ${name} failed: ${error.message} [CLI_WRITE_FAILED]\n`);
  return io.exit(1);
}
