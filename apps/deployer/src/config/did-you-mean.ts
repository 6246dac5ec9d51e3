/**
 * "Did you mean": the known key closest to a mistyped one (issue 24: `controler:` got only "unknown key"). The
 * deployment file's keys are every property name of its JSON Schema, at any depth: a typo is rarely a key of
 * another section, and one list keeps the suggestion honest without walking the schema by path.
 */
import { deploymentJsonSchema } from './json-schema.js';

let keys: ReadonlySet<string> | undefined;

/** Every property name of the deployment file's JSON Schema (made once, when a first unknown key is met). */
export function deploymentKeys(): ReadonlySet<string> {
  if (keys) return keys;
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === 'properties' && v && typeof v === 'object') for (const name of Object.keys(v)) found.add(name);
        walk(v);
      }
    }
  };
  walk(deploymentJsonSchema());
  keys = found;
  return keys;
}

/** The known key within a small edit distance of `key` (at most 2, and under half its length), if one is. */
export function closestKey(key: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.ceil(key.length / 2) - 1);
  for (const candidate of known) {
    if (candidate === key) continue;
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d <= bestDistance && (best === undefined || d < bestDistance)) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance (insert, delete, substitute), with one transposition counted as one (Damerau's "ei"/"ie"). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
