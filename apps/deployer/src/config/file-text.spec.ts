import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstInvalidUtf8 } from './file-text.js';

const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const decodes = (bytes: Uint8Array) => {
  try {
    fatal.decode(bytes);
    return true;
  } catch {
    return false;
  }
};

/** UTF-8 text (U+FFFD and newlines among it) with stray bytes, truncated sequences and surrogates' encodings. */
const mixedBytes = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 8 }).map((s) => Buffer.from(s)),
      fc.constantFrom('\ufffd', '\n', 'é', '\u{1f600}').map((s) => Buffer.from(s)),
      fc.uint8Array({ minLength: 1, maxLength: 3 }).map((b) => Buffer.from(b)),
      fc.constantFrom([0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xef, 0xbf, 0xbd]).map((b) => Buffer.from(b)),
    ),
    { maxLength: 12 },
  )
  .map((parts) => Buffer.concat(parts));

describe('firstInvalidUtf8', () => {
  it('finds a bad byte exactly when the strict decoder refuses, and the first: all before it decodes, no character starts at it', () => {
    fc.assert(
      fc.property(mixedBytes, (bytes) => {
        const at = firstInvalidUtf8(bytes);
        expect(at === undefined).toBe(decodes(bytes));
        if (at === undefined) return;
        expect(decodes(bytes.subarray(0, at.offset))).toBe(true);
        for (let n = 1; n <= 4; n++) expect(decodes(bytes.subarray(at.offset, at.offset + n))).toBe(false);
        const before = fatal.decode(bytes.subarray(0, at.offset));
        expect(at.line).toBe(before.split('\n').length);
        expect(at.column).toBe([...before.split('\n').pop()!].length + 1);
      }),
      { numRuns: 2000 },
    );
  });

  it('passes over a U+FFFD written in the file', () => {
    expect(firstInvalidUtf8(Buffer.from('a\ufffd\nb\ufffd'))).toBeUndefined();
    expect(firstInvalidUtf8(Buffer.concat([Buffer.from('\ufffd\n\ufffdx'), Buffer.from([0xff])]))).toEqual({ offset: 8, line: 2, column: 3 });
  });
});
