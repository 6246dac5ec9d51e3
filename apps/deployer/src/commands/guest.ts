/**
 * `vmctx guest`: the guest side of contextualization, for people who prepare base images.
 *
 *   vmctx guest script                print /usr/local/bin/contextualization
 *   vmctx guest install ROOT          put it, its rc.local call and (systemd images) its unit into a root folder
 *   vmctx guest install-script        print a POSIX sh installer to run inside an image (`sh install.sh [ROOT]`)
 *
 * Exit codes: 0 done, 1 failure (I/O), 2 bad usage or bad input. guest-script is imported when a subcommand runs.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { commandErrorFrom, type CommandIo, type PackageErrors, processIo, withCliDefaults } from '../cli/command-io.js';
import type { InstallOptions } from '@vmctx/guest-script';

/** GuestScriptError codes that mean the machine failed rather than the input was bad; system I/O errors too. */
const GUEST_ERRORS: PackageErrors = { name: 'GuestScriptError', failureCodes: new Set(['GUEST_INSTALL_FAILED']), systemErrors: true };
export const asCommandError = (error: unknown) => commandErrorFrom(error, GUEST_ERRORS);

function seconds(value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError('expected a whole number of seconds');
  return Number(value);
}

interface ScriptFlags {
  label?: string;
  everyBoot?: boolean;
  timeout?: number;
  dhcpTimeout?: number;
  interface?: string;
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

export function guestCommand(io: CommandIo = processIo): Command {
  const setup = (cmd: Command): Command => withCliDefaults(cmd, io);

  const withScriptOptions = (cmd: Command): Command =>
    cmd
      .option('--label <label>', 'volume label of the context CD', 'CONTEXT')
      .option('--every-boot', 'run post-install at every boot, not once per instance id')
      .option('--timeout <seconds>', 'time post-install may take before it is stopped (default 300)', seconds)
      .option('--dhcp-timeout <seconds>', 'time a DHCP client may take (default 60)', seconds)
      .option('--interface <name>', 'interface for the DHCP fallback (default: the first that is not lo)');

  const guest = setup(new Command('guest')).description('the contextualization script that runs in the guest, and its installer');

  withScriptOptions(setup(guest.command('script')))
    .description('print the contextualization script (/usr/local/bin/contextualization)')
    .action(async (flags: ScriptFlags) => {
      try {
        const { contextualizationScript } = await import('@vmctx/guest-script');
        io.stdout(contextualizationScript(scriptOptions(flags)));
      } catch (error) {
        throw asCommandError(error);
      }
    });

  withScriptOptions(setup(guest.command('install')))
    .description('install the script, its /etc/rc.local call and (systemd images) its unit into a root folder')
    .argument('<root>', "the image's root file system folder")
    .addOption(new Option('--rc-local <when>', 'create /etc/rc.local when missing').choices(['auto', 'always', 'never']).default('auto'))
    .addOption(new Option('--systemd <when>', 'install the systemd unit').choices(['auto', 'always', 'never']).default('auto'))
    .action(async (root: string, flags: ScriptFlags & { rcLocal: 'auto' | 'always' | 'never'; systemd: 'auto' | 'always' | 'never' }) => {
      try {
        const { installInto } = await import('@vmctx/guest-script');
        const options = scriptOptions(flags);
        options.systemd = flags.systemd;
        if (flags.rcLocal !== 'auto') options.createRcLocal = flags.rcLocal === 'always';
        const steps = await installInto(root, options);
        for (const step of steps) io.stderr(`${step.action.padEnd(9)} ${step.path}\n`);
      } catch (error) {
        throw asCommandError(error);
      }
    });

  withScriptOptions(setup(guest.command('install-script')))
    .description('print a POSIX sh installer to run inside an image: sh install.sh [ROOT]')
    .addOption(new Option('--rc-local <when>', 'create /etc/rc.local when missing').choices(['auto', 'always', 'never']).default('auto'))
    .addOption(new Option('--systemd <when>', 'install the systemd unit').choices(['auto', 'always', 'never']).default('auto'))
    .action(async (flags: ScriptFlags & { rcLocal: 'auto' | 'always' | 'never'; systemd: 'auto' | 'always' | 'never' }) => {
      try {
        const { installScript } = await import('@vmctx/guest-script');
        const options = scriptOptions(flags);
        options.systemd = flags.systemd;
        if (flags.rcLocal !== 'auto') options.createRcLocal = flags.rcLocal === 'always';
        io.stdout(installScript(options));
      } catch (error) {
        throw asCommandError(error);
      }
    });

  return guest;
}
