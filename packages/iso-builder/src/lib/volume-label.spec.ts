import { describe, expect, it } from 'vitest';
import { DEFAULT_VOLUME_LABEL, validateVolumeLabel, VolumeLabelError } from './volume-label.js';

describe('validateVolumeLabel', () => {
  it.each([DEFAULT_VOLUME_LABEL, 'cidata', 'A'.repeat(32), 'MY_DISK-1.0', 'CD ROM'])('accepts %j', (label) => {
    expect(validateVolumeLabel(label)).toBe(label);
  });

  it.each([
    ['', /empty/],
    ['A'.repeat(33), /33 characters long.*at most 32/],
    ['bad/label', /contains "\/"/],
    ['été', /contains "é"/],
    [' LEAD', /starts or ends with a space/],
  ])('rejects %j', (label, message) => {
    expect(() => validateVolumeLabel(label)).toThrow(VolumeLabelError);
    expect(() => validateVolumeLabel(label)).toThrow(message);
  });
});
