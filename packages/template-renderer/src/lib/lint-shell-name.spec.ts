import { describe, expect, it } from 'vitest';
import { lintDomainXml } from './lint.js';
import { shellRiskyNameProblem } from './lint-shell-name.js';
import { parseXml } from './xml-tree.js';
import { domainXml } from '../testing/lint-cases.fixture.js';

describe('shell-risky-name (issue 12)', () => {
  it.each(['vm1', 'web-1', 'db_2.prod', 'a+b@c:d', 'émile'])('takes %j', (name) => {
    expect(shellRiskyNameProblem(name)).toBeUndefined();
  });

  it.each([
    ['-rf', /starts with "-"/],
    ['--help', /starts with "-"/],
    ['web;reboot', /contains ";"/],
    ['a b', /contains " "/],
    ['$(id)', /contains "\$"/],
    ['x`id`', /contains "`"/],
    ["it's", /contains "'"/],
    ['a|b', /contains "\|"/],
    ['a&', /contains "&"/],
    ['a>b', /contains ">"/],
    ['*', /contains "\*"/],
  ])('warns about %j', (name, why) => {
    expect(shellRiskyNameProblem(name)).toMatch(why);
  });

  it('is a warning of the lint, on /domain/name', () => {
    const escaped = (name: string) => name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    for (const name of ['-rf', 'web;reboot', 'a$(id)']) {
      const findings = lintDomainXml(parseXml(domainXml('', `<name>${escaped(name)}</name>`)), 'x.xml').filter((f) => f.code === 'shell-risky-name');
      expect(findings).toEqual([expect.objectContaining({ severity: 'warning', path: '/domain/name', when: 'never' })]);
    }
    expect(lintDomainXml(parseXml(domainXml('')), 'x.xml').filter((f) => f.code === 'shell-risky-name')).toEqual([]);
  });
});
