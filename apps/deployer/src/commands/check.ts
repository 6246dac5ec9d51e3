/**
 * `vmctx check --file F`: every controller the deployment uses, in parallel: host key, libvirt, bridges and
 * networks, the image folder and its room, `iso:` paths, and names, UUIDs and MACs held by foreign domains.
 * Exit 0 when every controller is ready, 1 when any finding is an error.
 */
import { Command } from 'commander';
import { action } from '../cli/action.js';
import { processIo, withCliDefaults, type CommandIo } from '../cli/command-io.js';
import { runCheck } from '../deploy/check.js';
import { formatCheckReport } from '../deploy/report-text.js';
import { prepare, withDeploymentOptions, type DeploymentFlags } from './deployment-command.js';

export function checkCommand(io: CommandIo = processIo, isTty = Boolean(process.stderr.isTTY)): Command {
  return withDeploymentOptions(withCliDefaults(new Command('check'), io))
    .description('check every controller of a deployment before anything is written there')
    .action(
      action(io, async (flags: DeploymentFlags) => {
        const { deployment, artifacts, progress } = await prepare(flags, io, isTty);
        const report = await runCheck(deployment, artifacts, { acceptNew: flags.acceptNew ?? false, events: progress.sink });
        progress.stop();
        io.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatCheckReport(report));
        return report.ok ? 0 : 1;
      }),
    );
}
