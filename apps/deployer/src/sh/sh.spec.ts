/**
 * The controller's shell files (apps/deployer/sh): shellcheck-clean, each with a header that says what it does and
 * how it is run, and embedded as they are now. Each script's protocol is tested by its own spec beside this one.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as generated from './sh.generated.js';
import { shellcheck, shFiles } from '../../../../packages/contract/scripts/sh-files.mjs';

const APP = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SH = join(APP, 'sh');

const scripts = shFiles(SH).filter((f) => dirname(f) === SH);

describe('the controller shell files', () => {
  for (const file of shFiles(SH)) {
    it(`pass shellcheck -s sh: ${relative(SH, file)}`, () => {
      expect(shellcheck(file)).toBe('');
    });
  }

  for (const file of scripts) {
    it(`say in their header how they are run, and what they read and print: ${relative(SH, file)}`, () => {
      const header = readFileSync(file, 'utf8').split('\n\n')[0]!;
      expect(header).toMatch(/^# shellcheck shell=sh\n# \S/);
      expect(header).toContain(`# Run as: sh -`);
      expect(header).toMatch(/^# (stdin|stdout|Exit):/m);
    });
  }

  it('are embedded as they are now (src/sh/sh.generated.ts is not stale)', () => {
    const result = spawnSync(process.execPath, [join(APP, 'scripts/embed-sh.mjs'), '--check'], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('give one constant a script, each shellcheck-clean as the one text it is, with nothing of the source tree left', () => {
    expect(Object.keys(generated).sort()).toEqual(scripts.map((f) => `${relative(SH, f).replace(/\.sh$/, '').replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}_SH`).sort());
    for (const [name, text] of Object.entries(generated)) {
      expect(shellcheck('-', `# shellcheck shell=sh\n${text}\n`), name).toBe('');
      expect(text, name).not.toMatch(/vmctx_sh|^\s*#/m);
    }
  });
});
