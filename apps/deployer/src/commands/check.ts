/**
 * `vmctx check --file F`: every controller the deployment uses, in parallel: host key, libvirt, bridges and
 * networks, the image folder and its room, `iso:` paths, and names, UUIDs and MACs held by foreign domains.
 * Exit 0 when every controller is ready, 1 when any finding is an error.
 */
import { Command } from 'commander';
import { processIo, withCliDefaults, type CommandIo } from '../cli/command-io.js';
import { deploymentAction, withDeploymentOptions, type DeploymentFlags } from './deployment-command.js';

export function checkCommand(io: CommandIo = processIo, isTty = Boolean(process.stderr.isTTY)): Command {
  return withDeploymentOptions(withCliDefaults(new Command('check'), io))
    .description('check every controller of a deployment before anything is written there')
    .action(
      deploymentAction(
        io,
        isTty,
        async ({ deployment, artifacts, progress }, flags: DeploymentFlags) =>
          (await import('../deploy/check.js')).runCheck(deployment, artifacts, { acceptNew: flags.acceptNew ?? false, events: progress.sink }),
        async (report) => (await import('../deploy/report-text.js')).formatCheckReport(report),
        (report) => (report.ok ? 0 : 1),
      ),
    );
}
