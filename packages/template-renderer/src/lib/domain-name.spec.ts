import { describe, expect, it } from 'vitest';
import { domainNameProblem } from './domain-name.js';

describe('domainNameProblem', () => {
  // 0x1 and 1x are names to virsh (base 10, digits to the end); 31 and 33 hex digits are not a UUID. A leading
  // "-" is the shell-risky-name lint's (a warning), and refused by the deployer for its VMs.
  it.each(['debian1', 'web-01.example', 'vm_ä', '0x1', '1x', 'x-1', 'web+1', '-rf', 'deadbeef', '6ba7b810-9dad-11d1-80b4-00c04fd430c', '6ba7b8109dad11d180b400c04fd430c8a', '6ba7b810-9dad-11d1-80b4-00c04fd430cg'])(
    'accepts %j',
    (name) => {
      expect(domainNameProblem(name)).toBeUndefined();
    },
  );
  it.each([
    ['', /empty/],
    ['a/b', /contains "\/"/],
    ['1234', /is a number, which virsh reads as a domain id/],
    ['a\nb', /control character \(U\+000A\)/],
    [' vm', /white space/],
    ['x'.repeat(65), /longer than 64/],
  ])('rejects %j', (name, why) => {
    expect(domainNameProblem(name)).toMatch(why);
  });

  // What virsh 9.0 reads as a domain id or a UUID (see domain-name.ts: checked with virsh -c test:///default).
  it.each([
    ['+1', /domain id/],
    ['-0', /domain id/],
    [' 1', /domain id/],
    ['1', /domain id/],
    ['007', /domain id/],
    ['2147483648', /domain id/],
    ['6ba7b810-9dad-11d1-80b4-00c04fd430c8', /32 hex digits, which virsh reads as a domain's UUID/],
    ['6BA7B8109DAD11D180B400C04FD430C8', /UUID/],
    ['6ba7b810 9dad 11d1 80b4 00c04fd430c8', /UUID/],
    ['6b-a7b8109dad11d180b400c04fd430c8', /UUID/],
    ['6ba7-b810-9dad-11d1-80b4-00c0-4fd4-30c8', /UUID/],
  ])('rejects %j, which virsh does not read as a name', (name, why) => {
    expect(domainNameProblem(name)).toMatch(why);
  });

  it.each([
    ['a\u009bb', /control character \(U\+009B\)/],
    ['a\u0085b', /control character \(U\+0085\)/],
    ['a\u007fb', /control character \(U\+007F\)/],
    ['a\u202eb', /bidi control \(U\+202E\)/],
    ['a\u2066b', /bidi control \(U\+2066\)/],
    ['a\u200fb', /bidi control \(U\+200F\)/],
    ['a\u061cb', /bidi control \(U\+061C\)/],
    ['a\ufffdb', /U\+FFFD, the mark of bytes that were not UTF-8/],
    ['a\ud800b', /lone surrogate \(U\+D800\)/],
  ])('rejects %j: a C1 control, a bidi control, U+FFFD or a lone surrogate', (name, why) => {
    expect(domainNameProblem(name)).toMatch(why);
  });

  it('quotes the name in its message without the characters a terminal would act on', () => {
    expect(domainNameProblem('web\u202e1-gpj.exe')).toBe('domain name "web\\u202e1-gpj.exe" contains a bidi control (U+202E), which shows it in another order than it is read');
    expect(domainNameProblem('a\u009b31mb')).toBe('domain name "a\\u009b31mb" contains a control character (U+009B)');
  });
});
