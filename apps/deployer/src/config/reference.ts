/**
 * The deployment file's reference in Markdown (apps/deployer/docs/deployment-file.md), made from its JSON Schema
 * (json-schema.ts, itself made from schema.ts): every field with its path, type, whether it is required, its
 * default, the values it allows, its description and an example; a union's forms each shown. Committed; its test
 * (reference.spec.ts) fails when the file is not what this makes, and says how to make it again.
 */
import { stringify } from 'yaml';
import { code, SchemaReader, type FieldRow, type Form, type Json } from './reference-fields.js';

/** How to make the reference (and the JSON Schema) again; said in the file and by its test. */
export const REGENERATE_REFERENCE = 'npx nx run deployer:reference';

export interface ReferenceSources {
  /** deploymentJsonSchema(). */
  schema: Json;
  /** A whole deployment file shown first: its link from the reference's folder, and its text. */
  example: { link: string; text: string };
}

/** Where the reference links to, from apps/deployer/docs/. */
const LINKS = {
  readme: '../README.md',
  schema: '../deployment.schema.json',
  sampleContext: '../../../examples/sample-context.yaml',
  guestScript: '../../../packages/guest-script/README.md',
  templateRenderer: '../../../packages/template-renderer/README.md',
};

export function deploymentReference({ schema, example }: ReferenceSources): string {
  const reader = new SchemaReader(schema);
  const slugs = new Slugs();
  const rows = reader.rows(schema);
  const sections = { VmContext: slugs.take('The inline context'), VmSpec: slugs.take('The inline spec') };
  const fields = new Map(rows.map((row) => [row.path, slugs.take(`\`${row.path}\``)]));
  const groups = groupByParent(rows);
  return [
    ...intro(),
    ...wholeExample(example),
    ...index(rows, fields),
    ...[...groups].flatMap(([parent, members]) => group(parent, members, schema, reader, sections)),
    ...nested('The inline context', reader.objectVariants(reader.def('VmContext'))[0]!.node, reader, contextIntro()),
    ...nested('The inline spec', reader.def('VmSpec'), reader, specIntro()),
  ].join('\n');
}

function intro(): string[] {
  return [
    '# The deployment file',
    '',
    `<!-- Made by src/config/reference.ts from src/config/schema.ts: do not edit; after a change to the schema, run ${REGENERATE_REFERENCE} -->`,
    '',
    '`vmctx check`, `plan`, `deploy`, `status` and `destroy` read it (`--file F`; default `deployment.yaml` in the',
    `current folder). It is YAML, or JSON; the same fields are in [its JSON Schema](${LINKS.schema}) for editors`,
    '(`# yaml-language-server: $schema=...` at the top of a YAML file, `$schema` in a JSON one). See',
    `[the deployer's README](${LINKS.readme}) for the commands.`,
    '',
    '- An unknown key is refused, with the known key it is closest to. Every problem is reported with the file, the',
    '  line and the path (`deploy.yaml:22: vms[1].controller: no controller "lc2"; known: lc1`).',
    "- A local path (`template`, `context`, an image's `path`, `identityFile`, `knownHosts`) is taken from the file's",
    '  own folder, whatever the current folder; `~/` is the home folder. A path on a controller is absolute.',
    "- `defaults` are applied and `count` groups expanded before what spans entries is checked: the names of",
    "  controllers, images and VMs are each unique, every VM's controller and image exist, no two VMs share a MAC or",
    '  an address.',
    '',
  ];
}

function wholeExample(example: ReferenceSources['example']): string[] {
  return [
    '## A whole file',
    '',
    `[\`${example.link.replace(/^(\.\.\/)+/, '')}\`](${example.link}), with the files it names beside it:`,
    '',
    '```yaml',
    example.text.trimEnd(),
    '```',
    '',
  ];
}

function index(rows: FieldRow[], fields: Map<string, string>): string[] {
  return [
    '## The fields',
    '',
    '| field | type | required | default |',
    '|---|---|---|---|',
    ...rows.map((row) => `| [${code(row.path)}](#${fields.get(row.path)}) | ${cell(row.type)} | ${row.required} | ${row.default === undefined ? '' : cell(code(row.default))} |`),
    '',
  ];
}

/** The fields of one object, each in full: the top level, `defaults`, `controllers[]`, `images[]`, `vms[]`. */
function group(parent: string, rows: FieldRow[], schema: Json, reader: SchemaReader, sections: Record<string, string>): string[] {
  const node = parent === '' ? schema : nodeAt(schema, parent, reader);
  // Not the path alone: `## \`defaults\`` would take the anchor of the field's own heading.
  const title = parent === '' ? "## The file's top level" : `## The fields of ${code(parent)}`;
  // An object's example is its field's (above); a list's item is shown alone here.
  const examples = !parent.endsWith('[]') || !Array.isArray(node['examples']) ? [] : node['examples'];
  return [title, '', ...(parent !== '' && typeof node['description'] === 'string' ? [node['description'], ''] : []), ...yamlExamples(lastKey(parent), examples, parent.endsWith('[]')), ...rows.flatMap((row) => entry(row, sections))];
}

function entry(row: FieldRow, sections: Record<string, string>): string[] {
  const type = row.ref !== undefined && row.forms === undefined ? `${row.type}, [${row.ref === 'VmSpec' ? 'the inline spec' : row.ref}](#${sections[row.ref]})` : row.type;
  return [
    `### ${code(row.path)}`,
    '',
    ...(row.description === undefined ? [] : [row.description, '']),
    `- Type: ${type}`,
    `- Required: ${row.required}`,
    ...(row.default === undefined ? [] : [`- Default: ${code(row.default)}`]),
    ...(row.allowed.length === 0 ? [] : [`- Allowed: ${row.allowed.join('; ')}`]),
    '',
    ...(row.forms ?? []).flatMap((form, i) => formLines(row.key, form, i, sections)),
    ...yamlExamples(row.key, row.examples),
  ];
}

function formLines(key: string, form: Form, i: number, sections: Record<string, string>): string[] {
  const fields = form.type === 'object' ? ` Its fields: [the inline context](#${sections['VmContext']}).` : '';
  const allowed = form.allowed.length === 0 ? '' : ` (${form.allowed.join('; ')})`;
  return [`Form ${i + 1}, ${form.type === 'object' ? 'an object' : `a ${form.type}`}${allowed}: ${form.description ?? ''}${fields}`, '', ...yamlExamples(key, form.examples)];
}

/** Each example as the YAML it would be in the file, under its key (`port: 2222`); a list item as one. */
function yamlExamples(key: string, examples: unknown[], item = false): string[] {
  if (examples.length === 0) return [];
  // One block each: two values of one key in one block would not be YAML.
  const blocks = examples.map((value) => ['```yaml', stringify(item ? { [key]: [value] } : { [key]: value }, { lineWidth: 0 }).trimEnd(), '```', '']);
  return [examples.length === 1 ? 'Example:' : 'Examples:', '', ...blocks.flat()];
}

/** A $defs entry's fields as one table (they are many, and documented where they are defined too). */
function nested(title: string, node: Json, reader: SchemaReader, lead: string[]): string[] {
  const rows = reader.rows(node, '', false);
  const examples = Array.isArray(node['examples']) ? node['examples'] : [];
  return [
    `## ${title}`,
    '',
    ...lead,
    ...(typeof node['description'] === 'string' ? [node['description'], ''] : []),
    ...yamlExamples(title === 'The inline spec' ? 'spec' : 'context', examples),
    '| field | type | required | default | allowed | description |',
    '|---|---|---|---|---|---|',
    ...rows.map((row) => {
      const only = row.only === undefined || row.required.startsWith('with') ? '' : `Only with ${row.only.join(', ')}. `;
      const description = `${only}${row.description ?? ''}`;
      return `| ${code(row.path)} | ${cell(row.type)} | ${row.required} | ${row.default === undefined ? '' : cell(code(row.default))} | ${cell(row.allowed.join('; '))} | ${cell(description)} |`;
    }),
    '',
  ];
}

function contextIntro(): string[] {
  return [
    "guest-script's context: `context:` as an object, or the content of a context file. Every field, commented:",
    `[\`examples/sample-context.yaml\`](${LINKS.sampleContext}); what each does in the guest:`,
    `[guest-script's README](${LINKS.guestScript}#context-features).`,
    '',
  ];
}

function specIntro(): string[] {
  return [
    `template-renderer's VM spec (see [its README](${LINKS.templateRenderer})), as \`spec:\` of a VM or of \`defaults\`.`,
    "vmctx fills in the domain's name, the overlay as the first disk, the context CD, the VM's bridge or network and",
    'its MAC.',
    '',
  ];
}

/** Rows by the object they belong to, in the schema's order: '' (the top level), `defaults`, `controllers[]`... */
function groupByParent(rows: FieldRow[]): Map<string, FieldRow[]> {
  const groups = new Map<string, FieldRow[]>();
  for (const row of rows) {
    const parent = row.path.slice(0, Math.max(0, row.path.length - row.key.length - 1));
    groups.set(parent, [...(groups.get(parent) ?? []), row]);
  }
  return groups;
}

/** The schema of `controllers[]` or `defaults` (a path of properties and `[]` for a list's items). */
function nodeAt(schema: Json, path: string, reader: SchemaReader): Json {
  let node = schema;
  for (const segment of path.split('.')) {
    const name = segment.replace(/\[\]$/, '');
    node = reader.resolve((node['properties'] as Record<string, Json>)[name]!).node;
    if (segment.endsWith('[]')) node = reader.resolve(node['items'] as Json).node;
  }
  return node;
}

function lastKey(path: string): string {
  return (path.split('.').pop() ?? '').replace(/\[\]$/, '');
}

/** A table cell: `|` would end it, a line break would end the row. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|').replace(/\s*\n\s*/g, ' ');
}

/** GitHub's heading anchors (github-slugger): lower case, punctuation dropped, spaces as '-', repeats numbered. */
class Slugs {
  private readonly seen = new Map<string, number>();

  take(heading: string): string {
    const base = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = this.seen.get(base) ?? 0;
    this.seen.set(base, n + 1);
    return n === 0 ? base : `${base}-${n}`;
  }
}
