/**
 * Controllers and images as the deployer uses them: every local path absolute and checked, every SSH setting
 * final. For a controller, what the deployment file says wins over the ssh config (~/.ssh/config, or the one
 * --ssh-config names), which wins over ssh's own defaults (port 22, the local user, ~/.ssh/known_hosts).
 */
import { posix } from 'node:path';
import type { ControllerConfig, ImageConfig } from './types.js';
import type { ResolveContext } from './options.js';
import { pathKind, resolveLocal } from './paths.js';
import type { ControllerEntry, ImageEntry } from './schema.js';
import { lookupHost, parseJump, type SshHostFacts } from './ssh-config.js';

export async function resolveController(entry: ControllerEntry, index: number, ctx: ResolveContext): Promise<ControllerConfig> {
  const at = ['controllers', index] as const;
  const facts = lookupHost(ctx.sshConfig, entry.host, {
    ...(entry.user === undefined ? {} : { user: entry.user }),
    ...(entry.port === undefined ? {} : { port: entry.port }),
    homeDir: ctx.homeDir,
    localUser: ctx.localUser,
  });
  const port = entry.port ?? portOf(facts.port, [...at, 'host'], `the ssh config's Port for ${entry.host}`, ctx);

  // Not checked for existence: ssh itself warns about a missing IdentityFile and goes on with the agent, and the
  // connection reports a key it cannot read, with the controller's name.
  const identityFile = entry.identityFile !== undefined ? resolveLocal(entry.identityFile, ctx.baseDir, ctx.homeDir) : await firstExisting(facts.identityFiles, ctx);

  const jumpSpec = entry.proxyJump ?? facts.proxyJump;
  let proxyJump: ControllerConfig['proxyJump'];
  if (jumpSpec !== undefined && jumpSpec.toLowerCase() !== 'none') {
    const jumpAt = [...at, entry.proxyJump === undefined ? 'host' : 'proxyJump'];
    const jump = parseJump(jumpSpec);
    if (jump === undefined) {
      ctx.problems.add(jumpAt, `ProxyJump ${JSON.stringify(jumpSpec)} is not [user@]host[:port]`);
    } else {
      // The jump host may itself be an alias (`ProxyJump bastion`), resolved as ssh would.
      const hop = lookupHost(ctx.sshConfig, jump.host, { ...(jump.user === undefined ? {} : { user: jump.user }), homeDir: ctx.homeDir, localUser: ctx.localUser });
      const hopIdentity = await firstExisting(hop.identityFiles, ctx);
      proxyJump = {
        host: hop.hostName ?? jump.host,
        port: portOf(jump.port ?? hop.port, jumpAt, `the port of ProxyJump ${jumpSpec}`, ctx),
        user: jump.user ?? hop.user ?? ctx.localUser,
        ...(hopIdentity === undefined ? {} : { identityFile: hopIdentity }),
      };
    }
  }

  return {
    name: entry.name,
    host: facts.hostName ?? entry.host,
    port,
    user: entry.user ?? facts.user ?? ctx.localUser,
    ...(identityFile === undefined ? {} : { identityFile }),
    ...knownHostsOf(entry, facts, [...at, 'host'], ctx),
    // One spelling per folder, so that paths built from it compare equal (`/a/b/` and `/a//b` are `/a/b`).
    imageDir: posix.normalize(entry.imageDir).replace(/(.)\/$/, '$1'),
    ...(proxyJump === undefined ? {} : { proxyJump }),
    ...(entry.compression === undefined || entry.compression === 'auto' ? {} : { compression: entry.compression }),
    where: `controllers[${index}]`,
  };
}

/**
 * The known_hosts files: the deployment file's `knownHosts` (then the only user file), else the ssh config's
 * UserKnownHostsFile list, else ~/.ssh/known_hosts; and the config's GlobalKnownHostsFile. A relative path of the ssh
 * config is taken from the working directory, as ssh takes it.
 */
function knownHostsOf(entry: ControllerEntry, facts: SshHostFacts, at: readonly (string | number)[], ctx: ResolveContext): Pick<ControllerConfig, 'knownHosts' | 'moreKnownHosts' | 'globalKnownHosts'> {
  const fromConfig = (files: string[]) => files.map((f) => resolveLocal(f, process.cwd(), ctx.homeDir));
  const globals = facts.globalKnownHostsFiles === undefined ? {} : { globalKnownHosts: fromConfig(facts.globalKnownHostsFiles) };
  if (entry.knownHosts !== undefined) return { knownHosts: resolveLocal(entry.knownHosts, ctx.baseDir, ctx.homeDir), ...globals };
  const user = facts.userKnownHostsFiles === undefined ? [resolveLocal('~/.ssh/known_hosts', ctx.baseDir, ctx.homeDir)] : fromConfig(facts.userKnownHostsFiles);
  const [first, ...more] = user;
  if (first === undefined) {
    // ssh reads no user file then; vmctx needs one to check against and for --accept-new to write.
    ctx.problems.add(at, `the ssh config's UserKnownHostsFile for ${entry.host} is none: vmctx needs a known_hosts file; give knownHosts: here`);
    return { knownHosts: resolveLocal('~/.ssh/known_hosts', ctx.baseDir, ctx.homeDir), ...globals };
  }
  return { knownHosts: first, ...(more.length > 0 ? { moreKnownHosts: more } : {}), ...globals };
}

function portOf(text: string | undefined, at: readonly (string | number)[], what: string, ctx: ResolveContext): number {
  if (text === undefined) return 22;
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    ctx.problems.add(at, `${what} is ${JSON.stringify(text)}, not a port number`);
    return 22;
  }
  return port;
}

/** ssh tries every IdentityFile and skips the missing ones (a `Host *` block often lists several). */
async function firstExisting(paths: string[], ctx: ResolveContext): Promise<string | undefined> {
  for (const path of paths) {
    const absolute = resolveLocal(path, ctx.homeDir, ctx.homeDir);
    if ((await pathKind(absolute)) === 'file') return absolute;
  }
  return undefined;
}

export async function resolveImage(entry: ImageEntry, index: number, ctx: ResolveContext): Promise<ImageConfig> {
  // The schema let through a url only with its sha256: fetched by the build, into a cache chosen then (types.ts).
  if (entry.url !== undefined) {
    return { name: entry.name, path: '', url: entry.url, sha256: entry.sha256!.toLowerCase(), ...(entry.fetch === 'controller' ? { fetch: 'controller' as const } : {}), where: `images[${index}]` };
  }
  const path = resolveLocal(entry.path!, ctx.baseDir, ctx.homeDir);
  const kind = await pathKind(path);
  if (kind !== 'file') {
    const what = kind === 'missing' ? 'does not exist' : kind === 'folder' ? 'is a folder, not an image file' : 'is not a regular file';
    ctx.problems.add(['images', index, 'path'], `image ${entry.name}: ${path} ${what}`, 'CONFIG_IMAGE_NOT_FOUND', 'io');
  }
  return { name: entry.name, path, where: `images[${index}]` };
}
