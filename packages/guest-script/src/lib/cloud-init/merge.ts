/**
 * The operator's own cloud-config merged with what the context's fields give. cloud-init's merging of user-data
 * parts (merge_how: dict(replace)+list()+str()...) is more than an operator should have to predict, so the rule
 * here is one sentence, written in the README:
 *
 *   A top-level key only one side gives is taken as it is; a key both give is taken when the values are equal;
 *   `users`, `write_files`, `runcmd` and `bootcmd` (lists of independent entries) are joined, the fields' entries
 *   first (a user or a file path on both sides is refused); any other key both give with different values is
 *   refused (GUEST_CLOUD_CONFIG_CONFLICT), naming the key and the file.
 *
 * network-config: the operator's file is taken as it is when the context has no `network`; otherwise both must be
 * version 2, and their `ethernets` are joined under the same rule (an id on both sides with different values is
 * refused), as are their other top-level keys.
 */
import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { GuestScriptError } from '../errors.js';
import type { NetworkConfigV2 } from './network-config.js';
import type { CloudConfig } from './user-data.js';

/** Keys whose values are lists of independent entries: joined, the fields' entries first. */
const JOINED = ['users', 'write_files', 'runcmd', 'bootcmd'] as const;

function refuse(source: string, message: string, key: string): never {
  throw new GuestScriptError('GUEST_CLOUD_CONFIG_CONFLICT', `${source}: ${message}`, key);
}

/** The operator's file as a YAML mapping, or GUEST_CLOUD_CONFIG_INVALID saying why not. */
export function parseOperatorYaml(text: string, source: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseYaml(text, { uniqueKeys: true });
  } catch (error) {
    throw new GuestScriptError('GUEST_CLOUD_CONFIG_INVALID', `${source}: not valid YAML: ${(error as Error).message}`, source);
  }
  // An empty file (or a `#cloud-config` line alone) is an empty mapping: it gives nothing.
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new GuestScriptError('GUEST_CLOUD_CONFIG_INVALID', `${source}: ${what} must be a YAML mapping`, source);
  }
  return value as Record<string, unknown>;
}

/** The name a `users` entry or the path a `write_files` entry stands for, to refuse the same one twice. */
function entryKey(key: string, entry: unknown): string | undefined {
  if (typeof entry === 'string') return key === 'users' ? entry : undefined;
  if (entry === null || typeof entry !== 'object') return undefined;
  const record = entry as Record<string, unknown>;
  if (key === 'users' && typeof record.name === 'string') return record.name;
  if (key === 'write_files' && typeof record.path === 'string') return record.path;
  return undefined;
}

function joinLists(key: string, ours: unknown, theirs: unknown, source: string): unknown[] {
  if (!Array.isArray(ours) || !Array.isArray(theirs)) refuse(source, `${key} is a list in cloud-config; the file gives ${typeof theirs}`, key);
  const seen = new Set(ours.map((entry) => entryKey(key, entry)).filter((name) => name !== undefined));
  const joined = [...ours];
  for (const entry of theirs) {
    const name = entryKey(key, entry);
    if (name === 'default' && seen.has('default')) continue;
    if (name !== undefined && seen.has(name)) {
      refuse(source, `${key}: ${name} is given by the context's fields and by the file; give it in one place`, key);
    }
    joined.push(entry);
  }
  return joined;
}

/** The rule of this file on two mappings; `joined` names the keys whose lists are joined. */
function mergeMappings(ours: Record<string, unknown>, theirs: Record<string, unknown>, source: string, joined: readonly string[], prefix = ''): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...ours };
  for (const [key, value] of Object.entries(theirs)) {
    if (!(key in ours) || isDeepStrictEqual(ours[key], value)) merged[key] = value;
    else if (joined.includes(key)) merged[key] = joinLists(key, ours[key], value, source);
    else refuse(source, `${prefix}${key} is given by the context's fields and by the file with another value; give it in one place`, `${prefix}${key}`);
  }
  return merged;
}

/** The user-data the CD carries: the fields' cloud-config and the operator's `#cloud-config` file merged. */
export function mergeUserData(ours: CloudConfig, text: string, source: string): CloudConfig {
  // cloud-init docs, User-data formats: a cloud-config starts with the line "#cloud-config"; a script, a MIME
  // multi-part or an include cannot be merged key by key.
  if (!/^#cloud-config[ \t]*\r?\n/.test(text) && text.trim() !== '#cloud-config') {
    throw new GuestScriptError('GUEST_CLOUD_CONFIG_INVALID', `${source}: the operator's user-data must be a cloud-config: its first line is #cloud-config`, source);
  }
  return mergeMappings(ours, parseOperatorYaml(text, source, 'a cloud-config'), source, JOINED);
}

/** The network-config the CD carries: the fields' and the operator's file merged, or the file alone. */
export function mergeNetworkConfig(ours: NetworkConfigV2 | undefined, text: string, source: string): Record<string, unknown> {
  // cloud-init accepts the file with or without a top-level `network:` key.
  let theirs = parseOperatorYaml(text, source, 'a network-config');
  if (Object.keys(theirs).length === 1 && typeof theirs.network === 'object' && theirs.network !== null) theirs = theirs.network as Record<string, unknown>;
  if (ours === undefined) return theirs;
  if (theirs.version !== 2) {
    refuse(source, `version: the context's network gives a version 2 network-config; the file is version ${String(theirs.version)} (write it as version 2, or drop the context's network)`, 'version');
  }
  const { ethernets: theirEthernets, ...theirRest } = theirs;
  const { ethernets: ourEthernets, ...ourRest } = ours;
  const merged = mergeMappings(ourRest, theirRest, source, []);
  if (theirEthernets === undefined) return { ...merged, ethernets: ourEthernets };
  if (theirEthernets === null || typeof theirEthernets !== 'object') refuse(source, 'ethernets must be a mapping of ids', 'ethernets');
  return { ...merged, ethernets: mergeMappings(ourEthernets, theirEthernets as Record<string, unknown>, source, [], 'ethernets.') };
}
