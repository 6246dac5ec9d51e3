import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { diskCommand } from './commands/disk.js';
import { templateCommand } from './commands/template.js';
import { guestCommand } from './commands/guest.js';
import { contextCommand } from './commands/context.js';
import { isoCommand } from './commands/iso.js';
import { checkCommand } from './commands/check.js';
import { deployCommand } from './commands/deploy.js';
import { planCommand } from './commands/plan.js';
import { destroyCommand } from './commands/destroy.js';
import { statusCommand } from './commands/status.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * The `vmctx` command tree. Each subcommand lives in `commands/<name>.ts` and is registered here;
 * data goes to stdout, messages to stderr. Exit codes: see README.md (one place: exitCodeOf of @vmctx/contract).
 */
export function createProgram(): Command {
  const program = new Command('vmctx')
    .description('Contextualized KVM virtual machines on a cluster of libvirt hosts')
    .version(version)
    // Program options only before the subcommand: `vmctx iso -V LABEL` is genisoimage's volume label,
    // `vmctx -V` the version.
    .enablePositionalOptions()
    .showHelpAfterError()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  program.addCommand(diskCommand());
  program.addCommand(templateCommand());
  program.addCommand(guestCommand());
  program.addCommand(contextCommand());
  program.addCommand(isoCommand());
  program.addCommand(checkCommand());
  program.addCommand(deployCommand());
  program.addCommand(planCommand());
  program.addCommand(statusCommand());
  program.addCommand(destroyCommand());
  return program;
}
