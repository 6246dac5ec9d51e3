import { describe, expect, it } from 'vitest';
import { buildPathTable, pathTableSize } from './path-table.js';

const entries = [
  { identifier: Buffer.from([0]), extent: 20, parent: 1 },
  { identifier: Buffer.from('COMMON'), extent: 21, parent: 1 },
  { identifier: Buffer.from('SUB'), extent: 22, parent: 1 },
];

describe('path tables (ECMA-119 9.4)', () => {
  it('write L records little-endian with padding after odd identifiers', () => {
    const l = buildPathTable(entries, false);
    expect(l.length).toBe(pathTableSize(entries));
    expect(l.subarray(0, 10).toString('hex')).toBe('01001400000001000000');
    expect(l[10]).toBe(6);
    expect(l.readUInt32LE(12)).toBe(21);
    expect(l.readUInt16LE(16)).toBe(1);
    expect(l.toString('latin1', 18, 24)).toBe('COMMON');
    expect(l[24]).toBe(3);
    expect(l.toString('latin1', 32, 35)).toBe('SUB');
    expect(l.length).toBe(36);
  });
  it('write M records big-endian', () => {
    const m = buildPathTable(entries, true);
    expect(m.readUInt32BE(2)).toBe(20);
    expect(m.readUInt32BE(12)).toBe(21);
    expect(m.readUInt16BE(16)).toBe(1);
  });
  it('refuse more directories than 16-bit parent numbers reach', () => {
    const many = Array.from({ length: 65536 }, () => ({ identifier: Buffer.from('A'), extent: 1, parent: 1 }));
    expect(() => buildPathTable(many, false)).toThrow(expect.objectContaining({ code: 'ISO_TOO_MANY_DIRECTORIES' }));
  });
});
