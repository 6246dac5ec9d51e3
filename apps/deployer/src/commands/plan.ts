/**
 * `vmctx plan --file F`: builds the artifacts and shows, per controller, what `deploy` would do (create,
 * replace and why, unchanged, domains the file no longer has, uploads). Changes nothing. Exit codes as
 * `terraform plan -detailed-exitcode`: 0 no change, 2 changes, 1 an error (a controller unreachable or refused).
 */
import { Command } from 'commander';
import { action } from '../cli/action.js';
import { processIo, withCliDefaults, type CommandIo } from '../cli/command-io.js';
import { runDeploy } from '../deploy/deploy.js';
import { formatPlan } from '../deploy/report-text.js';
import { prepare, withDeploymentOptions, type DeploymentFlags } from './deployment-command.js';

export function planCommand(io: CommandIo = processIo, isTty = Boolean(process.stderr.isTTY)): Command {
  return withDeploymentOptions(withCliDefaults(new Command('plan'), io))
    .description('show what deploy would change on each controller, and change nothing (exit 0: none, 2: changes, 1: error)')
    .option('--prune', "plan the removal of this deployment's domains that the file no longer has")
    .action(
      action(io, async (flags: DeploymentFlags & { prune?: boolean }) => {
        const { deployment, artifacts, progress } = await prepare(flags, io, isTty);
        const report = await runDeploy(deployment, artifacts, {
          acceptNew: flags.acceptNew ?? false,
          events: progress.sink,
          wait: false,
          waitTimeoutMs: 0,
          prune: flags.prune ?? false,
          dryRun: true,
        });
        progress.stop();
        io.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatPlan(report));
        if (report.controllers.some((c) => c.error || c.refused)) return 1;
        return report.changes ? 2 : 0;
      }),
    );
}
