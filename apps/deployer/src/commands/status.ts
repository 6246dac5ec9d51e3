/**
 * `vmctx status --file F`: per VM its controller, libvirt state, address when known, and whether what is on
 * the controller matches what the file builds (drift). Exit 0 when every VM is deployed and in sync, 1 otherwise.
 */
import { Command } from 'commander';
import { processIo, withCliDefaults, type CommandIo } from '../cli/command-io.js';
import { deploymentAction, withDeploymentOptions, type DeploymentFlags } from './deployment-command.js';

export function statusCommand(io: CommandIo = processIo, isTty = Boolean(process.stderr.isTTY)): Command {
  return withDeploymentOptions(withCliDefaults(new Command('status'), io))
    .description("each VM's controller, state, address, and whether its artifacts on the controller match the file")
    .action(
      deploymentAction(
        io,
        isTty,
        async ({ deployment, artifacts, progress }, flags: DeploymentFlags) =>
          (await import('../deploy/status.js')).runStatus(deployment, artifacts, { acceptNew: flags.acceptNew ?? false, events: progress.sink }),
        async (report) => (await import('../deploy/report-text.js')).formatStatus(report),
        (report) => (report.inSync ? 0 : 1),
      ),
    );
}
