import { describe, expect, it } from 'vitest';
import { encodeUcs2, writeBoth16, writeBoth32, writeLongDate, writePaddedAscii, writePaddedUcs2, writeShortDate } from './encoding.js';

describe('both-endian numbers (ECMA-119 7.2.3, 7.3.3)', () => {
  it('writes 16-bit little-endian then big-endian', () => {
    const buf = Buffer.alloc(4);
    writeBoth16(buf, 0, 0x0102);
    expect([...buf]).toEqual([0x02, 0x01, 0x01, 0x02]);
  });
  it('writes 32-bit little-endian then big-endian', () => {
    const buf = Buffer.alloc(8);
    writeBoth32(buf, 0, 0x01020304);
    expect([...buf]).toEqual([4, 3, 2, 1, 1, 2, 3, 4]);
  });
});

describe('dates', () => {
  const t = Date.UTC(2024, 1, 29, 13, 5, 9) / 1000;
  it('writes the 7-byte recording date in UTC (9.1.5)', () => {
    const buf = Buffer.alloc(7);
    writeShortDate(buf, 0, t);
    expect([...buf]).toEqual([124, 2, 29, 13, 5, 9, 0]);
  });
  it('clamps dates the 7-byte form cannot hold instead of wrapping', () => {
    const buf = Buffer.alloc(7);
    writeShortDate(buf, 0, Date.UTC(2300, 0, 1) / 1000);
    expect(buf[0]).toBe(255);
    writeShortDate(buf, 0, -5e9);
    expect([...buf.subarray(0, 3)]).toEqual([0, 1, 1]);
  });
  it('writes the 17-byte volume date (8.4.26.1), and "not specified" as zeros', () => {
    const buf = Buffer.alloc(17);
    writeLongDate(buf, 0, t);
    expect(buf.toString('latin1', 0, 16)).toBe('2024022913050900');
    expect(buf[16]).toBe(0);
    writeLongDate(buf, 0, null);
    expect(buf.toString('latin1', 0, 16)).toBe('0000000000000000');
  });
});

describe('text fields', () => {
  it('pads a-characters with spaces and cuts what is too long', () => {
    const buf = Buffer.alloc(8, 0xff);
    writePaddedAscii(buf, 0, 6, 'CONTEXT');
    expect(buf.toString('latin1')).toBe('CONTEX\xff\xff');
    writePaddedAscii(buf, 0, 8, 'AB');
    expect(buf.toString('latin1')).toBe('AB      ');
  });
  it('encodes UCS-2 big-endian, with surrogate pairs beyond the BMP', () => {
    expect(encodeUcs2('aé').toString('hex')).toBe('006100e9');
    expect(encodeUcs2('😀').toString('hex')).toBe('d83dde00');
  });
  it('pads UCS-2 fields with UCS-2 spaces', () => {
    const buf = Buffer.alloc(8);
    writePaddedUcs2(buf, 0, 8, 'A');
    expect(buf.toString('hex')).toBe('0041002000200020');
  });
});
