import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { captureIo, Exit } from './capture-io.fixture.js';
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

describe('guardOutput', () => {
  it('ends quietly (141) when the reader went away, and with one line and exit 1 on any other write error', async () => {
    const { EventEmitter } = await import('node:events');
    const { guardOutput } = await import('./command-io.js');
    const said: string[] = [];
    const exits: number[] = [];
    const io = {
      stderr: (text: string) => void said.push(text),
      exit: ((code: number) => {
        exits.push(code);
        throw new Error('exit');
      }) as (code: number) => never,
    };
    const stream = new EventEmitter();
    guardOutput(stream, 'stdout', io);
    expect(() => stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toThrow('exit');
    expect(() => stream.emit('error', Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }))).toThrow('exit');
    expect(exits).toEqual([141, 1]);
    expect(said).toEqual(['vmctx: writing to stdout failed: ENOSPC: no space left on device, write [CLI_WRITE_FAILED]\n']);
  });
});
