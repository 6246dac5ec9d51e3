/**
 * The NoCloud seed of a context (cloud-init docs, Datasources > NoCloud): `meta-data` and `user-data`, which a
 * seed must have, and `network-config`, which it may, at the root of the CD, each YAML.
 *
 * meta-data (NoCloud: "a YAML formatted file representing what you'd find in the EC2 metadata service"; the keys
 * NoCloud names are `instance-id` and `local-hostname`):
 * - `instance-id`: the context's `instanceId`, else the hash of the context (and the operator's files) that the
 *   Snooze layout's `instance-id` carries too: an edited context is a new instance, and cloud-init applies it
 *   again at the next boot, as vmctx's script does;
 * - `local-hostname`: the context's `hostname` as given.
 */
import { NOCLOUD_FILES } from '@vmctx/contract';
import { stringify } from 'yaml';
import type { Context } from '../context.js';
import { instanceIdOf } from '../context-tree.js';
import type { FileMap } from '../file-map.js';
import { mergeNetworkConfig, mergeUserData } from './merge.js';
import { networkConfig } from './network-config.js';
import { userDataConfig } from './user-data.js';

/** An operator's cloud-config file: its text, and where it came from (for messages). */
export interface OperatorFile {
  text: string;
  source: string;
}

export interface OperatorCloudConfig {
  userData?: OperatorFile;
  networkConfig?: OperatorFile;
}

/** YAML as cloud-init reads it: no line folding (a long key line stays one line), keys in the order given, no anchors
 * or aliases for shared values (readers of the seed other than cloud-init, such as nuageinit, need not know them). */
function yaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false });
}

/** The instance id both layouts carry: the context's, else the hash of the context and the operator's files. */
export function sharedInstanceId(context: Context, operator: OperatorCloudConfig = {}): string {
  const extra = [operator.userData?.text, operator.networkConfig?.text].filter((text): text is string => text !== undefined);
  return instanceIdOf(context, extra);
}

/**
 * The three files, as a file map for the CD's root: meta-data and network-config 0444, user-data 0400 (it carries
 * the context's files and scripts, which may be secrets). A context without a network and no operator
 * network-config has no network-config: cloud-init then takes DHCP on the first NIC, vmctx's meaning.
 */
export function noCloudFiles(context: Context, operator: OperatorCloudConfig = {}, instanceId = sharedInstanceId(context, operator)): FileMap {
  const meta: Record<string, string> = { 'instance-id': instanceId };
  if (context.hostname !== undefined) meta['local-hostname'] = context.hostname;
  let user = userDataConfig(context, instanceId);
  if (operator.userData !== undefined) user = mergeUserData(user, operator.userData.text, operator.userData.source);
  let network: unknown = networkConfig(context);
  if (operator.networkConfig !== undefined) network = mergeNetworkConfig(networkConfig(context), operator.networkConfig.text, operator.networkConfig.source);
  const files: FileMap = {
    [NOCLOUD_FILES.metaData]: { data: yaml(meta), mode: 0o444 },
    // cloud-init docs, User-data formats > Cloud config data: the first line is "#cloud-config".
    [NOCLOUD_FILES.userData]: { data: `#cloud-config\n${Object.keys(user).length > 0 ? yaml(user) : ''}`, mode: 0o400 },
  };
  if (network !== undefined) files[NOCLOUD_FILES.networkConfig] = { data: yaml(network), mode: 0o444 };
  return files;
}
