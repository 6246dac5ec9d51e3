/**
 * The deployment file's text as data plus a way back from a data path to a line, so that every problem can say
 * `deploy.yaml:14: vms[2].controller: ...`. yaml's Document keeps each node's offsets; a LineCounter turns an
 * offset into a line.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { LocatedProblem, Path } from './problems.js';

export type YamlSource =
  | { ok: true; value: unknown; lineOf: (path: Path) => number | undefined }
  | { ok: false; problems: LocatedProblem[] };

export function readYaml(text: string): YamlSource {
  const lineCounter = new LineCounter();
  // JSON is YAML 1.2, so one parser reads both. Merge keys (`<<: *base`) are what YAML users write to share
  // fields; aliases are bounded by yaml's maxAliasCount against exponential expansion.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, merge: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => ({
        path: '',
        line: error.linePos?.[0].line,
        // prettyErrors appends " at line L, column C:" and a snippet; the line is said once, in front.
        message: `not valid YAML: ${error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
        code: 'CONFIG_INVALID',
        kind: 'input',
      })),
    };
  }
  return { ok: true, value: doc.toJS({ maxAliasCount: 100 }), lineOf: (path) => lineOf(doc, lineCounter, path) };
}

/**
 * The line of the deepest node of `path` that exists: a key's own line for a map entry (not its value's, which
 * may start on the next line), the item's line for a sequence entry. A missing key (a required field left
 * out) or a key that came through a merge gives the line of the object that should hold it.
 */
function lineOf(doc: Document, lines: LineCounter, path: Path): number | undefined {
  let node: unknown = doc.contents;
  const at = (offset: number | undefined) => (offset === undefined ? undefined : lines.linePos(offset).line);
  let line = at(rangeStart(node)) ?? 1;
  for (const key of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(key));
      if (pair === undefined) break;
      line = at(rangeStart(pair.key)) ?? line;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key];
      if (item === undefined) break;
      line = at(rangeStart(item)) ?? line;
      node = item;
    } else break;
  }
  return line;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range?.[0];
}
