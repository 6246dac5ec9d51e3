import { describe, expect, it } from 'vitest';
import { compareJolietNames, JOLIET_MAX_NAME, jolietName, jolietSortKey, resolveJolietCollisions } from './joliet.js';

describe('jolietName', () => {
  it('keeps case, dots, spaces and Unicode', () => {
    expect(jolietName('Mixed Case.TXT')).toBe('Mixed Case.TXT');
    expect(jolietName('été.conf')).toBe('été.conf');
  });
  it('replaces the characters Joliet forbids', () => {
    expect(jolietName('a;b*c:d?e\\f')).toBe('a_b_c_d_e_f');
  });
  it('keeps the extension of a name it cuts', () => {
    const name = jolietName(`${'long-'.repeat(20)}.conf`);
    expect(name).toHaveLength(JOLIET_MAX_NAME);
    expect(name.endsWith('.conf')).toBe(true);
  });
  it('cuts at 64 UTF-16 units without splitting a surrogate pair', () => {
    expect(jolietName('x'.repeat(100))).toHaveLength(JOLIET_MAX_NAME);
    const name = `${'x'.repeat(63)}😀tail`;
    expect(jolietName(name)).toBe('x'.repeat(63));
  });
});

describe('resolveJolietCollisions', () => {
  const entry = (name: string) => ({ name, path: `dir/${name}`, jolietName: jolietName(name) });
  it('makes names equal in their first 64 characters unique, keeping the extension', () => {
    const stem = 'a-very-long-file-name-that-goes-on-and-on-beyond-sixty-four-characters';
    const list = [entry(`${stem}-one.conf`), entry(`${stem}-two.conf`), entry(`${stem}-three.conf`)];
    resolveJolietCollisions(list);
    const names = list.map((e) => e.jolietName);
    expect(new Set(names).size).toBe(3);
    expect(names.every((n) => n.length <= JOLIET_MAX_NAME)).toBe(true);
    expect(names[1]).toMatch(/~1\.conf$/);
    expect(names[2]).toMatch(/~2\.conf$/);
  });
  it('separates names that only differ in forbidden characters', () => {
    const list = [entry('a;b'), entry('a_b')];
    resolveJolietCollisions(list);
    expect(list.map((e) => e.jolietName)).toEqual(['a_b', 'a_b~1']);
  });
});

describe('compareJolietNames', () => {
  it('puts "." before other characters and shorter names first', () => {
    expect(['a_b', 'ab', 'a.b.c', 'a'].sort(compareJolietNames)).toEqual(['a', 'a.b.c', 'a_b', 'ab']);
  });
  it('orders as plain comparison of jolietSortKey does', () => {
    const names = ['a_b', 'ab', 'a.b.c', 'a', 'a b', 'a!', 'a.', 'A.b', 'été.conf', 'ete.conf', 'x\u{1F600}', 'x\uFFFD', 'a-b.txt', 'a.b'];
    const byKey = [...names].sort((x, y) => (jolietSortKey(x) < jolietSortKey(y) ? -1 : 1));
    expect(byKey).toEqual([...names].sort(compareJolietNames));
  });
});
