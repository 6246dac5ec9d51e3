import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { captureIo, Exit } from './capture-io.test.js';
import { CommandError, commandErrorFrom, withCliDefaults } from './command-io.js';

class PackageError extends Error {
  override readonly name = 'PackageError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

describe('commandErrorFrom', () => {
  const errors = { name: 'PackageError', failureCodes: new Set(['WRITE_FAILED']), systemErrors: true };

  it('makes bad input exit 2 and failures exit 1, keeping the code', () => {
    const input = commandErrorFrom(new PackageError('BAD_SIZE', 'size is zero'), errors);
    expect(input).toBeInstanceOf(CommandError);
    expect(input).toMatchObject({ exitCode: 2, code: 'BAD_SIZE', message: 'size is zero [BAD_SIZE]' });
    expect(commandErrorFrom(new PackageError('WRITE_FAILED', 'disk full'), errors)).toMatchObject({ exitCode: 1 });
  });

  it('matches by code prefix and treats system errors as failures when asked', () => {
    const iso = Object.assign(new Error('label too long'), { code: 'ISO_BAD_LABEL' });
    expect(commandErrorFrom(iso, { codePrefix: 'ISO_' })).toMatchObject({ exitCode: 2, code: 'ISO_BAD_LABEL' });
    const enoent = Object.assign(new Error('no such file'), { code: 'ENOENT' });
    expect(commandErrorFrom(enoent, errors)).toMatchObject({ exitCode: 1, code: 'ENOENT' });
    expect(commandErrorFrom(enoent, { name: 'PackageError' })).toBe(enoent);
  });

  it('leaves other errors alone', () => {
    const other = new TypeError('bug');
    expect(commandErrorFrom(other, errors)).toBe(other);
    expect(commandErrorFrom('text', errors)).toBe('text');
  });
});

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
