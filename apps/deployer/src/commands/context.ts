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
import type { FileMap } from '@vmctx/guest-script';
import { action } from '../cli/action.js';
import { type CommandIo, processIo, withCliDefaults } from '../cli/command-io.js';
import { statInput } from '../cli/input.js';
import { isoReport, printIsoReport } from '../cli/iso-report.js';
import { epochOption, labelOption } from '../cli/options.js';

export async function contextTreeFrom(input: string, io: Pick<CommandIo, 'stderr'>): Promise<FileMap> {
  await statInput(input);
  const { files, problems } = await (await import('@vmctx/guest-script')).readContextSource(input);
  for (const problem of problems) io.stderr(`vmctx context: ${input}: ${problem}\n`);
  return files;
}

export function contextCommand(io: CommandIo = processIo): Command {
  const setup = (cmd: Command): Command => withCliDefaults(cmd, io);

  const context = setup(new Command('context')).description("the context CD's files, from a context file or a Snooze context/ folder");

  setup(context.command('build'))
    .description('write the context tree to a folder (which must not exist or be empty)')
    .argument('<input>', 'CONTEXT.yaml, or a context/ folder to take as it is')
    .requiredOption('-o, --output <dir>', 'the folder to write')
    .action(action(io, async (input: string, flags: { output: string }) => {
      const { writeFileMap } = await import('@vmctx/guest-script');
      const files = await contextTreeFrom(input, io);
      await writeFileMap(files, flags.output);
      io.stderr(`wrote ${Object.keys(files).length} files to ${flags.output}\n`);
    }));

  setup(context.command('iso'))
    .description('write the context tree straight to an ISO image (Rock Ridge and Joliet)')
    .argument('<input>', 'CONTEXT.yaml, or a context/ folder to take as it is')
    .requiredOption('-o, --output <file>', 'the ISO to write')
    .addOption(labelOption('--label <label>', "volume label (the guest script's --label)"))
    .addOption(epochOption())
    .option('--json', 'print the path, size and sha256 as a JSON object')
    .action(action(io, async (input: string, flags: { output: string; label: string; epoch?: number; json?: boolean }) => {
      const { writeIsoFromFiles } = await import('@vmctx/iso-builder');
      const files = await contextTreeFrom(input, io);
      const stats = await writeIsoFromFiles(files, flags.output, { label: flags.label, ...(flags.epoch !== undefined ? { epoch: flags.epoch } : {}) });
      io.stderr(`wrote ${flags.output} (${Object.keys(files).length} files, label ${flags.label})\n`);
      printIsoReport(io, await isoReport(flags.output, stats.bytes), flags.json);
    }));

  setup(context.command('show'))
    .description('list the files of the context tree: mode, size, path')
    .argument('<input>', 'CONTEXT.yaml, or a context/ folder')
    .action(action(io, async (input: string) => {
      const files = await contextTreeFrom(input, io);
      for (const path of Object.keys(files).sort()) {
        const { data, mode } = files[path]!;
        const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
        io.stdout(`${mode.toString(8).padStart(4, '0')} ${String(size).padStart(8)} ${path}\n`);
      }
    }));

  return context;
}
