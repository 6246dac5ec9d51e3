import { VmctxError } from '@vmctx/contract';
import { describe, expect, it } from 'vitest';
import { action, formatError } from './action.js';
import { captureIo, Exit } from './capture-io.fixture.js';
import { CliError } from './errors.js';

describe('formatError', () => {
  it('prints the message and the code, and where when the message does not say it', () => {
    expect(formatError(new VmctxError('X_BAD', 'input', 'size is zero', { where: 'vms[2].disk' }))).toBe('vmctx: size is zero [X_BAD]\n  at vms[2].disk\n');
    expect(formatError(new VmctxError('X_BAD', 'input', '/a/b: size is zero', { where: '/a/b' }))).toBe('vmctx: /a/b: size is zero [X_BAD]\n');
    expect(formatError(Object.assign(new Error('no such file'), { code: 'ENOENT' }))).toBe('vmctx: no such file [ENOENT]\n');
    expect(formatError('text')).toBe('vmctx: text\n');
  });

  it('ends the first line with the code: the lines after it are details', () => {
    expect(formatError(new VmctxError('X_BAD', 'input', 'f: 2 problems\nf:1: a [X_ONE]\nf:2: b [X_TWO]'))).toBe('vmctx: f: 2 problems [X_BAD]\nf:1: a [X_ONE]\nf:2: b [X_TWO]\n');
  });
});

describe('action', () => {
  const run = async (fn: () => Promise<number | void>) => {
    const io = captureIo();
    const exit = await action(io, fn)().then(
      () => 0,
      (error: unknown) => (error as Exit).exitCode,
    );
    return { exit, err: io.err };
  };

  it("exits with the code of the error's kind, after printing it", async () => {
    expect(await run(async () => void 0)).toEqual({ exit: 0, err: '' });
    expect(await run(async () => Promise.reject(new CliError('CLI_USAGE', 'give -b')))).toEqual({ exit: 2, err: 'vmctx: give -b [CLI_USAGE]\n' });
    expect(await run(async () => Promise.reject(new CliError('CLI_READ_FAILED', 'cannot read x', { where: 'x' })))).toMatchObject({ exit: 1 });
    expect(await run(async () => Promise.reject(new VmctxError('GUEST_OUTPUT_EXISTS', 'conflict', 'out exists')))).toMatchObject({ exit: 3 });
    expect(await run(async () => Promise.reject(new TypeError('a bug')))).toEqual({ exit: 1, err: 'vmctx: a bug\n' });
  });

  it('exits with a number the action returns (an outcome such as lint errors)', async () => {
    expect(await run(async () => 1)).toEqual({ exit: 1, err: '' });
  });
});
