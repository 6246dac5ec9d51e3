import { failWith } from './cli/action.js';
import { guardOutput, processIo } from './cli/command-io.js';
import { createProgram } from './program.js';

guardOutput(process.stdout, 'stdout', processIo);
guardOutput(process.stderr, 'stderr', processIo);
// Commands end through their own action wrapper; what reaches here is printed and exits by the same rule.
createProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => failWith(processIo, error));
