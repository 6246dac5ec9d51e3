import { createProgram } from './program.js';

createProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    const err = error as { message?: string; code?: string; exitCode?: number };
    process.stderr.write(`vmctx: ${err.message ?? String(error)}\n`);
    process.exitCode = typeof err.exitCode === 'number' ? err.exitCode : 1;
  });
