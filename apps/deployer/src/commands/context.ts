/**
 * `vmctx context`: the context CD's file tree, from a context file or an existing context folder.
 *
 *   vmctx context build CONTEXT.yaml -o DIR        write the tree (post-install, common/network, ...) to DIR
 *   vmctx context iso CONTEXT.yaml -o context.iso  write it straight to an ISO (Rock Ridge + Joliet, iso-builder);
 *                                                  prints path, size and sha256 (--json: as a JSON object)
 *   vmctx context show CONTEXT.yaml                list the tree: mode, size, path, under the reader of each file
 *
 * --format both|cloud-init|snooze: the layouts the CD holds (@vmctx/guest-script cloud-init/cd-layouts.ts): both by
 * default for a context file (cloud-init's NoCloud seed and Snooze's layout, label cidata), Snooze's alone for a
 * folder (label CONTEXT). --label overrides the label.
 *
 * The input is a context file (YAML or JSON, see packages/guest-script/README.md) or a Snooze-style context/
 * folder, which is taken unchanged. Exit codes from the kind of the error (cli/action.ts): 0 done, 1 failure
 * (I/O), 2 bad usage or bad input, 3 an output folder that already holds files.
 */
import { DEFAULT_CONTEXT_LABEL, NOCLOUD_FILES, NOCLOUD_LABEL } from '@vmctx/contract';
import { Command, Option } from 'commander';
import { stat } from 'node:fs/promises';
import type { FileMap } from '@vmctx/guest-script';
import { action } from '../cli/action.js';
import { type CommandIo, processIo, withCliDefaults } from '../cli/command-io.js';
import { refuseOutputIsInput, statInput } from '../cli/input.js';
import { isoReport, printIsoReport } from '../cli/iso-report.js';
import { epochOption, volumeLabel } from '../cli/options.js';

/** The CD's layouts (--format): both for a context file unless told, Snooze's for a folder (taken as it is). */
type Format = 'both' | 'cloud-init' | 'snooze';
const FORMATS: readonly Format[] = ['both', 'cloud-init', 'snooze'];

function formatOption(): Option {
  return new Option('--format <format>', "the CD's layouts: cloud-init's NoCloud seed, Snooze's layout for vmctx's script, or both (default: both for a context file, snooze for a folder)").choices(FORMATS);
}

/** The label of a CD: --label, else cidata where cloud-init must find it (contract NOCLOUD_LABEL), else CONTEXT. */
function labelFor(flags: { label?: string }, format: Format): string {
  if (flags.label !== undefined) return flags.label;
  return format === 'snooze' ? DEFAULT_CONTEXT_LABEL : NOCLOUD_LABEL;
}

/** The format of an input: the one asked for, else both for a context file and snooze for a folder. */
async function formatOf(input: string, format: Format | undefined): Promise<Format> {
  if (format !== undefined) return format;
  return (await statInput(input)).isDirectory() ? 'snooze' : 'both';
}

/** `allowEmpty`: take a context file that configures nothing (--allow-empty); refused otherwise (GUEST_EMPTY_CONTEXT). */
export async function contextTreeFrom(input: string, io: Pick<CommandIo, 'stderr'>, allowEmpty = false, format?: Format): Promise<FileMap> {
  await statInput(input);
  const { files, problems } = await (await import('@vmctx/guest-script')).readContextSource(input, { allowEmpty, format: await formatOf(input, format) });
  for (const problem of problems) io.stderr(`vmctx context: ${input}: ${problem}\n`);
  return files;
}

/** A file of the CD for iso-builder: its bytes (a context file's tree), or where it is (a folder's, streamed). */
type IsoEntry = { data: string | Uint8Array; mode: number } | { file: string; mode: number; size: number };

/**
 * The CD's files as iso-builder takes them. A folder is listed, not read: each file is streamed into the image
 * as it is copied (a 3 GiB file costs no memory), and read only if it is still the file listed.
 */
async function isoEntriesFrom(input: string, io: Pick<CommandIo, 'stderr'>, allowEmpty = false, format?: Format): Promise<Array<[string, IsoEntry]>> {
  if (!(await statInput(input)).isDirectory()) return Object.entries(await contextTreeFrom(input, io, allowEmpty, format));
  const gs = await import('@vmctx/guest-script');
  gs.refuseFolderFormat(input, format);
  const listed = await gs.listContextFolder(input);
  for (const problem of gs.contextTreeProblems(Object.fromEntries(listed.map((f) => [f.path, f])))) io.stderr(`vmctx context: ${input}: ${problem}\n`);
  return listed.map((f) => [f.path, { file: f.file, mode: f.mode, size: f.size }]);
}

const ALLOW_EMPTY = '--allow-empty';
const ALLOW_EMPTY_HELP = 'take a context file that configures nothing (empty, null, {}): its CD only makes the guest fall back to DHCP';

/** user-data keys that carry no secret: the host name's. Any other (write_files, users, runcmd, an operator's key) may. */
const PLAIN_USER_DATA_KEYS = new Set(['hostname', 'fqdn', 'prefer_fqdn_over_hostname', 'manage_etc_hosts']);

/**
 * Whether a CD with these files holds what only root of the guest may read: files/, ssh/ or scripts/ of Snooze's
 * layout, or a user-data with more than the host name (the same files, keys and scripts, or the operator's own).
 */
function holdsSecrets(entries: Array<[string, IsoEntry]>): boolean {
  return entries.some(([path, entry]) => {
    if (/^(files|ssh|scripts)\//.test(path)) return true;
    if (path !== NOCLOUD_FILES.userData || !('data' in entry)) return false;
    const keys = [...Buffer.from(entry.data).toString('utf8').matchAll(/^([^\s#:][^:]*):/gm)].map((m) => m[1]);
    return keys.some((key) => !PLAIN_USER_DATA_KEYS.has(key as string));
  });
}

/** Which reader of the guest reads a file at this path of the CD: the NoCloud seed's three, or vmctx's script. */
function readerOf(path: string): 'cloud-init' | 'vmctx' {
  return (Object.values(NOCLOUD_FILES) as string[]).includes(path) ? 'cloud-init' : 'vmctx';
}

const READERS = { 'cloud-init': "cloud-init's NoCloud datasource (meta-data, user-data, network-config)", vmctx: "vmctx's script (Snooze's layout)" } as const;

export function contextCommand(io: CommandIo = processIo): Command {
  const setup = (cmd: Command): Command => withCliDefaults(cmd, io);

  const context = setup(new Command('context')).description("the context CD's files, from a context file or a Snooze context/ folder");

  setup(context.command('build'))
    .description('write the context tree to a folder (which must not exist or be empty)')
    .argument('<input>', 'CONTEXT.yaml, or a context/ folder to take as it is')
    .requiredOption('-o, --output <dir>', 'the folder to write')
    .addOption(formatOption())
    .option(ALLOW_EMPTY, ALLOW_EMPTY_HELP)
    .action(action(io, async (input: string, flags: { output: string; allowEmpty?: boolean; format?: Format }) => {
      const { writeFileMap } = await import('@vmctx/guest-script');
      const files = await contextTreeFrom(input, io, flags.allowEmpty, flags.format);
      await writeFileMap(files, flags.output);
      io.stderr(`wrote ${Object.keys(files).length} files to ${flags.output}\n`);
    }));

  setup(context.command('iso'))
    .description('write the context tree straight to an ISO image (Rock Ridge and Joliet)')
    .argument('<input>', 'CONTEXT.yaml, or a context/ folder to take as it is')
    .requiredOption('-o, --output <file>', 'the ISO to write (0600 when new and the context has files, keys or scripts)')
    .addOption(formatOption())
    .addOption(new Option('--label <label>', `volume label (default: ${NOCLOUD_LABEL}, which cloud-init's NoCloud needs, for a CD with its files; ${DEFAULT_CONTEXT_LABEL} for --format snooze; the guest script finds either)`).argParser(volumeLabel))
    .addOption(epochOption())
    .option('--json', 'print the path, size and sha256 as a JSON object')
    .option(ALLOW_EMPTY, ALLOW_EMPTY_HELP)
    .action(action(io, async (input: string, flags: { output: string; label?: string; epoch?: number; json?: boolean; allowEmpty?: boolean; format?: Format }) => {
      const { writeIsoFromFiles } = await import('@vmctx/iso-builder');
      await refuseOutputIsInput(flags.output, input);
      const format = await formatOf(input, flags.format);
      const label = labelFor(flags, format);
      const entries = await isoEntriesFrom(input, io, flags.allowEmpty, format);
      const secret = holdsSecrets(entries);
      const isNew = await stat(flags.output).then(() => false, () => true);
      const stats = await writeIsoFromFiles(entries, flags.output, {
        label,
        mode: secret ? 0o600 : 0o644,
        ...(flags.epoch !== undefined ? { epoch: flags.epoch } : {}),
      });
      io.stderr(`wrote ${flags.output} (${entries.length} files, label ${label}, format ${format})\n`);
      if (secret && isNew) io.stderr(`${flags.output}: mode 0600, as the context holds files, keys or scripts (chmod it to share it)\n`);
      const report = await isoReport(flags.output, stats.bytes);
      if (report !== undefined) printIsoReport(io, report, flags.json);
    }));

  setup(context.command('show'))
    .description("list the files of the context tree (mode, size, path) under the reader of each: cloud-init's NoCloud, vmctx's script")
    .argument('<input>', 'CONTEXT.yaml, or a context/ folder')
    .addOption(formatOption())
    .option(ALLOW_EMPTY, ALLOW_EMPTY_HELP)
    .action(action(io, async (input: string, flags: { allowEmpty?: boolean; format?: Format }) => {
      const entries = (await isoEntriesFrom(input, io, flags.allowEmpty, flags.format)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      for (const reader of ['cloud-init', 'vmctx'] as const) {
        const mine = entries.filter(([path]) => readerOf(path) === reader);
        if (mine.length === 0) continue;
        io.stdout(`# read by ${READERS[reader]}\n`);
        for (const [path, entry] of mine) {
          const size = 'size' in entry ? entry.size : typeof entry.data === 'string' ? Buffer.byteLength(entry.data) : entry.data.byteLength;
          io.stdout(`${entry.mode.toString(8).padStart(4, '0')} ${String(size).padStart(8)} ${path}\n`);
        }
      }
    }));

  return context;
}
