import { readFileSync } from 'node:fs';
import { DISK_ERROR_CODES, DISK_ERRORS } from '@vmctx/disk-builder';
import { GUEST_ERROR_CODES, GUEST_ERRORS } from '@vmctx/guest-script';
import { ISO_ERROR_CODES, ISO_ERRORS } from '@vmctx/iso-builder';
import { TEMPLATE_ERROR_CODES, TEMPLATE_ERRORS } from '@vmctx/template-renderer';
import { describe, expect, it } from 'vitest';
import { DEPLOYER_ERROR_CODES, DEPLOYER_ERRORS } from '../errors.js';
import { CLI_ERROR_CODES, CLI_ERRORS } from './errors.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
/** The rows `| \`CODE\` | kind | meaning |` of the README's table of error codes. */
const documented = new Map([...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| (\w+) \| .+ \|$/gm)].map((m) => [m[1]!, m[2]!]));

const catalogues: [string, readonly string[], Readonly<Record<string, string>>][] = [
  ['CLI_', CLI_ERROR_CODES, CLI_ERRORS],
  ['ISO_', ISO_ERROR_CODES, ISO_ERRORS],
  ['DISK_', DISK_ERROR_CODES, DISK_ERRORS],
  ['TEMPLATE_', TEMPLATE_ERROR_CODES, TEMPLATE_ERRORS],
  ['GUEST_', GUEST_ERROR_CODES, GUEST_ERRORS],
  ['', DEPLOYER_ERROR_CODES, DEPLOYER_ERRORS],
];

describe("the README's table of error codes", () => {
  it.each(catalogues)('lists every %s code with its kind', (prefix, codes, kinds) => {
    for (const code of codes) {
      expect(code.startsWith(prefix), code).toBe(true);
      expect(documented.get(code), code).toBe(kinds[code]);
    }
  });

  it('lists no code that no package has', () => {
    const known = new Set(catalogues.flatMap(([, codes]) => codes));
    expect([...documented.keys()].filter((code) => !known.has(code))).toEqual([]);
  });
});
