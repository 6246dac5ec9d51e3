/**
 * How every command ends: one wrapper around each action, which prints what went wrong and exits with the code
 * of the error's kind (`exitCodeOf` of @vmctx/contract, the one place kinds become exit codes).
 */
import { exitCodeOf, isVmctxError } from '@vmctx/contract';
import { Command } from 'commander';
import { type CommandIo, usageHint } from './command-io.js';

/**
 * `vmctx: <message> [<CODE>]`, and `  at <where>` when the message does not already say where. The code ends the
 * first line: the lines after it are details (each problem of a deployment file, with its own code when they differ).
 */
export function formatError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  const where = isVmctxError(error) ? error.where : undefined;
  const at = where !== undefined && where !== '' && !message.includes(where) ? `\n  at ${where}` : '';
  const [first, ...rest] = message.split('\n');
  const tag = typeof code === 'string' ? ` [${code}]` : '';
  return `vmctx: ${[`${first}${tag}`, ...rest].join('\n')}${at}\n`;
}

/**
 * Prints the error on stderr and exits with the code of its kind; a usage error the action found (CLI_USAGE) is
 * followed by the command's usage line and hint, as commander's own usage errors are.
 */
export function failWith(io: Pick<CommandIo, 'stderr' | 'exit'>, error: unknown, command?: Command): never {
  io.stderr(formatError(error));
  if (command !== undefined && isVmctxError(error) && error.code === 'CLI_USAGE') io.stderr(usageHint(command));
  return io.exit(exitCodeOf(error));
}

/**
 * An action that ends through `io`: a thrown error is printed and exits with its kind's code; a returned
 * number other than 0 is the exit code of an outcome that is not an error (lint findings: exit 1, as eslint).
 */
export function action<A extends unknown[]>(io: Pick<CommandIo, 'stderr' | 'exit'>, fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    let code: number | void;
    try {
      code = await fn(...args);
    } catch (error) {
      // commander passes the command last to an action.
      const command = args[args.length - 1];
      failWith(io, error, command instanceof Command ? command : undefined);
    }
    if (code) io.exit(code);
  };
}
