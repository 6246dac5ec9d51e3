/** Inputs named on the command line: what is wrong with them said once, with the CLI's codes. */
import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { isVmctxError } from '@vmctx/contract';
import { CliError } from './errors.js';

/** The file or folder's stat; CLI_NOT_FOUND when it is not there, CLI_READ_FAILED when it cannot be looked at. */
export async function statInput(path: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError('CLI_NOT_FOUND', `${path}: no such file or folder`, { where: path, cause: error });
    throw new CliError('CLI_READ_FAILED', `cannot read ${path}: ${(error as Error).message}`, { where: path, cause: error });
  }
}

/** The size of an input that must be a file. */
export async function inputFileSize(path: string): Promise<number> {
  const info = await statInput(path);
  if (!info.isFile()) throw new CliError('CLI_NOT_A_FILE', `${path} is not a file`, { where: path });
  return info.size;
}

/**
 * Refuses an output that is one of the inputs (the same file, by device and inode: a link or another name for it
 * counts), before anything is written: `vmctx context iso c.yaml -o c.yaml` would replace the context it reads.
 */
export async function refuseOutputIsInput(output: string, ...inputs: string[]): Promise<void> {
  const out = await stat(output).catch(() => undefined);
  if (out === undefined) return;
  for (const input of inputs) {
    const info = await stat(input).catch(() => undefined);
    if (info !== undefined && info.dev === out.dev && info.ino === out.ino) {
      throw new CliError('CLI_OUTPUT_IS_INPUT', `the output ${output} is the input ${input}; choose another output`, { where: output });
    }
  }
}

/**
 * A domain XML (or a spec) named on the command line, as text: CLI_NOT_FOUND or CLI_NOT_A_FILE with its path, then
 * template-renderer's readTemplateFile, which refuses it by its size before it is read (TEMPLATE_TOO_LARGE). `limit`:
 * virsh define's, MAX_TEMPLATE_BYTES, unless told.
 */
export async function readTemplateText(file: string, limit?: number): Promise<string> {
  await inputFileSize(file);
  const { readTemplateFile } = await import('@vmctx/template-renderer');
  return readTemplateFile(file, limit).catch((error: NodeJS.ErrnoException) => {
    if (isVmctxError(error)) throw error;
    throw new CliError('CLI_READ_FAILED', `cannot read ${file}: ${error.message}`, { where: file, cause: error });
  });
}
