/**
 * `vmctx destroy --file F`: stops and undefines the deployment's domains on every controller of the file and
 * removes the files it created there (base images only once no domain there uses them). Asks on a TTY; needs
 * --yes otherwise. --dry-run shows what would go.
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { action } from '../cli/action.js';
import { askOnTerminal, canAskOnTerminal, type Confirm } from '../cli/confirm.js';
import { processIo, withCliDefaults, type CommandIo } from '../cli/command-io.js';
import { usage } from '../cli/errors.js';
import { createProgress } from '../cli/progress.js';
import { DEFAULT_LOCK_WAIT_SECONDS } from '../controller/lock-wait.js';
import { wholeNumber } from '../cli/options.js';
import { withDeploymentOptions, type DeploymentFlags } from './deployment-command.js';

interface DestroyFlags extends DeploymentFlags {
  yes?: boolean;
  dryRun?: boolean;
  lockWait: number;
}

export function destroyCommand(io: CommandIo = processIo, isTty = canAskOnTerminal(), confirm: Confirm = askOnTerminal): Command {
  return withDeploymentOptions(withCliDefaults(new Command('destroy'), io))
    .description("stop and undefine the deployment's domains and remove the files it created on its controllers")
    .option('-y, --yes', 'do not ask')
    .option('--dry-run', 'show what would be removed, and remove nothing')
    .option('--lock-wait <seconds>', 'how long to wait for another run of this deployment to let a controller go', wholeNumber('expected a whole number of seconds, 0 to 86400', { min: 0, max: 86_400 }), DEFAULT_LOCK_WAIT_SECONDS)
    .action(
      action(io, async (flags: DestroyFlags) => {
        const { loadOptionsOf, loadWithId } = await import('./deployment-prepare.js');
        const deployment = await loadWithId(resolve(flags.file), false, await loadOptionsOf(flags, io.env));
        const dryRun = flags.dryRun ?? false;
        if (!dryRun && !flags.yes) {
          if (!isTty) throw usage(`destroy removes the domains and files of ${deployment.name}; give --yes when not on a terminal (or --dry-run to see what would go)`);
          const where = deployment.controllers.map((c) => c.name).join(', ');
          if (!(await confirm(`Destroy every domain and file of deployment ${deployment.name} on ${where}?`))) {
            io.stderr('vmctx: nothing destroyed\n');
            return 1;
          }
        }
        const progress = createProgress({ write: io.stderr, tty: isTty && !flags.json, ...(flags.quiet ? { quiet: true } : {}) });
        const { runDestroy } = await import('../deploy/destroy.js');
        const report = await runDestroy(deployment, { acceptNew: flags.acceptNew ?? false, events: progress.sink, dryRun, lockWaitSeconds: flags.lockWait });
        progress.stop();
        io.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : (await import('../deploy/report-text.js')).formatDestroy(report));
        return report.ok ? 0 : 1;
      }),
    );
}
