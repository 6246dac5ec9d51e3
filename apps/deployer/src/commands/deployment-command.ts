/**
 * What every command that works on a deployment file shares: its options (--file, --ssh-config, --accept-new,
 * --cache, --json), reading the file and building the artifacts before any connection is opened, and the progress
 * shown on stderr.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { buildArtifacts, type VmArtifacts } from '../artifacts/build.js';
import { ArtifactCache, defaultCacheDir } from '../artifacts/cache.js';
import { isVmctxError } from '@vmctx/contract';
import { action, formatError } from '../cli/action.js';
import type { CommandIo } from '../cli/command-io.js';
import { createProgress, type Progress } from '../cli/progress.js';
import { loadDeployment, type LoadOptions } from '../config/index.js';
import { chosenSshConfig, SSH_CONFIG_ENV } from '../config/ssh-config.js';
import type { Deployment } from '../config/types.js';
import type { DeployReport } from '../deploy/deploy.js';
import { ensureDeploymentId, readDeploymentId } from '../deploy/deployment-id.js';

/** The deployment file read when --file is not given (the Nx targets document the same). */
export const DEFAULT_DEPLOYMENT_FILE = 'deployment.yaml';

export interface DeploymentFlags {
  file: string;
  sshConfig?: string;
  acceptNew?: boolean;
  cache?: string;
  json?: boolean;
  quiet?: boolean;
}

export function withDeploymentOptions(command: Command): Command {
  return command
    .option('-f, --file <file>', 'the deployment file (YAML or JSON)', DEFAULT_DEPLOYMENT_FILE)
    .option('--ssh-config <file>', `the ssh config that resolves controller aliases, as ssh -F ('none': read none; default $${SSH_CONFIG_ENV}, else ~/.ssh/config)`)
    .option('--accept-new', 'record the host key of a controller not yet in known_hosts (a changed key is always refused)')
    .option('--cache <dir>', 'local artifact cache (default $XDG_CACHE_HOME/vmctx or ~/.cache/vmctx)')
    .option('--json', 'print the report as JSON on stdout (messages stay on stderr)')
    .option('-q, --quiet', 'print only failures and notes while working');
}

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

/**
 * How `plan` (and `deploy --dry-run`) ends: 0 no change, 2 changes, 1 an error (terraform plan -detailed-exitcode).
 * Without `detailed` (`--no-detailed-exitcode`), changes end 0 too: for runners that call any non-zero exit a
 * failure, such as Nx, which turns 2 into 1 and prints "failed".
 */
export function planExitCode(report: DeployReport, detailed = true): number {
  return report.controllers.some((c) => c.error || c.refused) ? 1 : report.changes && detailed ? 2 : 0;
}

/** The option that says how a plan ends; its flag is `detailedExitcode` (true unless --no-detailed-exitcode). */
export function withPlanExitOption(command: Command, what: string): Command {
  return command.option('--no-detailed-exitcode', `${what}: 0 with or without changes, 1 error, where by default changes end 2 (for Nx and other runners that read 2 as a failure)`);
}

export interface DeploymentActionOptions<F> {
  /** Whether this run may make the deployment's id (a deploy that writes). */
  makesId?: (flags: F) => boolean;
  /**
   * Whether this run is a plan: then 2 means "changes", so every error (a bad file, a refused template, a wrong
   * sha256) exits 1, and with --json is a JSON document on stdout too, for the pipeline that reads it.
   */
  isPlan?: (flags: F) => boolean;
}

/**
 * The action of a command that works on the deployment's controllers (check, plan, deploy, status): read and
 * build first, run with progress on stderr (stopped however the run ends), then the report on stdout as JSON or
 * text, and the exit code the report calls for.
 */
export function deploymentAction<F extends DeploymentFlags, R>(
  io: CommandIo,
  isTty: boolean,
  run: (prepared: Prepared, flags: F) => Promise<R>,
  text: (report: R) => string,
  exitCode: (report: R, flags: F) => number,
  options: DeploymentActionOptions<F> = {},
): (flags: F) => Promise<void> {
  return action(io, async (flags: F) => {
    try {
      const prepared = await prepare(flags, io, isTty, options.makesId?.(flags) ?? false);
      let report: R;
      try {
        report = await run(prepared, flags);
      } finally {
        prepared.progress.stop();
      }
      io.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : text(report));
      return exitCode(report, flags);
    } catch (error) {
      if (!options.isPlan?.(flags)) throw error;
      io.stderr(formatError(error));
      if (flags.json) io.stdout(`${JSON.stringify({ error: isVmctxError(error) ? error.toJSON() : { code: 'DEPLOY_UNEXPECTED', kind: 'internal', message: String(error) } }, null, 2)}\n`);
      return 1;
    }
  });
}
