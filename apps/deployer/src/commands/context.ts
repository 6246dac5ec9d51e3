/**
 * `vmctx context`: the context CD's file tree, from a context file or an existing context folder.
 *
 *   vmctx context build CONTEXT.yaml -o DIR        write the tree (post-install, common/network, ...) to DIR
 *   vmctx context iso CONTEXT.yaml -o context.iso  write it straight to an ISO (Rock Ridge + Joliet, iso-builder);
 *                                                  prints path, size and sha256 (--json: as a JSON object)
 *   vmctx context show CONTEXT.yaml                list the tree: mode, size, path
 *
 * The input is a context file (YAML or JSON, see packages/guest-script/README.md) or a Snooze-style context/
 * folder, which is taken unchanged. Exit codes from the kind of the error (cli/action.ts): 0 done, 1 failure
 * (I/O), 2 bad usage or bad input, 3 an output folder that already holds files.
 */
import { Command } from 'commander';
import { stat } from 'node:fs/promises';
import type { FileMap } from '@vmctx/guest-script';
import { action } from '../cli/action.js';
import { type CommandIo, processIo, withCliDefaults } from '../cli/command-io.js';
import { refuseOutputIsInput, statInput } from '../cli/input.js';
import { isoReport, printIsoReport } from '../cli/iso-report.js';
import { epochOption, labelOption } from '../cli/options.js';

/** `allowEmpty`: take a context file that configures nothing (--allow-empty); refused otherwise (GUEST_EMPTY_CONTEXT). */
export async function contextTreeFrom(input: string, io: Pick<CommandIo, 'stderr'>, allowEmpty = false): Promise<FileMap> {
  await statInput(input);
  const { files, problems } = await (await import('@vmctx/guest-script')).readContextSource(input, { allowEmpty });
  for (const problem of problems) io.stderr(`vmctx context: ${input}: ${problem}\n`);
  return files;
}

/** A file of the CD for iso-builder: its bytes (a context file's tree), or where it is (a folder's, streamed). */
type IsoEntry = { data: string | Uint8Array; mode: number } | { file: string; mode: number; size: number };

/**
 * The CD's files as iso-builder takes them. A folder is listed, not read: each file is streamed into the image
 * as it is copied (a 3 GiB file costs no memory), and read only if it is still the file listed.
 */
async function isoEntriesFrom(input: string, io: Pick<CommandIo, 'stderr'>, allowEmpty = false): Promise<Array<[string, IsoEntry]>> {
  if (!(await statInput(input)).isDirectory()) return Object.entries(await contextTreeFrom(input, io, allowEmpty));
  const gs = await import('@vmctx/guest-script');
  const listed = await gs.listContextFolder(input);
  for (const problem of gs.contextTreeProblems(Object.fromEntries(listed.map((f) => [f.path, f])))) io.stderr(`vmctx context: ${input}: ${problem}\n`);
  return listed.map((f) => [f.path, { file: f.file, mode: f.mode, size: f.size }]);
}

const ALLOW_EMPTY = '--allow-empty';
const ALLOW_EMPTY_HELP = 'take a context file that configures nothing (empty, null, {}): its CD only makes the guest fall back to DHCP';

/** Whether a CD with these files holds what only root of the guest may read: files/, ssh/ or scripts/. */
function holdsSecrets(paths: string[]): boolean {
  return paths.some((path) => /^(files|ssh|scripts)\//.test(path));
}

export function contextCommand(io: CommandIo = processIo): Command {
  const setup = (cmd: Command): Command => withCliDefaults(cmd, io);

  const context = setup(new Command('context')).description("the context CD's files, from a context file or a Snooze context/ folder");

  setup(context.command('build'))
    .description('write the context tree to a folder (which must not exist or be empty)')
    .argument('<input>', 'CONTEXT.yaml, or a context/ folder to take as it is')
    .requiredOption('-o, --output <dir>', 'the folder to write')
    .option(ALLOW_EMPTY, ALLOW_EMPTY_HELP)
    .action(action(io, async (input: string, flags: { output: string; allowEmpty?: boolean }) => {
      const { writeFileMap } = await import('@vmctx/guest-script');
      const files = await contextTreeFrom(input, io, flags.allowEmpty);
      await writeFileMap(files, flags.output);
      io.stderr(`wrote ${Object.keys(files).length} files to ${flags.output}\n`);
    }));

  setup(context.command('iso'))
    .description('write the context tree straight to an ISO image (Rock Ridge and Joliet)')
    .argument('<input>', 'CONTEXT.yaml, or a context/ folder to take as it is')
    .requiredOption('-o, --output <file>', 'the ISO to write (0600 when new and the context has files, keys or scripts)')
    .addOption(labelOption('--label <label>', "volume label (the guest script's --label)"))
    .addOption(epochOption())
    .option('--json', 'print the path, size and sha256 as a JSON object')
    .option(ALLOW_EMPTY, ALLOW_EMPTY_HELP)
    .action(action(io, async (input: string, flags: { output: string; label: string; epoch?: number; json?: boolean; allowEmpty?: boolean }) => {
      const { writeIsoFromFiles } = await import('@vmctx/iso-builder');
      await refuseOutputIsInput(flags.output, input);
      const entries = await isoEntriesFrom(input, io, flags.allowEmpty);
      const secret = holdsSecrets(entries.map(([path]) => path));
      const isNew = await stat(flags.output).then(() => false, () => true);
      const stats = await writeIsoFromFiles(entries, flags.output, {
        label: flags.label,
        mode: secret ? 0o600 : 0o644,
        ...(flags.epoch !== undefined ? { epoch: flags.epoch } : {}),
      });
      io.stderr(`wrote ${flags.output} (${entries.length} files, label ${flags.label})\n`);
      if (secret && isNew) io.stderr(`${flags.output}: mode 0600, as the context holds files, keys or scripts (chmod it to share it)\n`);
      const report = await isoReport(flags.output, stats.bytes);
      if (report !== undefined) printIsoReport(io, report, flags.json);
    }));

  setup(context.command('show'))
    .description('list the files of the context tree: mode, size, path')
    .argument('<input>', 'CONTEXT.yaml, or a context/ folder')
    .option(ALLOW_EMPTY, ALLOW_EMPTY_HELP)
    .action(action(io, async (input: string, flags: { allowEmpty?: boolean }) => {
      for (const [path, entry] of (await isoEntriesFrom(input, io, flags.allowEmpty)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        const size = 'size' in entry ? entry.size : typeof entry.data === 'string' ? Buffer.byteLength(entry.data) : entry.data.byteLength;
        io.stdout(`${entry.mode.toString(8).padStart(4, '0')} ${String(size).padStart(8)} ${path}\n`);
      }
    }));

  return context;
}
