import { describe, expect, it } from 'vitest';
import { EXIT_CODES, exitCodeOf, isVmctxError, VmctxError } from './errors.js';

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
