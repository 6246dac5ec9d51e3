/**
 * Sizes as qemu-img reads and prints them.
 *
 * Reading (qemu_strtosz with bytes as the default unit): a decimal or 0x-hex number, an optional fraction,
 * an optional suffix B, K, M, G, T, P, E (any case, powers of 1024). "1.5G" is 1610612736; a fraction of a
 * byte ("1.5") is refused.
 * Printing (QEMU's size_to_str): three significant digits and a binary unit, "1 GiB", "977 KiB", "512 B".
 */
import { DiskBuilderError } from './errors.js';

const UNITS: Record<string, number> = { B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40, P: 2 ** 50, E: 2 ** 60 };

export function parseQemuSize(text: string): number {
  const bad = (why: string) =>
    new DiskBuilderError('DISK_SIZE_INVALID', `invalid size '${text}': ${why}; use bytes or a k, M, G, T, P or E suffix (e.g. 20G, 1.5T)`);
  const match = /^\s*(0[xX][0-9a-fA-F]+|\d+)(\.\d+)?\s*([bBkKmMgGtTpPeE])?$/.exec(text);
  if (!match) throw bad('not a number with an optional unit');
  const [, whole = '', fraction, unit = 'B'] = match;
  const multiplier = UNITS[unit.toUpperCase()] ?? 1;
  if (whole.toLowerCase().startsWith('0x') && fraction !== undefined) throw bad('a hexadecimal size has no fraction');
  const base = Number(whole);
  const part = fraction === undefined ? 0 : Number(`0${fraction}`);
  if (multiplier === 1 && part !== 0) throw bad('a fraction of a byte');
  const value = Math.floor(base * multiplier + part * multiplier);
  if (!Number.isSafeInteger(value)) throw new DiskBuilderError('DISK_SIZE_TOO_LARGE', `size '${text}' is beyond 2^53 bytes`);
  return value;
}

export function formatQemuSize(bytes: number): string {
  const suffixes = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
  // frexp(val / (1000/1024)) gives the binary exponent; switching unit once the integer part reaches 1000.
  const exponent = bytes <= 0 ? 0 : Math.floor(Math.log2(bytes / (1000 / 1024))) + 1;
  const i = Math.min(Math.max(Math.floor((exponent - 1) / 10), 0), suffixes.length - 1);
  const value = bytes / 2 ** (i * 10);
  return `${threeDigits(value)} ${suffixes[i]}B`;
}

/**
 * printf's "%0.3g", as QEMU's size_to_str formats: three significant digits, a tie rounded to the even digit
 * (glibc rounds the exact binary value; 197120 bytes, 192.5 KiB, is "192 KiB", where toPrecision gives 193).
 */
function threeDigits(value: number): string {
  if (value === 0) return '0';
  const decimals = 2 - Math.floor(Math.log10(value));
  const scaled = value * 10 ** decimals;
  const floor = Math.floor(scaled);
  const rounded = scaled - floor === 0.5 ? (floor % 2 === 0 ? floor : floor + 1) : Math.round(scaled);
  return String(Number((rounded / 10 ** decimals).toPrecision(3)));
}
