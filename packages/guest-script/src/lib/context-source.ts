/**
 * A context as it is named on a command line or in a build target: a context file (YAML or JSON) is parsed and
 * turned into its tree, a folder (Snooze's `context/`) is read as it is. The one reading that `vmctx context`
 * and the Nx plugin share.
 */
import { DEFAULT_CONTEXT_LABEL, NOCLOUD_LABEL } from '@vmctx/contract';
import { stat } from 'node:fs/promises';
import { parseContextYaml } from './context.js';
import { refuseEmptyContext } from './context-empty.js';
import { readContextText } from './context-size.js';
import { buildCdTree, type CdFormat, readOperatorFiles } from './cloud-init/cd-layouts.js';
import { GuestScriptError } from './errors.js';
import type { FileMap } from './file-map.js';
import { contextTreeProblems, readContextFolder } from './snooze-import.js';

/** The context CD's files, and what the guest would find wrong with a folder taken as it is (see contextTreeProblems). */
export interface ContextSource {
  files: FileMap;
  /** Always empty for a context file, whose tree is generated. */
  problems: string[];
  /**
   * The volume label the CD needs unless told otherwise: cidata where it holds the NoCloud seed (cloud-init's NoCloud
   * looks for that label), CONTEXT for Snooze's layout alone (vmctx's script finds either).
   */
  label: string;
}

/**
 * `allowEmpty`: take a context file that configures nothing (context-empty.ts); refused otherwise
 * (GUEST_EMPTY_CONTEXT).
 */
export async function readContextSource(path: string, options: { allowEmpty?: boolean; format?: CdFormat } = {}): Promise<ContextSource> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new GuestScriptError('GUEST_INVALID_CONTEXT', `${path}: ${error.code === 'ENOENT' ? 'no such file or folder' : error.message}`, path);
  });
  if (info.isDirectory()) {
    refuseFolderFormat(path, options.format);
    const files = await readContextFolder(path);
    return { files, problems: contextTreeProblems(files), label: DEFAULT_CONTEXT_LABEL };
  }
  // Refused by its size before it is read, and by its contents' sizes before it is parsed.
  const context = parseContextYaml(await readContextText(path), path);
  if (!options.allowEmpty) refuseEmptyContext(context, path);
  const format = options.format ?? 'snooze';
  const problems: string[] = [];
  if (format === 'snooze' && context.cloudInit !== undefined) {
    problems.push("cloudInit: vmctx's script does not read the operator's cloud-config; it goes only on a CD for cloud-init (--format both or cloud-init)");
  }
  const operator = format === 'snooze' ? {} : await readOperatorFiles(context, path);
  return { files: buildCdTree(context, format, operator), problems, label: format === 'snooze' ? DEFAULT_CONTEXT_LABEL : NOCLOUD_LABEL };
}

/**
 * A Snooze folder is taken as it is: the NoCloud files come from a context's fields, which a folder does not have.
 * Its CD is Snooze's alone; asking for NoCloud files from it is refused.
 */
export function refuseFolderFormat(path: string, format: CdFormat | undefined): void {
  if (format === undefined || format === 'snooze') return;
  throw new GuestScriptError(
    'GUEST_INVALID_CONTEXT',
    `${path}: a context folder is taken as it is, in Snooze's layout: --format ${format} needs a context file (its NoCloud files are made from the context's fields)`,
    path,
  );
}
