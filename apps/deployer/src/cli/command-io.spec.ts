import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { captureIo, Exit } from './capture-io.test.js';
import { withCliDefaults } from './command-io.js';

describe('withCliDefaults', () => {
  it('sends usage errors to stderr with exit 2, help to stdout with exit 0', async () => {
    const io = captureIo();
    const command = withCliDefaults(new Command('demo'), io).argument('<file>').action(() => undefined);
    await expect(command.parseAsync([], { from: 'user' })).rejects.toEqual(new Exit(2));
    expect(io.err).toMatch(/missing required argument 'file'/);
    io.reset();
    await expect(command.parseAsync(['--help'], { from: 'user' })).rejects.toMatchObject({ exitCode: 0 });
    expect(io.out).toMatch(/Usage: demo/);
  });
});
