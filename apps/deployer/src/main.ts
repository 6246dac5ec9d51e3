import { failWith } from './cli/action.js';
import { processIo } from './cli/command-io.js';
import { createProgram } from './program.js';

// Commands end through their own action wrapper; what reaches here is printed and exits by the same rule.
createProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => failWith(processIo, error));
