import { describe, expect, it } from 'vitest';
import { formatQemuSize, parseQemuSize } from './size.js';

describe('parseQemuSize', () => {
  it.each([
    ['1048576', 1048576],
    ['1000000', 1000000],
    ['1k', 1024],
    ['1.5K', 1536],
    ['1.5m', 1572864],
    ['2g', 2 * 2 ** 30],
    ['2T', 2 * 2 ** 40],
    ['2P', 2 * 2 ** 50],
    ['1B', 1],
    ['1.0', 1],
    ['0x10', 16],
    [' 1k', 1024],
    ['0.1k', 102],
  ])('%s = %i bytes, as qemu-img reads it', (text, bytes) => {
    expect(parseQemuSize(text)).toBe(bytes);
  });
  it.each(['', '1.5', '1k5', '1kB', '1e3', '-1', 'G', '0x1.5k'])('refuses %j', (text) => {
    expect(() => parseQemuSize(text)).toThrow(expect.objectContaining({ code: 'DISK_SIZE_INVALID', message: expect.stringContaining(`'${text}'`) }));
  });
  it('refuses sizes beyond 2^53', () => {
    expect(() => parseQemuSize('8E')).toThrow(expect.objectContaining({ code: 'DISK_SIZE_TOO_LARGE' }));
  });
});

describe('formatQemuSize', () => {
  it.each([
    [0, '0 B'],
    [512, '512 B'],
    [999, '999 B'],
    [1000, '0.977 KiB'],
    [200704, '196 KiB'],
    [197120, '192 KiB'], // 192.5: a tie, to the even digit as printf does
    [198144, '194 KiB'], // 193.5
    [1290240, '1.23 MiB'],
    [1000448, '977 KiB'],
    [2 ** 30, '1 GiB'],
    [1.5 * 2 ** 30, '1.5 GiB'],
    [67108864, '64 MiB'],
    [2 * 2 ** 40, '2 TiB'],
  ])('%i bytes print as %s, as qemu-img info does', (bytes, text) => {
    expect(formatQemuSize(bytes)).toBe(text);
  });
});
