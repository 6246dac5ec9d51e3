/** examples/sample-context.yaml: the repository's commented context file with every field. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ContextSchema, parseContextYaml } from './context.js';
import { buildContextTree } from './context-tree.js';

const SAMPLE = new URL('../../../../examples/sample-context.yaml', import.meta.url);

/** Every field name of a zod schema, nested ones as `a.b` (array elements and union options looked into). */
function fieldNames(schema: unknown, prefix = ''): string[] {
  const def = (schema as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
  switch (def.type) {
    case 'object':
      return Object.entries(def.shape as Record<string, unknown>).flatMap(([key, value]) => [`${prefix}${key}`, ...fieldNames(value, `${prefix}${key}.`)]);
    case 'optional':
    case 'default':
    case 'nullable':
      return fieldNames(def.innerType, prefix);
    case 'array':
      return fieldNames(def.element, prefix);
    case 'union':
      return [...new Set((def.options as unknown[]).flatMap((option) => fieldNames(option, prefix)))];
    default:
      return [];
  }
}

describe('examples/sample-context.yaml', () => {
  const text = readFileSync(SAMPLE, 'utf8');

  it('parses, and makes a context CD', () => {
    const context = parseContextYaml(text, 'examples/sample-context.yaml');
    expect(context).toMatchObject({ hostname: 'web1.example.org', network: { method: 'static' } });
    expect(Object.keys(buildContextTree(context))).toEqual(expect.arrayContaining(['post-install', 'common/network', 'common/routes', 'ssh/authorized_keys', 'files/001', 'files/002.meta', 'scripts/01-10-greet']));
  });

  it('names every field of the schema, each network method too (the others in comments)', () => {
    const names = fieldNames(ContextSchema);
    expect(names).toEqual(expect.arrayContaining(['hostname', 'network.method', 'network.macPrefix', 'files.contentBase64', 'ssh.authorizedKeys']));
    const missing = names.filter((name) => !new RegExp(`^[\\s#-]*${name.split('.').pop()}:`, 'm').test(text));
    expect(missing).toEqual([]);
    for (const method of ['static', 'ip-from-mac', 'dhcp']) expect(text).toMatch(new RegExp(`method: ${method}$`, 'm'));
  });
});
