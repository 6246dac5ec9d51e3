import { describe, expect, it } from 'vitest';
import { catalogueCodes, errorCatalogue, errorClass, EXIT_CODES, exitCodeOf, isVmctxError, VmctxError } from './errors.js';

describe('VmctxError', () => {
  it('carries code, kind and where', () => {
    const e = new VmctxError('CONFIG_UNKNOWN_CONTROLLER', 'input', 'no controller "lc9"', { where: 'vms[2].controller' });
    expect([e.code, e.kind, e.where, e.message]).toEqual(['CONFIG_UNKNOWN_CONTROLLER', 'input', 'vms[2].controller', 'no controller "lc9"']);
    expect(isVmctxError(e)).toBe(true);
  });

  it('maps kinds to exit codes in one place', () => {
    expect(exitCodeOf(new VmctxError('X_BAD', 'input', 'm'))).toBe(2);
    expect(exitCodeOf(new VmctxError('X_IO', 'io', 'm'))).toBe(1);
    expect(exitCodeOf(new VmctxError('X_HELD', 'conflict', 'm'))).toBe(EXIT_CODES.conflict);
    expect(exitCodeOf(Object.assign(new Error('gone'), { code: 'ENOENT' }))).toBe(1);
    expect(exitCodeOf(new Error('plain'))).toBe(1);
  });

  it('recognises an error of the same shape from another copy of the package', () => {
    const foreign = Object.assign(new Error('m'), { code: 'DISK_NOT_FOUND', kind: 'io' });
    expect(isVmctxError(foreign)).toBe(true);
    expect(isVmctxError(Object.assign(new Error('m'), { code: 'ENOENT' }))).toBe(false);
  });
});

describe('errorCatalogue and errorClass', () => {
  const X_ERRORS = errorCatalogue({ input: ['X_BAD', 'X_EMPTY'], io: ['X_READ_FAILED'] });
  class XError extends errorClass('XError', X_ERRORS) {}

  it('gives each code its kind, and lists the codes', () => {
    expect(X_ERRORS).toEqual({ X_BAD: 'input', X_EMPTY: 'input', X_READ_FAILED: 'io' });
    expect(catalogueCodes(X_ERRORS)).toEqual(['X_BAD', 'X_EMPTY', 'X_READ_FAILED']);
  });

  it("makes errors of the code's kind, with where given as a path or as options", () => {
    const cause = new Error('EIO');
    const e = new XError('X_READ_FAILED', 'cannot read', { where: '/a', cause });
    expect([e.name, e.code, e.kind, e.where, e.cause]).toEqual(['XError', 'X_READ_FAILED', 'io', '/a', cause]);
    expect(e).toBeInstanceOf(VmctxError);
    expect(new XError('X_BAD', 'bad', 'vms[1]')).toMatchObject({ kind: 'input', where: 'vms[1]' });
    expect(exitCodeOf(new XError('X_EMPTY', 'empty'))).toBe(2);
  });
});
