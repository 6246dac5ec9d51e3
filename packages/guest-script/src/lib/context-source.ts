/**
 * A context as it is named on a command line or in a build target: a context file (YAML or JSON) is parsed and
 * turned into its tree, a folder (Snooze's `context/`) is read as it is. The one reading that `vmctx context`
 * and the Nx plugin share.
 */
import { stat } from 'node:fs/promises';
import { parseContextYaml } from './context.js';
import { refuseEmptyContext } from './context-empty.js';
import { readContextText } from './context-size.js';
import { buildContextTree } from './context-tree.js';
import { GuestScriptError } from './errors.js';
import type { FileMap } from './file-map.js';
import { contextTreeProblems, readContextFolder } from './snooze-import.js';

/** The context CD's files, and what the guest would find wrong with a folder taken as it is (see contextTreeProblems). */
export interface ContextSource {
  files: FileMap;
  /** Always empty for a context file, whose tree is generated. */
  problems: string[];
}

/**
 * `allowEmpty`: take a context file that configures nothing (context-empty.ts); refused otherwise
 * (GUEST_EMPTY_CONTEXT).
 */
export async function readContextSource(path: string, options: { allowEmpty?: boolean } = {}): Promise<ContextSource> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new GuestScriptError('GUEST_INVALID_CONTEXT', `${path}: ${error.code === 'ENOENT' ? 'no such file or folder' : error.message}`, path);
  });
  if (info.isDirectory()) {
    const files = await readContextFolder(path);
    return { files, problems: contextTreeProblems(files) };
  }
  // Refused by its size before it is read, and by its contents' sizes before it is parsed.
  const context = parseContextYaml(await readContextText(path), path);
  if (!options.allowEmpty) refuseEmptyContext(context, path);
  return { files: buildContextTree(context), problems: [] };
}
