/** How a deployment command ends on an error: its message and code on stderr, the exit code of its kind. */
import { exitCodeOf, isVmctxError } from '@vmctx/contract';
import type { CommandIo } from '../cli/command-io.js';

export function failWith(io: CommandIo, error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  io.stderr(`vmctx: ${message}${isVmctxError(error) ? ` [${error.code}]` : ''}\n`);
  return io.exit(exitCodeOf(error));
}
