/**
 * `vmctx iso`: an ISO 9660 image with Rock Ridge and Joliet from a folder, taking genisoimage's common flags
 * so that a pipeline can swap `genisoimage -R -J -V LABEL -o out.iso DIR` for `vmctx iso -R -J -V LABEL -o out.iso DIR`.
 * genisoimage's single-dash long options (-quiet, -volid, -rock, -joliet, -rational-rock, -output,
 * -input-charset) are taken too. Rock Ridge and Joliet are always written; -r rationalizes owners and modes
 * as genisoimage -r does; -D writes directories deeper than 8 levels where they are (genisoimage -D);
 * --epoch (default SOURCE_DATE_EPOCH) dates everything for reproducible bytes. Without -o the image goes
 * to stdout.
 *
 * Exit codes: 0 done, 1 failure (I/O), 2 bad usage or bad input (label, tree, names, a file that changed).
 * iso-builder is imported when the command runs, to keep `vmctx` start-up lean.
 */
import { Command, Option } from 'commander';
import { CommandError, commandErrorFrom, type PackageErrors, withCliDefaults } from '../cli/command-io.js';
import type { Writable } from 'node:stream';

export interface IsoIo {
  stderr: (text: string) => void;
  /** Where the image goes without -o. */
  stdout: Writable & { isTTY?: boolean };
  /** Ends the process after a usage error or a help display (commander has printed what to say). */
  exit: (code: number) => never;
  env: Record<string, string | undefined>;
}

const defaultIo: IsoIo = {
  stderr: (text) => process.stderr.write(text),
  stdout: process.stdout,
  exit: (code) => process.exit(code),
  env: process.env,
};

/** iso-builder error codes that mean the machine failed rather than the input was bad. */
const ISO_ERRORS: PackageErrors = { codePrefix: 'ISO_', failureCodes: new Set(['ISO_WRITE_FAILED', 'ISO_READ_FAILED']) };
const asCommandError = (error: unknown) => commandErrorFrom(error, ISO_ERRORS);

/** genisoimage's single-dash long options, as this command's double-dash ones. */
const LONG_SINGLE_DASH = new Map([
  ['-quiet', '--quiet'],
  ['-volid', '--volid'],
  ['-rock', '--rock'],
  ['-joliet', '--joliet'],
  ['-rational-rock', '--rational-rock'],
  ['-output', '--output'],
  ['-input-charset', '--input-charset'],
  ['-disable-deep-relocation', '--disable-deep-relocation'],
]);

export function normalizeGenisoimageArgs(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') return [...out, ...args.slice(i)];
    out.push(LONG_SINGLE_DASH.get(arg) ?? arg);
  }
  return out;
}

function epochSeconds(text: string): number {
  if (!/^\d+$/.test(text)) throw new CommandError(`--epoch ${JSON.stringify(text)}: expected seconds since 1970`, 2, 'USAGE');
  return Number(text);
}

interface IsoFlags {
  output?: string;
  rock?: boolean;
  joliet?: boolean;
  rationalRock?: boolean;
  volid?: string;
  disableDeepRelocation?: boolean;
  epoch?: number;
  quiet?: boolean;
  inputCharset?: string;
}

/** A Command whose options are first rewritten from genisoimage's single-dash long forms. */
class GenisoimageCommand extends Command {
  override parseOptions(args: string[]): ReturnType<Command['parseOptions']> {
    return super.parseOptions(normalizeGenisoimageArgs(args));
  }
}

export function isoCommand(io: IsoIo = defaultIo): Command {
  // stdout may carry the image, so help goes to stderr.
  return withCliDefaults(new GenisoimageCommand('iso'), { stdout: io.stderr, stderr: io.stderr, exit: io.exit })
    .description("an ISO 9660 image with Rock Ridge and Joliet from a folder, with genisoimage's flags")
    .option('-o, --output <file>', 'the image to write (default: stdout)')
    .option('-R, --rock', 'Rock Ridge with owners and modes as they are (always written)')
    .option('-r, --rational-rock', 'Rock Ridge with owner 0, read bits on, write bits off (genisoimage -r)')
    .option('-J, --joliet', 'Joliet names for Windows (always written)')
    .addOption(new Option('-V, --volid <label>', 'volume label, e.g. CONTEXT or cidata').default('CONTEXT'))
    .option('-D, --disable-deep-relocation', 'write directories deeper than 8 levels where they are')
    .option('--epoch <seconds>', 'one date for everything, for reproducible bytes (default SOURCE_DATE_EPOCH)', epochSeconds)
    .option('--quiet', 'no summary line on stderr')
    .addOption(new Option('--input-charset <charset>', 'accepted for genisoimage compatibility: names are taken as UTF-8').hideHelp())
    .argument('<folder>', 'the folder whose contents become the image root')
    .action(async (folder: string, flags: IsoFlags, command: Command) => {
      try {
        await build(io, folder, flags, command);
      } catch (error) {
        throw asCommandError(error);
      }
    });
}

async function build(io: IsoIo, folder: string, flags: IsoFlags, command: Command): Promise<void> {
  if (command.args.length > 1) {
    throw new CommandError(`one folder only (got ${command.args.length}); genisoimage's grafting of several is not supported`, 2, 'USAGE');
  }
  if (flags.output === undefined && io.stdout.isTTY) {
    throw new CommandError('refusing to write an image to a terminal; give -o FILE or redirect stdout', 2, 'USAGE');
  }
  const { writeIsoFromDirectory } = await import('@vmctx/iso-builder');
  const stats = await writeIsoFromDirectory(folder, flags.output ?? io.stdout, {
    label: flags.volid ?? 'CONTEXT',
    ownership: flags.rationalRock ? 'rationalize' : 'keep',
    deepDirectories: flags.disableDeepRelocation ? 'allow' : 'error',
    env: io.env,
    ...(flags.epoch !== undefined ? { epoch: flags.epoch } : {}),
  });
  if (!flags.quiet) io.stderr(`${stats.sectors} extents written (${Math.round(stats.bytes / 2 ** 20)} MB)\n`);
}
