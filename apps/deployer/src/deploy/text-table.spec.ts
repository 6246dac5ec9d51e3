import { describe, expect, it } from 'vitest';
import { fitColumns, formatTable, wrapText } from './text-table.js';

describe('wrapText', () => {
  it('breaks at spaces, and inside a word only when the word alone is too wide', () => {
    expect(wrapText('one two three four', 9)).toEqual(['one two', 'three', 'four']);
    expect(wrapText('a /very/long/path/name b', 8)).toEqual(['a', '/very/lo', 'ng/path/', 'name b']);
    expect(wrapText('', 5)).toEqual(['']);
  });
});

describe('fitColumns', () => {
  it('keeps natural widths that fit, and shares the rest between the wide columns by the root of their width', () => {
    expect(fitColumns([4, 10, 20], 100)).toEqual([4, 10, 20]);
    // 100 - 6 for the gaps, 4 + 19 kept: 71 for 400 and 100 (20 : 10 by their roots).
    expect(fitColumns([4, 19, 400, 100], 100)).toEqual([4, 19, 47, 23]);
  });
});

describe('formatTable', () => {
  it('fits the width given, each row as many lines as its tallest cell, the last column unpadded', () => {
    const text = formatTable(['', 'object', 'finding', 'fix'], [['FAIL', 'ssh h:1', 'x '.repeat(150).trim(), 'do this and that '.repeat(6).trim()]], 60);
    const lines = text.trimEnd().split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(60);
    expect(lines.length).toBeGreaterThan(3);
    expect(lines[1]!.startsWith('FAIL  ssh h:1  x x')).toBe(true);
    // Every word of each cell is there, in order.
    const column = (from: number) => lines.slice(1).map((l) => l.slice(from).split('  ')[0]!.trim()).join(' ').trim();
    expect(column(lines[0]!.indexOf('finding'))).toBe('x '.repeat(150).trim());
  });

  it('without a width, one line a row, as before', () => {
    expect(formatTable(['a', 'b'], [['1', 'long cell  with  spaces']])).toBe('a  b\n1  long cell  with  spaces\n');
  });
});
