import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { deploymentJsonSchema } from './json-schema.js';
import { deploymentReference, REGENERATE_REFERENCE } from './reference.js';
import { SchemaReader, type Json } from './reference-fields.js';
import { DeploymentFileSchema } from './schema.js';

const COMMITTED = fileURLToPath(new URL('../../docs/deployment-file.md', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../examples/cluster.yaml', import.meta.url));

async function generated(): Promise<string> {
  return deploymentReference({ schema: deploymentJsonSchema(), example: { link: '../examples/cluster.yaml', text: await readFile(EXAMPLE, 'utf8') } });
}

/** The zod schema of a field, by its reference path (`vms[].context`, `controllers[]`). */
function zodAt(path: string): z.ZodType {
  let schema = DeploymentFileSchema as unknown as z.ZodType;
  const unwrap = () => {
    while (['optional', 'default'].includes(schema._zod.def.type)) schema = (schema._zod.def as unknown as { innerType: z.ZodType }).innerType;
  };
  for (const segment of path.split('.')) {
    unwrap();
    schema = (schema._zod.def as unknown as { shape: Record<string, z.ZodType> }).shape[segment.replace(/\[\]$/, '')]!;
    expect(schema, `no field ${segment} in ${path}`).toBeDefined();
    unwrap();
    if (segment.endsWith('[]')) schema = (schema._zod.def as unknown as { element: z.ZodType }).element;
  }
  unwrap();
  return schema;
}

describe('docs/deployment-file.md', () => {
  it('is what the generator makes from the schema (regenerate with the command in the message)', async () => {
    const text = await generated();
    if (process.env['VMCTX_WRITE_REFERENCE'] === '1') await writeFile(COMMITTED, text);
    const committed = await readFile(COMMITTED, 'utf8').catch(() => '');
    expect(committed === text, `apps/deployer/docs/deployment-file.md is stale; regenerate it: ${REGENERATE_REFERENCE}`).toBe(true);
  });

  it("gives every field of the deployer's own a description and an example", () => {
    const rows = new SchemaReader(deploymentJsonSchema()).rows(deploymentJsonSchema());
    expect(rows.map((r) => r.path)).toContain('vms[].isoMode');
    const bare = rows.filter((r) => r.description === undefined || (r.examples.length === 0 && (r.forms ?? []).every((f) => f.examples.length === 0)));
    expect(bare.map((r) => r.path)).toEqual([]);
  });

  it("shows a context's three forms: a context file, a Snooze context/ folder, an inline context", () => {
    const context = new SchemaReader(deploymentJsonSchema()).rows(deploymentJsonSchema()).find((r) => r.path === 'vms[].context')!;
    expect(context.forms?.map((f) => f.type)).toEqual(['string', 'object']);
    expect(context.forms?.[0]?.description).toMatch(/context file .*Snooze `context\/` folder holding `post-install`/);
    expect(context.forms?.[0]?.examples).toEqual(['./contexts/web.yaml', './contexts/legacy']);
  });

  it('holds only examples the schema accepts, each at its own field', () => {
    const schema = deploymentJsonSchema();
    const reader = new SchemaReader(schema);
    const checked: string[] = [];
    const check = (path: string, examples: unknown[]) => {
      for (const example of examples) {
        const result = zodAt(path).safeParse(example);
        expect(result.success, `${path}: ${JSON.stringify(example)}: ${result.error?.message}`).toBe(true);
        checked.push(path);
      }
    };
    for (const row of reader.rows(schema)) {
      check(row.path, row.examples);
      for (const form of row.forms ?? []) check(row.path, form.examples);
    }
    for (const group of ['defaults', 'controllers[]', 'images[]', 'vms[]']) {
      const parent = group.replace(/\[\]$/, '');
      const node = reader.resolve((schema['properties'] as Record<string, Json>)[parent]!).node;
      check(group, ((group.endsWith('[]') ? reader.resolve(node['items'] as Json).node : node)['examples'] as unknown[]) ?? []);
    }
    check('vms[].spec', reader.def('VmSpec')['examples'] as unknown[]);
    expect(checked.length).toBeGreaterThan(40);
  });

  it("links only to headings it has (GitHub's anchors)", async () => {
    const text = await generated();
    const anchors = new Set([...text.matchAll(/^#+ (.*)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '').replace(/\s/g, '-')));
    const links = [...text.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(40);
    expect(links.filter((l) => !anchors.has(l))).toEqual([]);
  });
});
