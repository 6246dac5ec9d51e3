import { describe, expect, it } from 'vitest';
import { compareIsoNames, isoName, isoSortKey, resolveIsoCollisions } from './names.js';

// Expected names are those `genisoimage -R -J` (cdrkit 1.1.11) gave for the same names, read with `isoinfo -l`.
const files: [string, string][] = [
  ['readme', 'README.;1'],
  ['README.txt', 'README.TXT;1'],
  ['a.b.c', 'A_B.C;1'],
  ['.hidden', '_HIDDEN.;1'],
  ['file.tar.gz', 'FILE.TGZ;1'],
  ['x.ps.gz', 'X.PSZ;1'],
  ['Foo.Tar.Gz', 'FOO_TAR.GZ;1'],
  ['foo.tar.bz2', 'FOO_TAR.BZ2;1'],
  ['.tar.gz', '_TGZ.;1'],
  ['tar.gz', 'TAR.GZ;1'],
  ['verylongfilename.text', 'VERYLONG.TEX;1'],
  ['x~', 'X_.;1'],
  ['#y#', '_Y_.;1'],
  ['dash-name', 'DASH_NAM.;1'],
  ['été', '__T__.;1'],
  ['aé.tx', 'A__.TX;1'],
  ['ab.é', 'AB.__;1'],
  ['Mixed Case.TXT', 'MIXED_CA.TXT;1'],
  ['foo.', 'FOO.;1'],
  ['foo.~1~', 'FOO._1_;1'],
  ['q.~', 'Q._;1'],
  ['x..', 'X._;1'],
  ['a..b', 'A_.B;1'],
  ['..x', '_.X;1'],
  ['...a', '__.A;1'],
  ['.....', '___._;1'],
  ['a;b', 'A_B.;1'],
  ['a.b.c.d.e', 'A_B_C_D.E;1'],
  ['1234567890', '12345678.;1'],
  ['post-install', 'POST_INS.;1'],
  ['abc.defg', 'ABC.DEF;1'],
];
const directories: [string, string][] = [
  ['common', 'COMMON'],
  ['sub.dir', 'SUB.DIR'],
  ['dir.with.dots', 'DIR_WITH.DOT'],
  ['dir.', 'DIR.'],
  ['.dotdir', '_DOTDIR'],
  ['d.tar.gz', 'D.TGZ'],
  ['dir.~x~', 'DIR._X_'],
];

describe('isoName (genisoimage default level)', () => {
  it.each(files)('file %j -> %j', (name, expected) => expect(isoName(name, false)).toBe(expected));
  it.each(directories)('directory %j -> %j', (name, expected) => expect(isoName(name, true)).toBe(expected));
});

describe('resolveIsoCollisions', () => {
  const entry = (name: string, isDirectory = false) => ({ isoName: isoName(name, isDirectory), isDirectory, path: name });
  it('renames earlier holders to NNN names and lets the last one keep the plain name', () => {
    const list = [entry('UPPER.C'), entry('Upper.c'), entry('upper.c')];
    resolveIsoCollisions(list);
    expect(list.map((e) => e.isoName)).toEqual(['UPPER000.C;1', 'UPPER001.C;1', 'UPPER.C;1']);
  });
  it('keeps 5 characters of a long name and no version on directories', () => {
    const list = [entry('common-a', true), entry('common-b', true)];
    expect(list.map((e) => e.isoName)).toEqual(['COMMON_A', 'COMMON_B']);
    const same = [entry('longdirname1', true), entry('longdirname2', true)];
    resolveIsoCollisions(same);
    expect(same.map((e) => e.isoName)).toEqual(['LONGD000', 'LONGDIRN']);
  });
  it('skips candidates already taken by other entries', () => {
    const list = [entry('abcde000.x'), entry('abcdefgh1.x'), entry('abcdefgh2.x')];
    resolveIsoCollisions(list);
    expect(new Set(list.map((e) => e.isoName)).size).toBe(3);
    expect(list.map((e) => e.isoName)).toEqual(['ABCDE000.X;1', 'ABCDE001.X;1', 'ABCDEFGH.X;1']);
  });
  it('gives unique names to a large number of colliding files', () => {
    const list = Array.from({ length: 2000 }, (_, i) => entry(`same-prefix-${i}.txt`));
    resolveIsoCollisions(list);
    expect(new Set(list.map((e) => e.isoName)).size).toBe(2000);
    expect(list.every((e) => /^[A-Z0-9_]{1,8}\.TXT;1$/.test(e.isoName))).toBe(true);
  });
});

describe('compareIsoNames (ECMA-119 9.3)', () => {
  it('orders by name, then extension, as genisoimage lists them', () => {
    const names = ['_HIDDEN.;1', 'A_B.C;1', 'EMPTYDIR', 'ABC.DEF;1', 'A_B.;1', 'EMPTY.;1', 'X_.;1', '__T__.;1', 'COMMON'];
    expect([...names].sort(compareIsoNames)).toEqual(['ABC.DEF;1', 'A_B.;1', 'A_B.C;1', 'COMMON', 'EMPTY.;1', 'EMPTYDIR', 'X_.;1', '_HIDDEN.;1', '__T__.;1']);
  });
  it('has a sort key that orders names the same way', () => {
    const names = [...files, ...directories].map(([name, iso], i) => (i % 2 ? iso : isoName(name, true)));
    const bySort = [...names].sort(compareIsoNames);
    const byKey = [...names].sort((a, b) => (isoSortKey(a) < isoSortKey(b) ? -1 : isoSortKey(a) > isoSortKey(b) ? 1 : 0));
    expect(byKey).toEqual(bySort);
  });
  it('puts higher versions first', () => {
    expect(compareIsoNames('A.B;2', 'A.B;1')).toBeLessThan(0);
  });
});
