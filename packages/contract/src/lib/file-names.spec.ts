import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { escapeFileName, nonUtf8Names } from './file-names.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'contract-file-names-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('escapeFileName (issue 12)', () => {
  it.each([
    [Buffer.from('plain.txt'), 'plain.txt'],
    [Buffer.from('été.txt'), 'été.txt'],
    [Buffer.from([0x61, 0xff, 0x2e, 0x74]), 'a\\xff.t'],
    [Buffer.from([0xe9, 0x74, 0xe9]), '\\xe9t\\xe9'], // Latin-1 "été"
    [Buffer.from([0xc3]), '\\xc3'], // a sequence cut short
    [Buffer.from([0xed, 0xa0, 0x80]), '\\xed\\xa0\\x80'], // a UTF-16 surrogate, not UTF-8
    [Buffer.from([0xc0, 0xaf]), '\\xc0\\xaf'], // an overlong "/"
    [Buffer.from('a\\b'), 'a\\\\b'],
  ])('shows %j as %j', (bytes, shown) => {
    expect(escapeFileName(bytes)).toBe(shown);
  });
});

describe('nonUtf8Names', () => {
  it('finds the names Node showed with U+FFFD, escaped; none in a folder of UTF-8 names', async () => {
    await writeFile(Buffer.from(`${dir}/a\xff.txt`, 'latin1'), '');
    await writeFile(join(dir, 'ok-€.txt'), '');
    await writeFile(join(dir, 'real-\uFFFD.txt'), ''); // U+FFFD written as UTF-8 is a valid name
    const names = readdirSync(dir);
    expect(nonUtf8Names(dir, names)).toEqual(['a\\xff.txt']);
    expect(nonUtf8Names(dir, ['ok-€.txt'])).toEqual([]);
  });
});
