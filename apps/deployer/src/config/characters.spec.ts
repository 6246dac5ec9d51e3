import { domainNameProblem } from '@vmctx/template-renderer';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { unsafeCharacterProblems } from './characters.js';
import { fixture } from './deployment.fixture.js';
import { formatPath } from './problems.js';

/** The problems of a YAML text, as `line: path: message`, with lines from a naive lookup (not under test here). */
function problemsOf(text: string): string[] {
  return unsafeCharacterProblems(text, parse(text, { merge: true, logLevel: 'error' }), () => 0).map((p) => `${p.path}: ${p.message}`);
}

describe('unsafeCharacterProblems', () => {
  it('agrees with domainNameProblem on every character of the BMP but tab and line feed, which a value may hold', () => {
    const differ: string[] = [];
    for (let cp = 0; cp <= 0xffff; cp++) {
      const c = String.fromCharCode(cp);
      const here = unsafeCharacterProblems('', { name: `a${c}b` }, () => undefined).length > 0;
      const there = /control character|bidi control|U\+FFFD|lone surrogate/.test(domainNameProblem(`a${c}b`) ?? '');
      if (here !== there && c !== '\t' && c !== '\n') differ.push(formatPath([cp.toString(16)]));
    }
    expect(differ).toEqual([]);
    expect(unsafeCharacterProblems('', { name: 'a\u{1f600}b \u{e0001}' }, () => undefined)).toEqual([]);
  });

  it('takes tab and line feed in a value, not carriage return', () => {
    expect(problemsOf('a: "x\\ty\\nz"\n')).toEqual([]);
    expect(problemsOf('a: "x\\ry"\n')).toEqual(['a: holds U+000D, a control character, at character 2']);
  });

  it('takes CRLF line ends, and looks into comments, anchors and aliases (a tag cannot hold one: not YAML)', () => {
    expect(problemsOf('a: 1\r\nb: 2 # fine\r\n')).toEqual([]);
    expect(problemsOf('%YAML 1.2 # \u202e\n---\na: &x\u2066 1\nb: !!str 2\nc: *x\u2066\n').map((p) => p.replace(/, a bidi control: it shows text in another order than it is read/, ''))).toEqual([
      ': a comment holds U+202E (RIGHT-TO-LEFT OVERRIDE), at column 13',
      ': an anchor holds U+2066 (LEFT-TO-RIGHT ISOLATE), at column 6',
      ': an alias holds U+2066 (LEFT-TO-RIGHT ISOLATE), at column 6',
    ]);
  });

  it('exempts only the contents of inline context files and scripts, by their place', () => {
    const bidi = '\u202e';
    const value = {
      defaults: { context: { files: [{ content: bidi }], scripts: [{ content: bidi, name: bidi }] } },
      vms: [{ name: 'a', context: { files: [{ content: bidi, path: bidi }] }, spec: { context: { files: [{ content: bidi }] } } }],
      content: bidi,
    };
    expect(unsafeCharacterProblems('', value, () => undefined).map((p) => p.path)).toEqual([
      'defaults.context.scripts[0].name',
      'vms[0].context.files[0].path',
      'vms[0].spec.context.files[0].content',
      'content',
    ]);
  });

  it('walks a recursive alias once, and a document too deep for the call stack', () => {
    const cyclic: unknown[] = ['\u009b'];
    cyclic.push(cyclic);
    expect(unsafeCharacterProblems('', { a: cyclic }, () => undefined).map((p) => p.path)).toEqual(['a[0]']);
    let deep: unknown = '\u202e';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(unsafeCharacterProblems('', deep, () => undefined)).toHaveLength(1);
  });
});

describe('a CRLF deployment file', () => {
  it('loads', async () => {
    const f = await fixture();
    const text = `controllers: [{ name: lc1, host: h1, imageDir: /srv/vmctx }]  # lc1\nimages: [{ name: debian, path: ./debian-base.raw }]\nvms: [{ name: a, controller: lc1, image: debian, template: ./debian1.xml }]\n`;
    expect((await f.parse(text.replace(/\n/g, '\r\n'))).vms[0]!.name).toBe('a');
  });
});
