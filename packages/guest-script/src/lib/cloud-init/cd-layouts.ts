/**
 * Which layouts a context CD holds (`vmctx context iso --format`), both at the CD's root:
 * - `snooze`: Snooze's layout (post-install, instance-id, common/, ssh/, files/, scripts/), read by vmctx's
 *   script (and Snooze's own post-install);
 * - `cloud-init`: the NoCloud seed (meta-data, user-data, network-config), read by cloud-init's NoCloud
 *   datasource and by readers of the same seed such as FreeBSD's nuageinit;
 * - `both` (the default for a context file): the two, with one instance id. Their names do not meet, so each
 *   reader finds its files where it looks, and a guest with both readers applies the CD once (vmctx's script
 *   stands down for cloud-init: sh/contextualization/cloud-init.sh).
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Context } from '../context.js';
import { MAX_CONTEXT_BYTES } from '../context-limits.js';
import { buildContextTree } from '../context-tree.js';
import { GuestScriptError } from '../errors.js';
import type { FileMap } from '../file-map.js';
import { noCloudFiles, type OperatorCloudConfig, type OperatorFile, sharedInstanceId } from './nocloud.js';

export const CD_FORMATS = ['both', 'cloud-init', 'snooze'] as const;
export type CdFormat = (typeof CD_FORMATS)[number];

/** The CD's files in the layouts `format` names; `operator`: the texts of the context's `cloudInit` files. */
export function buildCdTree(context: Context, format: CdFormat, operator: OperatorCloudConfig = {}): FileMap {
  const id = sharedInstanceId(context, operator);
  if (format === 'snooze') return buildContextTree(context, id);
  const noCloud = noCloudFiles(context, operator, id);
  return format === 'cloud-init' ? noCloud : { ...buildContextTree(context, id), ...noCloud };
}

async function readOperatorFile(path: string, contextPath: string, key: string): Promise<OperatorFile> {
  const file = resolve(dirname(contextPath), path);
  const source = `${contextPath}: cloudInit.${key} ${file}`;
  const text = await readFile(file).then(
    (data) => {
      if (data.length > MAX_CONTEXT_BYTES) throw new GuestScriptError('GUEST_CLOUD_CONFIG_INVALID', `${source}: larger than ${MAX_CONTEXT_BYTES} bytes`, `cloudInit.${key}`);
      return data.toString('utf8');
    },
    (error: NodeJS.ErrnoException) => {
      throw new GuestScriptError('GUEST_CLOUD_CONFIG_INVALID', `${source}: cannot read it (${error.code ?? error.message})`, `cloudInit.${key}`);
    },
  );
  return { text, source: file };
}

/** The operator's cloud-config files a context names, read from beside the context file. */
export async function readOperatorFiles(context: Context, contextPath: string): Promise<OperatorCloudConfig> {
  const operator: OperatorCloudConfig = {};
  if (context.cloudInit?.userData !== undefined) operator.userData = await readOperatorFile(context.cloudInit.userData, contextPath, 'userData');
  if (context.cloudInit?.networkConfig !== undefined) operator.networkConfig = await readOperatorFile(context.cloudInit.networkConfig, contextPath, 'networkConfig');
  return operator;
}
