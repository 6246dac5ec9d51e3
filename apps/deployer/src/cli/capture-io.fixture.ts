/** Test support: a CommandIo that keeps what a command printed and turns its exit into an exception. */
import { PassThrough } from 'node:stream';
import type { CommandIo } from './command-io.js';

export class Exit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

export interface CapturedIo extends CommandIo {
  out: string;
  err: string;
  /** The bytes written to `output`. */
  bytes: () => Buffer;
  output: PassThrough & { isTTY?: boolean };
  /** Forgets what was printed and written, the environment and the TTY flag (call it in beforeEach). */
  reset(): void;
}

export function captureIo(): CapturedIo {
  let chunks: Buffer[] = [];
  const output = new PassThrough() as PassThrough & { isTTY?: boolean };
  output.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
  const io: CapturedIo = {
    out: '',
    err: '',
    output,
    env: {},
    bytes: () => Buffer.concat(chunks),
    stdout: (text) => void (io.out += text),
    stderr: (text) => void (io.err += text),
    exit: (code) => {
      throw new Exit(code);
    },
    reset: () => {
      io.out = '';
      io.err = '';
      io.env = {};
      chunks = [];
      delete output.isTTY;
    },
  };
  return io;
}

export interface Failure {
  exitCode: number;
  /** The code printed in brackets (absent for commander's own usage errors). */
  code?: string;
  /** What `vmctx: ` printed, without the code. */
  message: string;
}

/** Runs a command that must end with a non-zero exit, and reads what it printed last on stderr. */
export async function failure(io: CapturedIo, run: Promise<unknown>): Promise<Failure> {
  const exit = await run.then(
    () => {
      throw new Error('the command succeeded');
    },
    (error: unknown) => error,
  );
  if (!(exit instanceof Exit)) throw exit;
  const start = io.err.lastIndexOf('vmctx: ');
  if (start < 0) return { exitCode: exit.exitCode, message: '' };
  const printed = io.err.slice(start + 'vmctx: '.length);
  // The code ends the first line (cli/action.ts formatError); the lines after it are the message's details, then
  // `  at WHERE`, and for a usage error (CLI_USAGE) the command's usage line and hint.
  const match = /^([^\n]*?) \[([A-Za-z0-9_]+)\]((?:\n(?!  at |Usage: ).*)*)(?:\n  at .*)?\n(?:Usage: .*\nsee '.*'\n)?$/.exec(printed);
  return match ? { exitCode: exit.exitCode, code: match[2]!, message: match[1]! + match[3]! } : { exitCode: exit.exitCode, message: printed.trimEnd() };
}

/** The exit code a run of a command ends with: 0 when it returned, else the code it exited with. */
export function exitCodeOfRun(run: Promise<unknown>): Promise<number> {
  return run.then(
    () => 0,
    (error: unknown) => {
      if (error instanceof Exit) return error.exitCode;
      throw error;
    },
  );
}
