import { describe, expect, it } from 'vitest';
import { fixture } from './deployment.fixture.js';
import { allowedHostFolders } from './host-paths.js';

const HEAD = `controllers:
  - { name: lc1, host: h1, imageDir: /srv/vmctx }
images:
  - { name: debian, path: ./debian-base.raw }
`;

describe('hostPaths and trustTemplates', () => {
  it('default to none and false; folders are kept normalised, after the image folder and libvirt\'s', async () => {
    const f = await fixture();
    const plain = await f.parse(`${HEAD}vms: [{ name: a, controller: lc1, image: debian, template: ./debian1.xml }]\n`);
    expect([plain.hostPaths, plain.trustTemplates]).toEqual([[], false]);
    const listed = await f.parse(`${HEAD}hostPaths: [/var/cache/vmctx/lab/, /srv//firmware/./ovmf]\ntrustTemplates: true\nvms: [{ name: a, controller: lc1, image: debian, template: ./debian1.xml }]\n`);
    expect([listed.hostPaths, listed.trustTemplates]).toEqual([['/var/cache/vmctx/lab', '/srv/firmware/ovmf'], true]);
    expect(allowedHostFolders(listed, listed.controllers[0]!)).toEqual(['/srv/vmctx', '/var/lib/libvirt/images', '/var/cache/vmctx/lab', '/srv/firmware/ovmf']);
  });

  it("refuses a hostPaths folder that is relative, '/' or holds '..', and a trustTemplates that is not a boolean", async () => {
    const f = await fixture();
    expect(await f.problems(`${HEAD}hostPaths: [lab, /, /srv/vmctx/../.., //]\ntrustTemplates: yes please\nvms: [{ name: a, controller: lc1, image: debian, template: ./debian1.xml }]\n`)).toEqual([
      '5: hostPaths[0]: hostPaths entry must be an absolute path on the controller',
      "5: hostPaths[1]: '/' would let a template name every file of the controller: set trustTemplates: true instead",
      "5: hostPaths[2]: a hostPaths folder has no '..' segment",
      "5: hostPaths[3]: '/' would let a template name every file of the controller: set trustTemplates: true instead",
      '6: trustTemplates: Invalid input: expected boolean, received string',
    ]);
  });

  it('holds iso: to the folders at its line, once for a group, from defaults too; trustTemplates lets it through', async () => {
    const f = await fixture();
    const text = `${HEAD}defaults: { controller: lc1, image: debian, template: ./debian1.xml, iso: /srv/shared/context.iso }
vms:
  - { name: web, count: 3 }
  - { name: db, iso: /srv/vmctx/../../etc/shadow }
  - { name: ok, iso: /srv/vmctx/context.iso }
`;
    expect(await f.problems(text)).toEqual([
      '5: defaults.iso: /srv/shared/context.iso is outside the folders this deployment lets libvirt open (/srv/vmctx, /var/lib/libvirt/images) on controller lc1: libvirt would open it as root for web-1, web-2, web-3; put the ISO in /srv/vmctx, or list its folder under hostPaths:, or set trustTemplates: true',
      "8: vms[1].iso: /srv/vmctx/../../etc/shadow has a '..' segment on controller lc1: libvirt would open it as root for db; put the ISO in /srv/vmctx, or list its folder under hostPaths:, or set trustTemplates: true",
    ]);
    expect(await f.problems(`hostPaths: [/srv/shared]\n${text}`)).toEqual([
      "9: vms[1].iso: /srv/vmctx/../../etc/shadow has a '..' segment on controller lc1: libvirt would open it as root for db; put the ISO in /srv/vmctx, or list its folder under hostPaths:, or set trustTemplates: true",
    ]);
    const trusted = await f.parse(`trustTemplates: true\n${text}`);
    expect(trusted.vms.map((vm) => vm.context)).toContainEqual({ kind: 'remote-iso', path: '/srv/vmctx/../../etc/shadow' });
  });
});
