import { describe, expect, it } from 'vitest';
import { closestKey, deploymentKeys } from './did-you-mean.js';
import { parseDeployment } from './load.js';

describe('did you mean (issue 24)', () => {
  it.each([
    ['controler', 'controller'],
    ['imagedir', 'imageDir'],
    ['brigde', 'bridge'],
    ['knownHost', 'knownHosts'],
    ['templte', 'template'],
  ])('suggests %s -> %s', (typo, key) => {
    expect(closestKey(typo, deploymentKeys())).toBe(key);
  });

  it.each(['colour', 'xyz', 'a'])('suggests nothing for %s, far from every key', (key) => {
    expect(closestKey(key, deploymentKeys())).toBeUndefined();
  });

  it('says it where the file has the typo', async () => {
    const text = 'controllers:\n  - { name: lc1, host: h, imageDir: /i }\nimages:\n  - { name: b, path: ./b.raw }\nvms:\n  - { name: web-1, controler: lc1, image: b, template: ./t.xml }\n';
    const error = await Promise.resolve()
      .then(() => parseDeployment(text, '/tmp/d.yaml'))
      .catch((e: unknown) => e as Error);
    expect((error as Error).message).toContain('vms[0].controler: unknown key "controler" (did you mean "controller"?)');
  });
});
