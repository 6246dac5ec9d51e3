/**
 * `vmctx plan --file F`: builds the artifacts and shows, per controller, what `deploy` would do (create,
 * replace and why, unchanged, domains the file no longer has, uploads). Changes nothing. Exit codes as
 * `terraform plan -detailed-exitcode`: 0 no change, 2 changes, 1 an error (the file, an artifact, a flag, a controller
 * unreachable or refused; with --json, an error is a JSON document on stdout too); --no-detailed-exitcode ends 0 on
 * changes too, for Nx (its targets pass it).
 */
import { Command } from 'commander';
import { processIo, withCliDefaults, type CommandIo } from '../cli/command-io.js';
import { collectReplace } from './deployment-flags.js';
import { deploymentAction, planExitCode, withDeploymentOptions, withPlanExitOption, type DeploymentFlags } from './deployment-command.js';

export function planCommand(io: CommandIo = processIo, isTty = Boolean(process.stderr.isTTY)): Command {
  return withPlanExitOption(withDeploymentOptions(withCliDefaults(new Command('plan'), io)), 'how plan exits')
    .description('show what deploy would change on each controller, and change nothing (exit 0: none, 2: changes, 1: error)')
    .option('--prune', "plan the removal of this deployment's domains that the file no longer has")
    .option('--replace <vm>', 'plan this VM made anew over a new disk whatever changed (repeatable)', collectReplace, [])
    .action(
      deploymentAction(
        io,
        isTty,
        async ({ deployment, artifacts, progress }, flags: DeploymentFlags & { prune?: boolean; replace: string[]; detailedExitcode: boolean }) =>
          (await import('../deploy/deploy.js')).runDeploy(deployment, artifacts, { acceptNew: flags.acceptNew ?? false, events: progress.sink, wait: false, waitTimeoutMs: 0, prune: flags.prune ?? false, dryRun: true, replace: flags.replace }),
        async (report) => (await import('../deploy/report-text.js')).formatPlan(report),
        (report, flags) => planExitCode(report, flags.detailedExitcode),
        { isPlan: () => true },
      ),
    )
    // A usage error (an unknown flag) is an error too: 1, not commander's 2, which is plan's "changes".
    .exitOverride((err) => io.exit(err.exitCode === 0 ? 0 : 1));
}
