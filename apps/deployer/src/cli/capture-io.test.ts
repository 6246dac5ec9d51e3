/** Test support: a CommandIo that keeps what a command printed and turns its exit into an exception. */
import type { CommandIo } from './command-io.js';

export class Exit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

export interface CapturedIo extends CommandIo {
  out: string;
  err: string;
  /** Forgets what was printed (call it in beforeEach). */
  reset(): void;
}

export function captureIo(): CapturedIo {
  const io: CapturedIo = {
    out: '',
    err: '',
    stdout: (text) => void (io.out += text),
    stderr: (text) => void (io.err += text),
    exit: (code) => {
      throw new Exit(code);
    },
    reset: () => {
      io.out = '';
      io.err = '';
    },
  };
  return io;
}
