/**
 * No module of this package imports, through others, itself: in a cycle one side runs against bindings the other
 * has not yet set (a constant read at load time would be undefined), so that it works hangs on when each name is
 * read. context.ts and context-size.ts were such a pair; their limits now stand in context-limits.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Each product module of src/ (specs left out) with the modules of src/ it imports. */
function importGraph(): Map<string, string[]> {
  const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'));
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(join(SRC, file), 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'(\.[^']+)\.js'/gms)].map((m) => join(dirname(file), `${m[1]}.ts`));
    graph.set(file, targets);
  }
  return graph;
}

/** The first cycle found, as the path round it, or undefined. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const done = new Set<string>();
  const visit = (file: string, path: string[]): string[] | undefined => {
    if (path.includes(file)) return [...path.slice(path.indexOf(file)), file];
    if (done.has(file)) return undefined;
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next, [...path, file]);
      if (cycle) return cycle;
    }
    done.add(file);
    return undefined;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file, []);
    if (cycle) return cycle;
  }
  return undefined;
}

it('has no import cycle among its modules', () => {
  const graph = importGraph();
  expect(graph.get(join('lib', 'context.ts'))).toContain(join('lib', 'context-size.ts'));
  expect(findCycle(graph)).toBeUndefined();
});
