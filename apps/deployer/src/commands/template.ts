/**
 * `vmctx template`: the template renderer on the command line, for pipelines and for people who use it alone.
 *
 *   render SPEC           VM spec (YAML or JSON) -> domain XML on stdout
 *   import NATIVE.xml     native libvirt template -> the instance's domain XML on stdout; repairs on stderr
 *   lint FILE...          what `virsh define` (or start) would refuse, with libvirt's words and a fix
 *   schema                the JSON Schema of a VM spec, for editors
 *
 * Exit codes: 0 done, 1 lint errors (nothing printed on stdout; an outcome, not an error, as eslint's), and
 * otherwise from the kind of the error (cli/action.ts): 2 bad usage or bad input (missing, malformed or oversized
 * files, invalid specs), 1 a file that cannot be read. The template-renderer package is imported when a
 * subcommand runs, to keep `vmctx` start-up lean.
 */
import { extname } from 'node:path';
import { Command, Option } from 'commander';
import { action } from '../cli/action.js';
import { type CommandIo, processIo, withCliDefaults } from '../cli/command-io.js';
import { CliError, usage } from '../cli/errors.js';
import { readTemplateText } from '../cli/input.js';
import type { DomainSpec, ExistingDomain, LintFinding, Lintable, NativeRewrite } from '@vmctx/template-renderer';

/** The exit code of lint errors. */
const LINT_FAILED = 1;

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function templateCommand(io: CommandIo = processIo): Command {
  const setup = (cmd: Command): Command => withCliDefaults(cmd, io);
  const run = <A extends unknown[]>(fn: (...args: A) => Promise<number | void>) => action(io, fn);

  const template = setup(new Command('template')).description('libvirt domain XML from VM specs and native templates, and lints');

  setup(template.command('render'))
    .description('print the domain XML of a VM spec (YAML or JSON)')
    .argument('<spec>', 'the VM spec file (.yaml, .yml or .json)')
    .option('--deployment <name>', 'derive a missing uuid and MACs from (deployment, VM name)')
    .option('--no-lint', 'print the XML even if a lint finds an error')
    .action(run(async (file: string, opts: { deployment?: string; lint: boolean }) => {
      const tr = await import('@vmctx/template-renderer');
      const spec = await readSpec(file);
      const options = opts.deployment !== undefined ? { deployment: opts.deployment } : {};
      if (stopOnLintErrors(io, tr, 'render', tr.lintDomains([{ label: file, spec }], options), opts.lint)) return LINT_FAILED;
      io.stdout(tr.renderDomainXml(spec, options));
    }));

  setup(template.command('import'))
    .description("rewrite a native libvirt template for one instance; what was repaired goes to stderr")
    .argument('<native>', 'the native domain XML')
    .option('--name <name>', 'domain name of the instance')
    .option('--uuid <uuid>', 'uuid (default: derived with --deployment, else removed so libvirt makes one)')
    .option('--deployment <name>', 'derive the uuid and MACs from (deployment, name)')
    .option('--mac <mac>', 'MAC of the next <interface> (repeat for each)', collect)
    .option('--disk <path>', "path of the next <disk device='disk'> on the controller (repeat for each)", collect)
    .option('--iso <path>', 'path of the context ISO on the controller (set on the cdrom, or attached)')
    .addOption(new Option('--iso-mode <mode>', 'how a virtio cdrom is repaired or the ISO attached').choices(['cdrom', 'disk']).default('cdrom'))
    .option('--bridge <bridge>', 'bridge of every bridged <interface>, or repeat for each in order', collect)
    .addOption(new Option('--domain-type <type>', 'kvm, or qemu where KVM is not usable').choices(['kvm', 'qemu']))
    .option('--emulator <path>', 'emulator binary on the controller')
    .option('--no-emulator', "remove <emulator> so libvirt uses the controller's own")
    .option('--no-lint', 'print the XML even if a lint finds an error')
    .action(run(async (file: string, opts: ImportOptions) => {
      const tr = await import('@vmctx/template-renderer');
      const { xml, warnings, tree } = tr.importNativeTemplate(await readTemplateText(file), toRewrite(opts), file);
      for (const w of warnings) io.stderr(`vmctx template import: ${w.code}: ${file} ${w.path}: ${w.message}\n`);
      if (stopOnLintErrors(io, tr, 'import', tr.lintDomainXml(tree, file), opts.lint)) return LINT_FAILED;
      io.stdout(xml);
    }));

  setup(template.command('lint'))
    .description("find what virsh define would refuse, in domain XML (.xml) and VM specs (.yaml, .yml, .json), together")
    .argument('[files...]', 'the files; duplicates are looked for across all of them')
    .option('--deployment <name>', 'derive missing uuids and MACs of specs from (deployment, name)')
    .option('--existing <file>', 'JSON list of domains already defined: [{"name", "uuid"?, "macs"?}]')
    .option('--json', 'print the findings as JSON on stdout')
    .option('--list', 'list the lints and exit')
    .action(run(async (files: string[], opts: { deployment?: string; existing?: string; json?: boolean; list?: boolean }) => {
      const tr = await import('@vmctx/template-renderer');
      if (opts.list) {
        for (const [code, lint] of Object.entries(tr.LINTS)) io.stdout(`${code}\t${lint.severity}\t${lint.summary}\n  fix: ${lint.fix}\n`);
        return;
      }
      if (files.length === 0) throw usage('give the files to lint (or --list)');
      const items: Lintable[] = [];
      for (const file of files) {
        if (isSpecFile(file)) items.push({ label: file, spec: await readSpec(file) });
        else items.push({ label: file, xml: tr.parseXml(await readTemplateText(file), file) });
      }
      const existing = opts.existing !== undefined ? await readExisting(opts.existing) : [];
      const findings = tr.lintDomains(items, { existing, ...(opts.deployment !== undefined ? { deployment: opts.deployment } : {}) });
      if (opts.json) io.stdout(`${JSON.stringify(findings, null, 2)}\n`);
      else for (const f of findings) io.stderr(`${tr.formatFinding(f)}\n`);
      if (!opts.json) {
        const errors = findings.filter((f) => f.severity === 'error').length;
        io.stderr(`${files.length} file(s): ${errors} error(s), ${findings.length - errors} warning(s)\n`);
      }
      return tr.hasErrors(findings) ? LINT_FAILED : 0;
    }));

  setup(template.command('schema'))
    .description('print the JSON Schema of a VM spec (for editors and YAML language servers)')
    .action(run(async () => {
      const tr = await import('@vmctx/template-renderer');
      io.stdout(`${JSON.stringify(tr.domainSpecJsonSchema(), null, 2)}\n`);
    }));

  return template;
}

interface ImportOptions {
  name?: string;
  uuid?: string;
  deployment?: string;
  mac?: string[];
  disk?: string[];
  iso?: string;
  isoMode: 'cdrom' | 'disk';
  bridge?: string[];
  domainType?: 'kvm' | 'qemu';
  emulator?: string | false;
  lint: boolean;
}

function toRewrite(opts: ImportOptions): NativeRewrite {
  const rewrite: NativeRewrite = { isoMode: opts.isoMode };
  if (opts.name !== undefined) rewrite.name = opts.name;
  if (opts.uuid !== undefined) rewrite.uuid = opts.uuid;
  if (opts.deployment !== undefined) rewrite.deployment = opts.deployment;
  if (opts.mac) rewrite.macs = opts.mac;
  if (opts.disk) rewrite.disks = opts.disk;
  if (opts.iso !== undefined) rewrite.iso = opts.iso;
  // One --bridge applies to every bridged interface; several go one per interface.
  if (opts.bridge) rewrite.bridge = opts.bridge.length === 1 ? opts.bridge[0]! : opts.bridge;
  if (opts.domainType) rewrite.domainType = opts.domainType;
  if (opts.emulator === false) rewrite.emulator = null;
  else if (typeof opts.emulator === 'string') rewrite.emulator = opts.emulator;
  return rewrite;
}

type Renderer = typeof import('@vmctx/template-renderer');

/** Prints the findings on stderr; true (stop: nothing on stdout) when one is an error, unless told not to. */
function stopOnLintErrors(io: CommandIo, tr: Pick<Renderer, 'formatFinding' | 'hasErrors'>, command: string, findings: LintFinding[], enforce: boolean): boolean {
  for (const f of findings) io.stderr(`${tr.formatFinding(f)}\n`);
  if (!enforce || !tr.hasErrors(findings)) return false;
  io.stderr(`vmctx template ${command}: lint found errors; nothing printed (--no-lint prints anyway)\n`);
  return true;
}

function isSpecFile(file: string): boolean {
  return ['.yaml', '.yml', '.json'].includes(extname(file).toLowerCase());
}

/** A spec file, YAML or JSON (JSON is YAML too), parsed by template-renderer. */
async function readSpec(file: string): Promise<DomainSpec> {
  const text = await readTemplateText(file, 10 * 2 ** 20);
  const { parseDomainSpecYaml } = await import('@vmctx/template-renderer');
  return parseDomainSpecYaml(text, file);
}

async function readExisting(file: string): Promise<ExistingDomain[]> {
  const text = await readTemplateText(file, 10 * 2 ** 20);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError('CLI_EXISTING_SYNTAX', `${file} is not valid JSON: ${(error as Error).message}`, { where: file, cause: error });
  }
  const ok =
    Array.isArray(value) &&
    value.every(
      (d) =>
        typeof d === 'object' && d !== null && typeof d.name === 'string' && (d.uuid === undefined || typeof d.uuid === 'string') &&
        (d.macs === undefined || (Array.isArray(d.macs) && d.macs.every((m: unknown) => typeof m === 'string'))),
    );
  if (!ok) throw new CliError('CLI_EXISTING_SYNTAX', `${file}: expected a JSON list of {"name": string, "uuid"?: string, "macs"?: string[]}`, { where: file });
  return value as ExistingDomain[];
}
