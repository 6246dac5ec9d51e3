import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEPLOYER_ERROR_CODES, DEPLOYER_ERRORS, DeployerError } from './errors.js';

/** Every `new VmctxError('CODE'` (a code written out, not passed on) in the app's sources, tests excluded. */
function literalVmctxErrors(): string[] {
  const root = fileURLToPath(new URL('.', import.meta.url));
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !/\.(spec|test)\.ts$/.test(name)) {
        for (const m of readFileSync(path, 'utf8').matchAll(/new VmctxError\(\s*'([A-Z][A-Z0-9_]+)'/g)) out.push(`${path.slice(root.length)}: ${m[1]}`);
      }
    }
  };
  walk(root);
  return out;
}

describe('the deployer error catalogue', () => {
  it('is the one way the app makes its errors: DeployerError (the compiler checks the code; the kind is the catalogue\'s)', () => {
    expect(literalVmctxErrors()).toEqual([]);
  });

  it.each(DEPLOYER_ERROR_CODES)('%s gets its kind from the catalogue', (code) => {
    const error = new DeployerError(code, 'm', { where: 'w', cause: 'c' });
    expect([error.code, error.kind, error.where, error.cause, error.name]).toEqual([code, DEPLOYER_ERRORS[code], 'w', 'c', 'DeployerError']);
  });
});
