/**
 * `vmctx disk sha256`: the digest lines of sha256sum (GNU coreutils 9.1 src/digest.c `output_file`), so that
 * `sha256sum -c` checks a list vmctx wrote (test/vmctx-disk.tools.spec.ts). Checking a list is left to sha256sum:
 * vmctx's own `--check` re-implemented digest.c's reading, verdicts and warnings (260 lines with its tests) and
 * served no deployment (issue 23, scope). Unlike sha256sum, a file that cannot be read is reported with its code
 * (`vmctx: ... [DISK_NOT_FOUND]`) and the command goes on; it exits 1 at the end, as sha256sum does.
 */
import { formatError } from '../cli/action.js';
import type { CommandIo } from '../cli/command-io.js';

export interface HashSources {
  /** The sha256 of a file, or of standard input for `-`. */
  hashFile: (path: string) => Promise<string>;
  hashStdin: () => Promise<string>;
}

/**
 * digest.c `output_file`: a name with a backslash, a newline or a carriage return is written escaped (`\\`, `\n`,
 * `\r`) and its line starts with a backslash, so that every line of the list is one file.
 */
export function checksumLine(hex: string, name: string): string {
  const escape = /[\\\n\r]/.test(name);
  return `${escape ? '\\' : ''}${hex}  ${escape ? escapeName(name) : name}\n`;
}

function escapeName(name: string): string {
  return name.replace(/[\\\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : '\\r'));
}

/** Hashes each file (`-` is standard input) and prints sha256sum's lines; returns the exit status (1 if one failed). */
export async function hashFiles(io: Pick<CommandIo, 'stdout' | 'stderr'>, files: readonly string[], sources: HashSources): Promise<number> {
  let status = 0;
  for (const file of files) {
    try {
      const hex = file === '-' ? await sources.hashStdin() : await sources.hashFile(file);
      io.stdout(checksumLine(hex, file));
    } catch (error) {
      io.stderr(formatError(error));
      status = 1;
    }
  }
  return status;
}
