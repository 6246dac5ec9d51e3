import { describe, expect, it } from 'vitest';
import { CONTEXT_DISK_ALIAS, DEFAULT_CONTEXT_LABEL, isVolumeLabel, volumeLabelProblem } from './context-cd.js';

describe('the context CD label rule', () => {
  it.each([DEFAULT_CONTEXT_LABEL, 'cidata', 'CTX_2024.1-a', 'A'.repeat(32)])('accepts %j', (label) => {
    expect(volumeLabelProblem(label)).toBeUndefined();
  });

  it.each([
    ['', /empty/],
    ['A'.repeat(33), /at most 32/],
    ['MY CD', /contains " "/],
    ['no/slash', /contains "\/"/],
    ["it's", /contains "'"/],
    ['ÉTÉ', /contains "É"/],
  ])('refuses %j', (label, message) => {
    expect(volumeLabelProblem(label)).toMatch(message);
    expect(isVolumeLabel(label)).toBe(false);
  });

  it("gives the context disk an alias libvirt keeps (user aliases start with 'ua-')", () => {
    expect(CONTEXT_DISK_ALIAS).toMatch(/^ua-[A-Za-z0-9_-]+$/);
  });
});
