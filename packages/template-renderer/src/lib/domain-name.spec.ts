import { describe, expect, it } from 'vitest';
import { domainNameProblem } from './domain-name.js';

describe('domainNameProblem', () => {
  it.each(['debian1', 'web-01.example', 'vm_ä'])('accepts %j', (name) => {
    expect(domainNameProblem(name)).toBeUndefined();
  });
  it.each([
    ['', /empty/],
    ['a/b', /contains "\/"/],
    ['1234', /all digits/],
    ['a\nb', /control character/],
    [' vm', /white space/],
    ['x'.repeat(65), /longer than 64/],
  ])('rejects %j', (name, why) => {
    expect(domainNameProblem(name)).toMatch(why);
  });
});
