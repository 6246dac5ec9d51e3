import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEPLOYER_ERRORS } from './errors.js';

/** Every `new VmctxError('CODE', 'kind'` in the app's sources (tests excluded). */
function thrownCodes(): [string, string, string][] {
  const root = fileURLToPath(new URL('.', import.meta.url));
  const out: [string, string, string][] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !/\.(spec|test)\.ts$/.test(name)) {
        for (const m of readFileSync(path, 'utf8').matchAll(/new VmctxError\(\s*'([A-Z][A-Z0-9_]+)',\s*'([a-z]+)'/g)) out.push([path.slice(root.length), m[1]!, m[2]!]);
      }
    }
  };
  walk(root);
  return out;
}

describe('the deployer error catalogue', () => {
  it('has every code the app throws, with the kind it is thrown with', () => {
    const thrown = thrownCodes();
    expect(thrown.length).toBeGreaterThan(20);
    const wrong = thrown.filter(([, code, kind]) => !/^(CLI|ISO|DISK|TEMPLATE|GUEST)_/.test(code) && DEPLOYER_ERRORS[code as keyof typeof DEPLOYER_ERRORS] !== kind);
    expect(wrong).toEqual([]);
  });
});
