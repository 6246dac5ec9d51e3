/**
 * What every command that works on a deployment file shares: its options (--file, --ssh-config, --accept-new,
 * --cache, --json), and how it runs and ends. Light on purpose: `vmctx --version` and every `--help` load this
 * file, and what reads the file, builds the artifacts and talks to controllers (zod, yaml, ssh2, the builders) is
 * imported only when a command runs (deployment-prepare.ts, and each command's own run).
 */
import type { Command } from 'commander';
import { isVmctxError } from '@vmctx/contract';
import { action, formatError } from '../cli/action.js';
import type { CommandIo } from '../cli/command-io.js';
import { SSH_CONFIG_ENV } from '../config/ssh-config-env.js';
import type { DeployReport } from '../deploy/deploy.js';
import type { DeploymentFlags } from './deployment-flags.js';
import type { Prepared } from './deployment-prepare.js';

/** The deployment file read when --file is not given (the Nx targets document the same). */
export const DEFAULT_DEPLOYMENT_FILE = 'deployment.yaml';

export type { DeploymentFlags } from './deployment-flags.js';

export function withDeploymentOptions(command: Command): Command {
  return command
    .option('-f, --file <file>', 'the deployment file (YAML or JSON)', DEFAULT_DEPLOYMENT_FILE)
    .option('--ssh-config <file>', `the ssh config that resolves controller aliases, as ssh -F ('none': read none; default $${SSH_CONFIG_ENV}, else ~/.ssh/config)`)
    .option('--accept-new', 'record the host key of a controller not yet in known_hosts (a changed key is always refused)')
    .option('--cache <dir>', 'local artifact cache (default $XDG_CACHE_HOME/vmctx or ~/.cache/vmctx)')
    .option('--json', 'print the report as JSON on stdout (messages stay on stderr)')
    .option('-q, --quiet', 'print only failures and notes while working');
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
  text: (report: R) => string | Promise<string>,
  exitCode: (report: R, flags: F) => number,
  options: DeploymentActionOptions<F> = {},
): (flags: F) => Promise<void> {
  return action(io, async (flags: F) => {
    try {
      const { prepare } = await import('./deployment-prepare.js');
      const prepared = await prepare(flags, io, isTty, options.makesId?.(flags) ?? false);
      let report: R;
      try {
        report = await run(prepared, flags);
      } finally {
        prepared.progress.stop();
      }
      io.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : await text(report));
      return exitCode(report, flags);
    } catch (error) {
      if (!options.isPlan?.(flags)) throw error;
      io.stderr(formatError(error));
      if (flags.json) io.stdout(`${JSON.stringify({ error: isVmctxError(error) ? error.toJSON() : { code: 'DEPLOY_UNEXPECTED', kind: 'internal', message: String(error) } }, null, 2)}\n`);
      return 1;
    }
  });
}
