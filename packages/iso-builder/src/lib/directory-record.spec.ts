import { describe, expect, it } from 'vitest';
import { placeRecords, recordLength, systemUseRoom, writeDirectoryRecord } from './directory-record.js';

describe('directory records (ECMA-119 9.1)', () => {
  it('have an even length with the padding byte after even identifiers', () => {
    expect(recordLength(1, 0)).toBe(34);
    expect(recordLength(9, 0)).toBe(42);
    expect(recordLength(10, 0)).toBe(44);
    expect(recordLength(9, 5)).toBe(48);
  });
  it('leave room so that no record exceeds 254 bytes', () => {
    for (const id of [1, 2, 12, 128]) expect(recordLength(id, systemUseRoom(id))).toBeLessThanOrEqual(254);
  });
  it('write every field where 9.1 says', () => {
    const buf = Buffer.alloc(64);
    const systemUseAt = writeDirectoryRecord(buf, 0, {
      extent: 0x20,
      size: 0x1234,
      date: Date.UTC(2020, 0, 2, 3, 4, 5) / 1000,
      flags: 2,
      identifier: Buffer.from('AB.C;1'),
      systemUse: Buffer.from('RR'),
    });
    expect(systemUseAt).toBe(40);
    expect(buf[0]).toBe(42);
    expect(buf.readUInt32LE(2)).toBe(0x20);
    expect(buf.readUInt32BE(6)).toBe(0x20);
    expect(buf.readUInt32LE(10)).toBe(0x1234);
    expect([...buf.subarray(18, 25)]).toEqual([120, 1, 2, 3, 4, 5, 0]);
    expect(buf[25]).toBe(2);
    expect(buf.readUInt16LE(28)).toBe(1);
    expect(buf[32]).toBe(6);
    expect(buf.toString('latin1', 33, 39)).toBe('AB.C;1');
    expect(buf[39]).toBe(0);
    expect(buf.toString('latin1', 40, 42)).toBe('RR');
  });
});

describe('placeRecords', () => {
  it('never lets a record cross a sector', () => {
    const lengths = Array.from({ length: 100 }, (_, i) => 34 + ((i * 37) % 200) * 2 - ((i * 37) % 200) % 2);
    const { offsets, size } = placeRecords(lengths.map((l) => l + (l % 2)), 2048);
    offsets.forEach((offset, i) => {
      const end = offset + (lengths[i] as number) - 1;
      expect(Math.floor(offset / 2048)).toBe(Math.floor(end / 2048));
    });
    expect(size % 2048).toBe(0);
  });
  it('gives an empty directory one sector', () => {
    expect(placeRecords([34, 34], 2048)).toEqual({ offsets: [0, 34], size: 2048 });
  });
});
