/**
 * `vmctx iso`: an ISO 9660 image with Rock Ridge and Joliet from a folder, taking genisoimage's common flags
 * so that a pipeline can swap `genisoimage -R -J -V LABEL -o out.iso DIR` for `vmctx iso -R -J -V LABEL -o out.iso DIR`.
 * genisoimage's single-dash long options (-quiet, -volid, -rock, -joliet, -rational-rock, -output,
 * -input-charset) are taken too. Rock Ridge and Joliet are always written; -r rationalizes owners and modes
 * as genisoimage -r does; -D writes directories deeper than 8 levels where they are (genisoimage -D);
 * --epoch (default SOURCE_DATE_EPOCH) dates everything for reproducible bytes. Without -o the image goes
 * to stdout; with -o, stdout gets one line: path, size, sha256 (--json: a JSON object).
 *
 * Exit codes from the kind of the error (cli/action.ts): 0 done, 1 failure (I/O), 2 bad usage or bad input (label,
 * tree, names, a file that changed).
 * iso-builder is imported when the command runs, to keep `vmctx` start-up lean.
 */
import { Command, Option } from 'commander';
import { action } from '../cli/action.js';
import { type CommandIo, processIo, withCliDefaults } from '../cli/command-io.js';
import { usage } from '../cli/errors.js';
import { isoReport, printIsoReport } from '../cli/iso-report.js';
import { epochOption, labelOption } from '../cli/options.js';

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

interface IsoFlags {
  output?: string;
  rock?: boolean;
  joliet?: boolean;
  rationalRock?: boolean;
  volid: string;
  disableDeepRelocation?: boolean;
  epoch?: number;
  quiet?: boolean;
  json?: boolean;
  inputCharset?: string;
}

/** A Command whose options are first rewritten from genisoimage's single-dash long forms. */
class GenisoimageCommand extends Command {
  override parseOptions(args: string[]): ReturnType<Command['parseOptions']> {
    return super.parseOptions(normalizeGenisoimageArgs(args));
  }
}

export function isoCommand(io: CommandIo = processIo): Command {
  // Help asked for goes to stdout, as every command's: no image is written then.
  return withCliDefaults(new GenisoimageCommand('iso'), io)
    .description("an ISO 9660 image with Rock Ridge and Joliet from a folder, with genisoimage's flags")
    .option('-o, --output <file>', 'the image to write (default: stdout)')
    .option('-R, --rock', 'Rock Ridge with owners and modes as they are (always written)')
    .option('-r, --rational-rock', 'Rock Ridge with owner 0, read bits on, write bits off (genisoimage -r)')
    .option('-J, --joliet', 'Joliet names for Windows (always written)')
    .addOption(labelOption('-V, --volid <label>', 'volume label, e.g. CONTEXT or cidata'))
    .option('-D, --disable-deep-relocation', 'write directories deeper than 8 levels where they are')
    .addOption(epochOption())
    .option('--quiet', 'no summary line on stderr')
    .option('--json', 'with -o: print the path, size and sha256 as a JSON object')
    .addOption(new Option('--input-charset <charset>', 'accepted for genisoimage compatibility: names are taken as UTF-8').hideHelp())
    .argument('<folder>', 'the folder whose contents become the image root')
    .action(action(io, (folder: string, flags: IsoFlags, command: Command) => build(io, folder, flags, command)));
}

async function build(io: CommandIo, folder: string, flags: IsoFlags, command: Command): Promise<void> {
  if (command.args.length > 1) {
    throw usage(`one folder only (got ${command.args.length}); genisoimage's grafting of several is not supported`);
  }
  if (flags.output === undefined && flags.json) throw usage('--json needs -o FILE: without it, stdout carries the image');
  if (flags.output === undefined && io.output.isTTY) {
    throw usage('refusing to write an image to a terminal; give -o FILE or redirect stdout');
  }
  const { writeIsoFromDirectory } = await import('@vmctx/iso-builder');
  const stats = await writeIsoFromDirectory(folder, flags.output ?? io.output, {
    label: flags.volid,
    ownership: flags.rationalRock ? 'rationalize' : 'keep',
    deepDirectories: flags.disableDeepRelocation ? 'allow' : 'error',
    env: io.env,
    ...(flags.epoch !== undefined ? { epoch: flags.epoch } : {}),
  });
  if (!flags.quiet) io.stderr(`${stats.sectors} extents written (${Math.round(stats.bytes / 2 ** 20)} MB)\n`);
  if (flags.output === undefined) return;
  const report = await isoReport(flags.output, stats.bytes);
  if (report !== undefined) printIsoReport(io, report, flags.json);
}
