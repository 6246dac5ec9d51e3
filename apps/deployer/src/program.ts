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
import { type CommandIo, processIo, withCliDefaults } from './cli/command-io.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * The `vmctx` command tree. Each subcommand lives in `commands/<name>.ts` and is registered here;
 * data goes to stdout, messages to stderr. Exit codes: see README.md (one place: exitCodeOf of @vmctx/contract);
 * a usage error at any level (`vmctx`, `vmctx bogus`, `vmctx --bogus`, a subcommand's unknown option or missing
 * argument) exits 2 with the usage line and a hint on stderr (cli/command-io.ts).
 */
export function createProgram(io: CommandIo = processIo): Command {
  const program = withCliDefaults(new Command('vmctx'), io)
    .description('Contextualized KVM virtual machines on a cluster of libvirt hosts')
    .version(version)
    // Program options only before the subcommand: `vmctx iso -V LABEL` is genisoimage's volume label,
    // `vmctx -V` the version.
    .enablePositionalOptions();
  program.addCommand(diskCommand(io));
  program.addCommand(templateCommand(io));
  program.addCommand(guestCommand(io));
  program.addCommand(contextCommand(io));
  program.addCommand(isoCommand(io));
  program.addCommand(checkCommand(io));
  program.addCommand(deployCommand(io));
  program.addCommand(planCommand(io));
  program.addCommand(statusCommand(io));
  program.addCommand(destroyCommand(io));
  return program;
}
