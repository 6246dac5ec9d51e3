import { describe, expect, it } from 'vitest';
import { fixture } from './deployment.fixture.js';
import { deploymentJsonSchema } from './json-schema.js';

const SUM = 'ab'.repeat(32);
const CONTROLLERS = `controllers:
  - { name: lc1, host: h1, imageDir: /srv/vmctx }
`;
const VMS = `vms:
  - { name: a, controller: lc1, image: debian, template: ./debian1.xml }
`;
const withImage = (image: string) => `${CONTROLLERS}images:\n  - ${image}\n${VMS}`;

describe('an image given by URL', () => {
  it('reads as url and sha256 (lowercased), with no local path and no file looked for', async () => {
    const f = await fixture({ 'debian1.xml': '<domain/>' });
    const d = await f.parse(withImage(`{ name: debian, url: "https://example.org/images/debian.raw", sha256: ${SUM.toUpperCase()} }`));
    expect(d.images).toEqual([{ name: 'debian', path: '', url: 'https://example.org/images/debian.raw', sha256: SUM, where: 'images[0]' }]);
    expect(d.vms[0]).toMatchObject({ image: 'debian' });
  });

  it('takes http too', async () => {
    const f = await fixture({ 'debian1.xml': '<domain/>' });
    const d = await f.parse(withImage(`{ name: debian, url: "http://127.0.0.1:8080/d.qcow2", sha256: ${SUM} }`));
    expect(d.images[0]).toMatchObject({ url: 'http://127.0.0.1:8080/d.qcow2' });
  });

  it('needs exactly one of path and url, and sha256 with url only', async () => {
    const f = await fixture();
    expect(await f.problems(withImage(`{ name: debian, url: "https://example.org/d.raw" }`))).toEqual(['4: images[0].sha256: required with url: the download is verified against it']);
    expect(await f.problems(withImage(`{ name: debian, path: ./debian-base.raw, url: "https://example.org/d.raw", sha256: ${SUM} }`))).toEqual([
      '4: images[0].url: give path or url, not both',
    ]);
    expect(await f.problems(withImage('{ name: debian }'))).toEqual(['4: images[0]: give path (a local file) or url and sha256']);
    expect(await f.problems(withImage(`{ name: debian, path: ./debian-base.raw, sha256: ${SUM} }`))).toEqual([
      '4: images[0].sha256: sha256 goes with url; a local file is used as it is',
    ]);
    expect(await f.problems(withImage('{ name: debian, path: ./debian-base.raw, fetch: controller }'))).toEqual(['4: images[0].fetch: fetch goes with url; a local file is uploaded']);
    expect(await f.problems(withImage(`{ name: debian, url: "https://example.org/d.raw", sha256: ${SUM}, fetch: remote }`))).toEqual([
      expect.stringMatching(/^4: images\[0\]\.fetch: .*"local".*"controller"/),
    ]);
  });

  it('takes fetch: controller with url (each controller fetches it), local by default', async () => {
    const f = await fixture({ 'debian1.xml': '<domain/>' });
    const d = await f.parse(withImage(`{ name: debian, url: "http://127.0.0.1:8480/d.raw", sha256: ${SUM}, fetch: controller }`));
    expect(d.images[0]).toMatchObject({ url: 'http://127.0.0.1:8480/d.raw', fetch: 'controller' });
    const local = await f.parse(withImage(`{ name: debian, url: "http://127.0.0.1:8480/d.raw", sha256: ${SUM}, fetch: local }`));
    expect(local.images[0]!.fetch).toBeUndefined();
  });

  it('refuses a URL that is not http(s) and a sum that is not 64 hex digits', async () => {
    const f = await fixture();
    expect(await f.problems(withImage(`{ name: debian, url: "ftp://example.org/d.raw", sha256: ${SUM} }`))).toEqual([
      '4: images[0].url: an image URL starts with http:// or https://',
    ]);
    expect(await f.problems(withImage(`{ name: debian, url: "file:///srv/d.raw", sha256: ${SUM} }`))).toEqual(['4: images[0].url: an image URL starts with http:// or https://']);
    expect(await f.problems(withImage(`{ name: debian, url: "https://", sha256: ${SUM} }`))).toEqual(['4: images[0].url: not a URL']);
    expect(await f.problems(withImage(`{ name: debian, url: "https://example.org/d.raw", sha256: ${SUM.slice(1)} }`))).toEqual([
      '4: images[0].sha256: a sha256 is 64 hex digits',
    ]);
    expect(await f.problems(withImage(`{ name: debian, url: "https://example.org/d.raw", sha256: "sha256:${SUM}" }`))).toEqual([
      '4: images[0].sha256: a sha256 is 64 hex digits',
    ]);
  });

  it('is in the JSON Schema as path alone, or url with sha256 (and fetch)', () => {
    const image = (deploymentJsonSchema() as any).properties.images.items;
    expect(image.required).toEqual(['name']);
    expect(Object.keys(image.properties)).toEqual(['name', 'path', 'url', 'sha256', 'fetch']);
    expect(image.oneOf.map((o: { required: string[] }) => o.required)).toEqual([['path'], ['url', 'sha256']]);
  });
});
