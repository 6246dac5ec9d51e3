/**
 * What the ssh config says about a controller's host, so that a deployment can name `lc1` as the operator's own
 * `ssh lc1` would reach it. The `ssh-config` package parses and matches (Host and Match blocks, first value
 * wins as in ssh); this file only chooses the file (`chosenSshConfig`, as `ssh -F`), reads the few directives the
 * deployer uses and expands their tokens.
 */
import { readFile } from 'node:fs/promises';
import { devNull, homedir } from 'node:os';
import SSHConfig from 'ssh-config';
import { pathKind, resolveLocal } from './paths.js';
import { SSH_CONFIG_ENV } from './ssh-config-env.js';
import { DeployerError } from '../errors.js';

export type SshConfig = SSHConfig;

/** What ssh_config gives for a host; absent fields are left to the deployment file or the defaults. */
export interface SshHostFacts {
  hostName?: string;
  port?: string;
  user?: string;
  /** In the order ssh tries them, `~` and `%` tokens expanded. */
  identityFiles: string[];
  /** ProxyJump as written (possibly a list); `none` is returned as absent. */
  proxyJump?: string;
  /**
   * UserKnownHostsFile: every file, in order (ssh reads them all and writes only the first), `~` and `%` tokens
   * expanded; empty for `none`. Absent when the config does not say.
   */
  userKnownHostsFiles?: string[];
  /** GlobalKnownHostsFile, as UserKnownHostsFile (read after the user's files, never written). */
  globalKnownHostsFiles?: string[];
}

/** The environment variable that names the ssh config when --ssh-config does not. */
export { SSH_CONFIG_ENV };

/**
 * The ssh config a command reads, as `ssh -F FILE` chooses it: `--ssh-config FILE`, else $VMCTX_SSH_CONFIG (when
 * set and not empty), else ~/.ssh/config. Returns the path for LoadOptions.sshConfigPath: undefined for the default
 * (which may be missing: most servers have none); for `none`, the null device, so that no ssh config is read at all
 * (`ssh -F none`; vmctx never reads /etc/ssh/ssh_config either). A file named by the option or the variable must be
 * there and readable: a typo would otherwise resolve every alias as a bare host name (SSH_CONFIG_UNREADABLE).
 */
export async function chosenSshConfig(option: string | undefined, env: Record<string, string | undefined>): Promise<string | undefined> {
  const fromEnv = env[SSH_CONFIG_ENV] === '' ? undefined : env[SSH_CONFIG_ENV];
  const named = option ?? fromEnv;
  if (named === undefined) return undefined;
  if (named === 'none') return devNull;
  const from = option !== undefined ? '--ssh-config' : SSH_CONFIG_ENV;
  const path = resolveLocal(named, process.cwd(), env['HOME'] ?? homedir());
  const unreadable = (why: string, cause?: unknown) =>
    new DeployerError('SSH_CONFIG_UNREADABLE', `the ssh config ${path} (named by ${from}) ${why}`, { where: from, ...(cause === undefined ? {} : { cause }) });
  const kind = await pathKind(path);
  if (kind === 'missing') throw unreadable(`does not exist (give an existing file, or none to read no ssh config)`);
  if (kind !== 'file') throw unreadable(kind === 'folder' ? 'is a folder, not a file' : 'is not a regular file');
  await readFile(path).catch((error: Error) => {
    throw unreadable(`cannot be read: ${error.message}`, error);
  });
  return path;
}

/**
 * Reads the ssh config; undefined when there is none (ENOENT), which is the common case on servers. One that is
 * there but cannot be read (a folder, no permission) is an error: ssh would refuse it too.
 */
export async function readSshConfig(path: string): Promise<SshConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DeployerError('SSH_CONFIG_UNREADABLE', `the ssh config ${path} cannot be read: ${(error as Error).message}`, { where: path, cause: error });
  }
  return SSHConfig.parse(text);
}

/**
 * What the config says about `host`. `context.user` and `context.port` are the deployment file's, which win over the
 * config's and stand for %r and %p when given.
 */
export function lookupHost(config: SshConfig | undefined, host: string, context: { user?: string; port?: number; homeDir: string; localUser: string }): SshHostFacts {
  if (config === undefined) return { identityFiles: [] };
  // ignoreCase: ssh's keywords are case-insensitive (`hostname` and `HostName` are one directive).
  // matchExec false: loading a deployment must not run the commands of `Match exec` lines.
  const computed = config.compute(context.user === undefined ? { Host: host } : { Host: host, User: context.user }, { ignoreCase: true, matchExec: false });
  const one = (key: string): string | undefined => {
    const value = computed[key];
    return Array.isArray(value) ? value[0] : value;
  };
  const hostName = one('hostname');
  const user = context.user === undefined ? one('user') : undefined;
  const tokens = {
    h: hostName === undefined ? host : expandTokens(hostName, { h: host }),
    n: host,
    p: String(context.port ?? one('port') ?? 22),
    r: user ?? context.user ?? context.localUser,
    u: context.localUser,
    d: context.homeDir,
  };
  const list = (key: string): string[] | undefined => {
    const value = computed[key];
    return value === undefined ? undefined : Array.isArray(value) ? value : [value];
  };
  // `UserKnownHostsFile a b` comes as a list (quotes kept together); `none` alone means no file at all.
  const knownHosts = (key: string): string[] | undefined => {
    const files = list(key);
    if (files === undefined) return undefined;
    return files.length === 1 && files[0]!.toLowerCase() === 'none' ? [] : files.map((f) => expandTokens(f, tokens));
  };
  const proxyJump = one('proxyjump');
  const userKnownHostsFiles = knownHosts('userknownhostsfile');
  const globalKnownHostsFiles = knownHosts('globalknownhostsfile');
  return {
    ...(hostName === undefined ? {} : { hostName: tokens.h }),
    ...(one('port') === undefined ? {} : { port: one('port') }),
    ...(user === undefined ? {} : { user }),
    identityFiles: (list('identityfile') ?? []).map((f) => expandTokens(f, tokens)),
    ...(proxyJump === undefined || proxyJump.toLowerCase() === 'none' ? {} : { proxyJump }),
    ...(userKnownHostsFiles === undefined ? {} : { userKnownHostsFiles }),
    ...(globalKnownHostsFiles === undefined ? {} : { globalKnownHostsFiles }),
  };
}

/**
 * ssh_config(5) TOKENS that the directives read here may use: %h host (after HostName), %n host as given, %p port,
 * %r remote user, %u local user, %d home, %%; then a leading `~/` is the home. Other tokens are left as written.
 */
function expandTokens(value: string, tokens: Record<string, string | undefined>): string {
  const expanded = value.replace(/%([a-zA-Z%])/g, (whole, token: string) => (token === '%' ? '%' : (tokens[token] ?? whole)));
  if (tokens['d'] === undefined) return expanded;
  return expanded === '~' ? tokens['d'] : expanded.startsWith('~/') ? `${tokens['d']}/${expanded.slice(2)}` : expanded;
}

/** The first hop of a ProxyJump list: `[user@]host[:port]` or `ssh://[user@]host[:port]`, IPv6 in brackets. */
export function parseJump(spec: string): { user?: string; host: string; port?: string } | undefined {
  const first = spec.split(',')[0]!.trim().replace(/^ssh:\/\//, '');
  const match = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s/]+)(?::([^:\s/]*))?$/.exec(first);
  if (!match) return undefined;
  const [, user, hostPart, port] = match;
  return {
    ...(user === undefined ? {} : { user }),
    host: hostPart!.replace(/^\[(.*)\]$/, '$1'),
    ...(port === undefined ? {} : { port }),
  };
}
