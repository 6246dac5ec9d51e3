/**
 * `vmctx guest`: the guest side of contextualization, for people who prepare base images.
 *
 *   vmctx guest script                print /usr/local/bin/contextualization
 *   vmctx guest install ROOT          put it, its rc.local call and (systemd images) its unit into a root folder
 *   vmctx guest install-script        print a POSIX sh installer to run inside an image (`sh install.sh [ROOT]`)
 *   vmctx guest uninstall ROOT        take out of a root folder what install put there (`sh install.sh --uninstall`)
 *
 * Exit codes from the kind of the error (cli/action.ts): 0 done, 1 failure (I/O), 2 bad usage or bad input.
 * guest-script is imported when a subcommand runs.
 */
import { Command, Option } from 'commander';
import { action } from '../cli/action.js';
import { type CommandIo, processIo, withCliDefaults } from '../cli/command-io.js';
import { labelOption, wholeNumber } from '../cli/options.js';
import type { InstallOptions } from '@vmctx/guest-script';

// guest-script's bounds of its timeouts, checked here so that a refusal names the option (--timeout), not timeoutSeconds.
const seconds = wholeNumber('expected a whole number of seconds from 1 to 86400', { min: 1, max: 86_400 });

type When = 'auto' | 'always' | 'never';

interface ScriptFlags {
  label?: string;
  everyBoot?: boolean;
  timeout?: number;
  dhcpTimeout?: number;
  interface?: string;
}

interface InstallFlags extends ScriptFlags {
  rcLocal: When;
  systemd: When;
}

/** The options of the script itself, which every subcommand takes. */
function withScriptOptions(cmd: Command): Command {
  return cmd
    .addOption(labelOption('--label <label>', 'volume label of the context CD'))
    .option('--every-boot', 'run post-install at every boot, not once per instance id')
    .option('--timeout <seconds>', 'time post-install may take before it is stopped (default 300)', seconds)
    .option('--dhcp-timeout <seconds>', 'time a DHCP client may take (default 60)', seconds)
    .option('--interface <name>', 'interface for the DHCP fallback (default: the first that is not lo)');
}

/** The options of an installation, which `install` and `install-script` take. */
function withInstallOptions(cmd: Command): Command {
  return withScriptOptions(cmd)
    .addOption(new Option('--rc-local <when>', 'create /etc/rc.local when missing').choices(['auto', 'always', 'never']).default('auto'))
    .addOption(new Option('--systemd <when>', 'install the systemd unit').choices(['auto', 'always', 'never']).default('auto'));
}

function scriptOptions(flags: ScriptFlags): InstallOptions {
  const options: InstallOptions = {};
  if (flags.label !== undefined) options.label = flags.label;
  if (flags.everyBoot) options.everyBoot = true;
  if (flags.timeout !== undefined) options.timeoutSeconds = flags.timeout;
  if (flags.dhcpTimeout !== undefined) options.dhcpTimeoutSeconds = flags.dhcpTimeout;
  if (flags.interface !== undefined) options.interface = flags.interface;
  return options;
}

function installOptions(flags: InstallFlags): InstallOptions {
  const options = scriptOptions(flags);
  options.systemd = flags.systemd;
  if (flags.rcLocal !== 'auto') options.createRcLocal = flags.rcLocal === 'always';
  return options;
}

export function guestCommand(io: CommandIo = processIo): Command {
  const setup = (cmd: Command): Command => withCliDefaults(cmd, io);

  const guest = setup(new Command('guest')).description('the contextualization script that runs in the guest, and its installer');

  withScriptOptions(setup(guest.command('script')))
    .description('print the contextualization script (/usr/local/bin/contextualization)')
    .action(action(io, async (flags: ScriptFlags) => {
      const { contextualizationScript } = await import('@vmctx/guest-script');
      io.stdout(contextualizationScript(scriptOptions(flags)));
    }));

  withInstallOptions(setup(guest.command('install')))
    .description('install the script, its /etc/rc.local call and (systemd images) its unit into a root folder')
    .argument('<root>', "the image's root file system folder")
    .action(action(io, async (root: string, flags: InstallFlags) => {
      const { installInto } = await import('@vmctx/guest-script');
      const steps = await installInto(root, installOptions(flags));
      for (const step of steps) io.stderr(`${step.action.padEnd(9)} ${step.path}\n`);
    }));

  setup(guest.command('uninstall'))
    .description('take out of a root folder what install put there: the script, its units, its udev rule, its rc.local call')
    .argument('<root>', "the image's root file system folder")
    .action(action(io, async (root: string) => {
      const { uninstallFrom } = await import('@vmctx/guest-script');
      // Every step of the plan, whatever the options of the install: what is not there is passed over.
      const steps = await uninstallFrom(root);
      for (const step of steps) io.stderr(`${step.action.padEnd(9)} ${step.path}\n`);
      if (steps.length === 0) io.stderr(`nothing of vmctx's script in ${root}\n`);
    }));

  withInstallOptions(setup(guest.command('install-script')))
    .description('print a POSIX sh installer to run inside an image: sh install.sh [ROOT]')
    .action(action(io, async (flags: InstallFlags) => {
      const { installScript } = await import('@vmctx/guest-script');
      io.stdout(installScript(installOptions(flags)));
    }));

  return guest;
}
