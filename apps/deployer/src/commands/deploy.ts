/**
 * `vmctx deploy --file F [--wait]`: builds the artifacts, checks each controller, uploads what is missing,
 * defines and starts the VMs on every controller in parallel, undoes a VM that fails half-way, and prints what
 * each VM ended as. Exit 0 when every VM runs (and, with --wait, was contextualized), 1 otherwise.
 */
import { Command } from 'commander';
import { processIo, withCliDefaults, type CommandIo } from '../cli/command-io.js';
import { askOnTerminal, canAskOnTerminal, type Confirm } from '../cli/confirm.js';
import { wholeNumber } from '../cli/options.js';
import { DEFAULT_LOCK_WAIT_SECONDS } from '../controller/lock-wait.js';
import { collectReplace } from './deployment-flags.js';
import { deploymentAction, planExitCode, withDeploymentOptions, withPlanExitOption, type DeploymentFlags } from './deployment-command.js';

interface DeployFlags extends DeploymentFlags {
  wait?: boolean;
  timeout: number;
  prune?: boolean;
  dryRun?: boolean;
  lockWait: number;
  detailedExitcode: boolean;
  allowDiskLoss?: boolean;
  restartIfNeeded?: boolean;
  shutdownTimeout: number;
  replace: string[];
}

export function deployCommand(io: CommandIo = processIo, isTty = Boolean(process.stderr.isTTY), ask: { can: boolean; confirm: Confirm } = { can: canAskOnTerminal(), confirm: askOnTerminal }): Command {
  return withPlanExitOption(withDeploymentOptions(withCliDefaults(new Command('deploy'), io)), 'how --dry-run exits')
    .description('put every VM of a deployment on its controller: check, upload, define, start')
    .option('--wait', 'wait until each guest says it was contextualized')
    .option('--timeout <seconds>', 'how long --wait waits for each guest', wholeNumber('expected a whole number of seconds, 1 to 86400', { min: 1, max: 86_400 }), 300)
    .option('--prune', "remove this deployment's domains that the file no longer has")
    .option('--dry-run', 'show the plan and change nothing, and exit as vmctx plan does (0 none, 2 changes, 1 error)')
    .option('--lock-wait <seconds>', 'how long to wait for another run of this deployment to let a controller go', wholeNumber('expected a whole number of seconds, 0 to 86400', { min: 0, max: 86_400 }), DEFAULT_LOCK_WAIT_SECONDS)
    .option('--restart-if-needed', 'restart a running VM whose change cannot be applied live (restart: when-needed for every VM; else as each VM says, default never)')
    .option('--shutdown-timeout <seconds>', 'how long a restart lets a guest shut down (ACPI) before it powers it off', wholeNumber('expected a whole number of seconds, 0 to 3600', { min: 0, max: 3600 }), 60)
    .option('--replace <vm>', 'make this VM anew over a new disk whatever changed (repeatable; its disk is lost, as in any replace)', collectReplace, [])
    .option('--allow-disk-loss', 'replace VMs whose change makes their disks anew, losing what their guests wrote (asked on a terminal; otherwise they are held, and the run fails)')
    .action(
      deploymentAction(
        io,
        isTty,
        async ({ deployment, artifacts, progress }, flags: DeployFlags) => {
          const { runDeploy } = await import('../deploy/deploy.js');
          const options = {
            acceptNew: flags.acceptNew ?? false,
            events: progress.sink,
            wait: flags.wait ?? false,
            waitTimeoutMs: flags.timeout * 1000,
            prune: flags.prune ?? false,
            dryRun: flags.dryRun ?? false,
            lockWaitSeconds: flags.lockWait,
            restartIfNeeded: flags.restartIfNeeded ?? false,
            shutdownGraceMs: flags.shutdownTimeout * 1000,
            replace: flags.replace,
          };
          if (flags.allowDiskLoss || flags.dryRun || !ask.can) return runDeploy(deployment, artifacts, { ...options, allowDiskLoss: flags.allowDiskLoss ?? false });
          // On a terminal: what would be replaced is planned first and asked; only the VMs confirmed may be (a replace
          // that shows up between the two runs is held).
          const preview = await runDeploy(deployment, artifacts, { ...options, dryRun: true, events: () => undefined });
          const replacing = preview.controllers.flatMap((c) => (c.plan?.steps ?? []).filter((s) => s.action === 'replace').map((s) => ({ vm: s.vm, line: `  ${c.controller}/${s.vm}: ${s.reasons.join('; ')}; its disk ${s.lostDisk}` })));
          let allowed: string[] = [];
          if (replacing.length > 0) {
            progress.release();
            const question = `deploy would replace ${replacing.length} VM(s), making their disks anew: what their guests wrote there is lost.\n${replacing.map((r) => r.line).join('\n')}\nReplace them?`;
            if (await ask.confirm(question)) allowed = replacing.map((r) => r.vm);
          }
          return runDeploy(deployment, artifacts, { ...options, allowDiskLoss: allowed });
        },
        async (report) => {
          const { formatDeployReport, formatPlan } = await import('../deploy/report-text.js');
          return report.dryRun ? formatPlan(report) : formatDeployReport(report);
        },
        // --dry-run is a plan, and ends as one.
        (report, flags) => (report.dryRun ? planExitCode(report, flags.detailedExitcode) : report.ok ? 0 : 1),
        { makesId: (flags) => !flags.dryRun, isPlan: (flags) => flags.dryRun ?? false },
      ),
    );
}
