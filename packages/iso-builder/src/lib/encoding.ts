/**
 * Field encodings of ECMA-119 section 7 and the text encodings of the descriptors.
 * Every writer takes the target buffer and an offset, so structures are built in place.
 */

export const SECTOR_SIZE = 2048;

/** ECMA-119 7.2.3: 16-bit number, both-byte orders (little-endian then big-endian). */
export function writeBoth16(buf: Buffer, offset: number, value: number): void {
  // Plain byte stores: tens of thousands of records are written once, before the JIT has warmed up, and
  // Buffer's checked writeUInt* helpers cost several times more there.
  buf[offset] = value & 0xff;
  buf[offset + 1] = (value >>> 8) & 0xff;
  buf[offset + 2] = (value >>> 8) & 0xff;
  buf[offset + 3] = value & 0xff;
}

/** ECMA-119 7.3.3: 32-bit number, both-byte orders (little-endian then big-endian). */
export function writeBoth32(buf: Buffer, offset: number, value: number): void {
  if (value < 0 || value > 0xffffffff || !Number.isInteger(value)) throw new RangeError(`${value} does not fit a 32-bit field`);
  const b0 = value & 0xff;
  const b1 = (value >>> 8) & 0xff;
  const b2 = (value >>> 16) & 0xff;
  const b3 = (value >>> 24) & 0xff;
  buf[offset] = b0;
  buf[offset + 1] = b1;
  buf[offset + 2] = b2;
  buf[offset + 3] = b3;
  buf[offset + 4] = b3;
  buf[offset + 5] = b2;
  buf[offset + 6] = b1;
  buf[offset + 7] = b0;
}

/** Broken-down UTC time; dates are written in UTC (offset 0) so that images do not depend on the machine's zone. */
function utcParts(epochSeconds: number): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const d = new Date(Math.floor(epochSeconds) * 1000);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

/** The 7-byte form can hold 1900..2155; times outside are clamped rather than wrapped. */
const MIN_SHORT_DATE = Date.UTC(1900, 0, 1) / 1000;
const MAX_SHORT_DATE = Date.UTC(2155, 11, 31, 23, 59, 59) / 1000;

/**
 * The last time (seconds since 1970, 2155-12-31T23:59:59Z) that every date of an image can hold: the 7-byte
 * directory record dates (ECMA-119 9.1.5, years 1900-2155) end before the 17-byte volume descriptor dates
 * (8.4.26.1, years 1-9999). An epoch after it would be written as another date; resolveEpoch refuses it.
 */
export const MAX_ISO_EPOCH = MAX_SHORT_DATE;

/** ECMA-119 9.1.5: recording date and time, 7 bytes (years since 1900, month, day, hour, minute, second, GMT offset). */
let lastShortDate = NaN;
const lastShortBytes = Buffer.alloc(7);

export function writeShortDate(buf: Buffer, offset: number, epochSeconds: number): void {
  // Most dates of an image are equal (one epoch, or files from one checkout): convert each value once.
  if (epochSeconds !== lastShortDate) {
    const p = utcParts(Math.min(Math.max(epochSeconds, MIN_SHORT_DATE), MAX_SHORT_DATE));
    lastShortBytes[0] = p.year - 1900;
    lastShortBytes[1] = p.month;
    lastShortBytes[2] = p.day;
    lastShortBytes[3] = p.hour;
    lastShortBytes[4] = p.minute;
    lastShortBytes[5] = p.second;
    lastShortBytes[6] = 0; // offset from GMT in 15-minute units: UTC
    lastShortDate = epochSeconds;
  }
  buf.set(lastShortBytes, offset); // one built-in call rather than seven interpreted stores while the JIT is cold
}

const MAX_LONG_DATE = Date.UTC(9999, 11, 31, 23, 59, 59) / 1000;

/** ECMA-119 8.4.26.1: date and time, 17 bytes ("YYYYMMDDHHMMSScc" digits and a GMT offset byte). */
export function writeLongDate(buf: Buffer, offset: number, epochSeconds: number | null): void {
  if (epochSeconds === null) {
    // 8.4.26.1: "not specified" is all digits zero and offset zero.
    buf.write('0000000000000000', offset, 'latin1');
    buf[offset + 16] = 0;
    return;
  }
  const p = utcParts(Math.min(Math.max(epochSeconds, 0), MAX_LONG_DATE));
  const two = (n: number): string => String(n).padStart(2, '0');
  const text = `${String(p.year).padStart(4, '0')}${two(p.month)}${two(p.day)}${two(p.hour)}${two(p.minute)}${two(p.second)}00`;
  buf.write(text, offset, 'latin1');
  buf[offset + 16] = 0;
}

/** ECMA-119 7.4: a-/d-character fields are left-justified and padded with spaces. */
export function writePaddedAscii(buf: Buffer, offset: number, length: number, text: string): void {
  buf.fill(0x20, offset, offset + length);
  buf.write(text.slice(0, length), offset, 'latin1');
}

/** Joliet: text fields of the SVD are UCS-2 big-endian, padded with UCS-2 spaces (0x0020). */
export function writePaddedUcs2(buf: Buffer, offset: number, length: number, text: string): void {
  for (let i = 0; i + 1 < length; i += 2) buf.writeUInt16BE(0x0020, offset + i);
  const encoded = encodeUcs2(text);
  encoded.copy(buf, offset, 0, Math.min(encoded.length, length - (length % 2)));
}

/** UTF-16 big-endian (UCS-2 plus surrogate pairs for characters outside the BMP, which Linux and Windows read). */
export function encodeUcs2(text: string): Buffer {
  const out = Buffer.alloc(text.length * 2);
  for (let i = 0; i < text.length; i++) out.writeUInt16BE(text.charCodeAt(i), i * 2);
  return out;
}

export function sectorsFor(bytes: number): number {
  return Math.ceil(bytes / SECTOR_SIZE);
}
