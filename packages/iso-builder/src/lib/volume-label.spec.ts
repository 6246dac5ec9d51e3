import { describe, expect, it } from 'vitest';
import { IsoBuilderError } from './errors.js';
import { DEFAULT_VOLUME_LABEL, validateVolumeLabel } from './volume-label.js';

describe('validateVolumeLabel', () => {
  it.each([DEFAULT_VOLUME_LABEL, 'cidata', 'A'.repeat(32), 'MY_DISK-1.0'])('accepts %j', (label) => {
    expect(validateVolumeLabel(label)).toBe(label);
  });

  it.each([
    ['', /empty/],
    ['A'.repeat(33), /33 characters long.*at most 32/],
    ['bad/label', /contains "\/"/],
    ['été', /contains "é"/],
    // The context CD's rule (@vmctx/contract): the guest finds its CD by label, where a space is \x20.
    ['CD ROM', /contains " "/],
    [' LEAD', /contains " "/],
  ])('rejects %j', (label, message) => {
    expect(() => validateVolumeLabel(label)).toThrow(IsoBuilderError);
    expect(() => validateVolumeLabel(label)).toThrow(expect.objectContaining({ code: 'ISO_BAD_LABEL', kind: 'input' }));
    expect(() => validateVolumeLabel(label)).toThrow(message);
  });
});
