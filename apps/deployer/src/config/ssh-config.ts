/**
 * What ~/.ssh/config says about a controller's host, so that a deployment can name `lc1` as the operator's own
 * `ssh lc1` would reach it. The `ssh-config` package parses and matches (Host and Match blocks, first value
 * wins as in ssh); this file only reads the few directives the deployer uses and expands their tokens.
 */
import { readFile } from 'node:fs/promises';
import SSHConfig from 'ssh-config';

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
}

/** Reads the ssh config; undefined when there is none (ENOENT), which is the common case on servers. */
export async function readSshConfig(path: string): Promise<SshConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return SSHConfig.parse(text);
}

export function lookupHost(config: SshConfig | undefined, host: string, context: { user?: string; homeDir: string; localUser: string }): SshHostFacts {
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
  const tokens = { h: hostName === undefined ? host : expandTokens(hostName, { h: host }), r: user ?? context.user ?? context.localUser, u: context.localUser, d: context.homeDir };
  const identities = computed['identityfile'];
  const proxyJump = one('proxyjump');
  return {
    ...(hostName === undefined ? {} : { hostName: tokens.h }),
    ...(one('port') === undefined ? {} : { port: one('port') }),
    ...(user === undefined ? {} : { user }),
    identityFiles: (Array.isArray(identities) ? identities : identities === undefined ? [] : [identities]).map((f) => expandTokens(f, tokens)),
    ...(proxyJump === undefined || proxyJump.toLowerCase() === 'none' ? {} : { proxyJump }),
  };
}

/** ssh_config(5) TOKENS that the directives read here may use: %h host, %r remote user, %u local user, %d home, %%. */
function expandTokens(value: string, tokens: Record<string, string | undefined>): string {
  const expanded = value.replace(/%([a-zA-Z%])/g, (whole, token: string) => (token === '%' ? '%' : (tokens[token] ?? whole)));
  return expanded.startsWith('~/') && tokens['d'] !== undefined ? `${tokens['d']}/${expanded.slice(2)}` : expanded;
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
