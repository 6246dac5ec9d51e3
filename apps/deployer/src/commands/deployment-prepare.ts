/**
 * What a deployment command does before it talks to any controller: read the file (and its id), build the
 * artifacts, start the progress on stderr. Imported when a command runs, never at start-up (deployment-command.ts).
 */
import { resolve } from 'node:path';
import { buildArtifacts, type VmArtifacts } from '../artifacts/build.js';
import { ArtifactCache, defaultCacheDir } from '../artifacts/cache.js';
import type { CommandIo } from '../cli/command-io.js';
import { createProgress, type Progress } from '../cli/progress.js';
import { loadDeployment, type LoadOptions } from '../config/index.js';
import { chosenSshConfig } from '../config/ssh-config.js';
import type { Deployment } from '../config/types.js';
import { ensureDeploymentId, readDeploymentId } from '../deploy/deployment-id.js';
import type { DeploymentFlags } from './deployment-flags.js';

export interface Prepared {
  deployment: Deployment;
  artifacts: VmArtifacts[];
  progress: Progress;
}

/**
 * Reads the file, its id (made beside it when `makeId`: a deploy that writes) and builds the artifacts, whose owner
 * marks carry that id.
 */
export async function prepare(flags: DeploymentFlags, io: CommandIo, isTty: boolean, makeId = false): Promise<Prepared> {
  const deployment = await loadWithId(resolve(flags.file), makeId, await loadOptionsOf(flags, io.env));
  const cache = new ArtifactCache(flags.cache ? resolve(flags.cache) : defaultCacheDir());
  // A deploy that writes is the one run that needs the bytes of images given by URL (it uploads them); check, plan and
  // status read only their headers (artifacts/probe-image.ts).
  const artifacts = await buildArtifacts(deployment, { cache, images: makeId ? 'fetch' : 'probe' });
  const progress = createProgress({ write: io.stderr, tty: isTty && !flags.json, ...(flags.quiet ? { quiet: true } : {}) });
  for (const a of artifacts) for (const note of a.notes) progress.sink({ type: 'note', controller: a.controller.name, message: note });
  return { deployment, artifacts, progress };
}

/** How the flags and the environment say to read the deployment file: which ssh config (--ssh-config, $VMCTX_SSH_CONFIG). */
export async function loadOptionsOf(flags: Pick<DeploymentFlags, 'sshConfig'>, env: CommandIo['env']): Promise<LoadOptions> {
  const sshConfigPath = await chosenSshConfig(flags.sshConfig, env);
  return sshConfigPath === undefined ? {} : { sshConfigPath };
}

/** The deployment file and its id (deploy/deployment-id.ts): read, or made when `makeId` and there is none yet. */
export async function loadWithId(file: string, makeId: boolean, options: LoadOptions = {}): Promise<Deployment> {
  const deployment = await loadDeployment(file, options);
  const id = makeId ? await ensureDeploymentId(file) : await readDeploymentId(file);
  return id === undefined ? deployment : { ...deployment, id };
}

