import { describe, expect, it } from 'vitest';
import { createProgram } from './program.js';

describe('vmctx program', () => {
  it('prints its help with the package version', async () => {
    const program = createProgram().exitOverride();
    let out = '';
    program.configureOutput({ writeOut: (s) => (out += s) });
    await expect(program.parseAsync(['node', 'vmctx', '--version'])).rejects.toMatchObject({ code: 'commander.version' });
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
