import { describe, expect, it } from 'vitest';
import { fixture } from './deployment.fixture.js';
import { DeploymentError } from './problems.js';

const HEAD = `controllers:
  - { name: lc1, host: h1, imageDir: /srv/vmctx }
  - { name: lc2, host: h2, imageDir: /srv/vmctx }
images:
  - { name: debian, path: ./debian-base.raw }
`;

describe('cross checks', () => {
  it('names the unknown controller or image and lists the known ones', async () => {
    const f = await fixture();
    expect(
      await f.problems(`${HEAD}vms:
  - { name: a, controller: lc1, image: debian, template: ./debian1.xml }
  - { name: b, controller: lc1, image: debian, template: ./debian1.xml }
  - name: c
    controller: lc9
    image: centos
    template: ./debian1.xml
`),
    ).toEqual(['10: vms[2].controller: no controller "lc9"; known: lc1, lc2', '11: vms[2].image: no image "centos"; known: debian']);
  });

  it('says both places of a duplicate controller, image or VM name, after counts', async () => {
    const f = await fixture();
    expect(
      await f.problems(`controllers:
  - { name: lc1, host: h1, imageDir: /srv/vmctx }
  - { name: lc1, host: h2, imageDir: /srv/vmctx }
images:
  - { name: debian, path: ./debian-base.raw }
  - { name: debian, path: ./debian-base.raw }
defaults: { controller: lc1, image: debian, template: ./debian1.xml }
vms:
  - { name: web, count: 3 }
  - { name: web-2 }
  - { name: db }
  - { name: db }
`),
    ).toEqual([
      '3: controllers[1].name: controller name "lc1" is also controllers[0]',
      '6: images[1].name: image name "debian" is also images[0]',
      '10: vms[1].name: VM name "web-2" is also vms[0] (web-2 of count 3)',
      '12: vms[3].name: VM name "db" is also vms[2]',
    ]);
  });

  it('refuses a VM name that libvirt would refuse, and {n} without count', async () => {
    const f = await fixture();
    expect(
      await f.problems(`${HEAD}defaults: { controller: lc1, image: debian, template: ./debian1.xml }
vms:
  - { name: "a/b" }
  - { name: "1234" }
  - { name: "web-{n}" }
`),
    ).toEqual([
      '8: vms[0].name: domain name "a/b" contains "/", which libvirt refuses',
      '9: vms[1].name: domain name "1234" is a number, which virsh reads as a domain id (virsh destroy +1 stops domain 1)',
      '10: vms[2].name: "web-{n}" holds {n} but the VM has no count',
    ]);
  });

  // Issue 19: virsh start/destroy/undefine NAME read these as an option, a domain id or a UUID, and acted on a
  // foreign domain (virsh 9.0; see template-renderer's domain-name.ts).
  it('refuses a VM name virsh reads as an option, a domain id or a UUID, after counts, with CONFIG_INVALID_NAME', async () => {
    const f = await fixture();
    const error = (await f
      .parse(
        `${HEAD}defaults: { controller: lc1, image: debian, template: ./debian1.xml }
vms:
  - { name: web-1 }
  - { name: "--domain=foo" }
  - { name: "+1" }
  - { name: "007" }
  - { name: 6ba7b810-9dad-11d1-80b4-00c04fd430c8 }
  - { name: "6ba7b810 9dad 11d1 80b4 00c04fd430c8" }
  - { name: 6BA7B8109DAD11D180B400C04FD430C8 }
  - { name: "-w{n}", count: 2 }
  - { name: "{n}", count: 2 }
`,
      )
      .catch((e: unknown) => e)) as DeploymentError;
    expect(error).toBeInstanceOf(DeploymentError);
    expect([error.code, error.kind]).toEqual(['CONFIG_INVALID_NAME', 'input']);
    expect(error.problems.map((p) => `${p.line}: ${p.path}: ${p.message} [${p.code}]`)).toEqual([
      '9: vms[1].name: domain name "--domain=foo" starts with "-", which virsh reads as an option (virsh start --domain=foo starts foo) [CONFIG_INVALID_NAME]',
      '10: vms[2].name: domain name "+1" is a number, which virsh reads as a domain id (virsh destroy +1 stops domain 1) [CONFIG_INVALID_NAME]',
      '11: vms[3].name: domain name "007" is a number, which virsh reads as a domain id (virsh destroy +1 stops domain 1) [CONFIG_INVALID_NAME]',
      `12: vms[4].name: domain name "6ba7b810-9dad-11d1-80b4-00c04fd430c8" is 32 hex digits, which virsh reads as a domain's UUID [CONFIG_INVALID_NAME]`,
      `13: vms[5].name: domain name "6ba7b810 9dad 11d1 80b4 00c04fd430c8" is 32 hex digits, which virsh reads as a domain's UUID [CONFIG_INVALID_NAME]`,
      `14: vms[6].name: domain name "6BA7B8109DAD11D180B400C04FD430C8" is 32 hex digits, which virsh reads as a domain's UUID [CONFIG_INVALID_NAME]`,
      '15: vms[7].name: domain name "-w1" starts with "-", which virsh reads as an option (virsh start --domain=foo starts foo) [CONFIG_INVALID_NAME]',
      '15: vms[7].name: domain name "-w2" starts with "-", which virsh reads as an option (virsh start --domain=foo starts foo) [CONFIG_INVALID_NAME]',
      '16: vms[8].name: domain name "1" is a number, which virsh reads as a domain id (virsh destroy +1 stops domain 1) [CONFIG_INVALID_NAME]',
      '16: vms[8].name: domain name "2" is a number, which virsh reads as a domain id (virsh destroy +1 stops domain 1) [CONFIG_INVALID_NAME]',
    ]);
  });

  it("refuses a VM name with white space or a shell character: it names the VM's files on the controller (issue 24)", async () => {
    const f = await fixture();
    const error = (await f
      .parse(
        `${HEAD}defaults: { controller: lc1, image: debian, template: ./debian1.xml }
vms:
  - { name: web-1 }
  - { name: "web server 2" }
  - { name: "web;reboot" }
  - { name: "db.internal_2" }
`,
      )
      .catch((e: unknown) => e)) as DeploymentError;
    expect(error).toBeInstanceOf(DeploymentError);
    expect(error.problems.map((p) => `${p.path}: ${p.code}`)).toEqual(['vms[1].name: CONFIG_INVALID_NAME', 'vms[2].name: CONFIG_INVALID_NAME']);
    expect(error.problems[0]!.message).toContain('contains " "');
    expect(error.problems[0]!.message).toContain("it also names the VM's files on the controller");
  });

  it('refuses two VMs with one MAC or one address', async () => {
    const f = await fixture();
    expect(
      await f.problems(`${HEAD}defaults: { controller: lc1, image: debian, template: ./debian1.xml }
vms:
  - { name: a, mac: "52:54:00:00:00:01" }
  - { name: b, mac: "52:54:00:00:00:01" }
  - { name: c, address: 192.0.2.10, iso: /srv/vmctx/shared.iso }
  - { name: d, context: { network: { method: static, address: 192.0.2.10/24 } } }
  - name: grp
    count: 2
    context: { network: { method: static, address: 192.0.2.20/24 } }
  - name: ipm
    count: 2
    address: 192.0.2.9
    context: { network: { method: ip-from-mac, prefix: 24 } }
`),
    ).toEqual([
      "9: vms[1].mac: MAC 52:54:00:00:00:01 of b is also a's (vms[0])",
      "11: vms[3].context: address 192.0.2.10 of d is also c's (vms[2])",
      "13: vms[4].count: the 2 VMs of this group would all take the context's static address 192.0.2.20; use an ip-from-mac network with address, or one entry per VM",
      "17: vms[5].address: MAC 02:00:c0:00:02:0a of ipm-2 is also c's (vms[2])",
      "17: vms[5].address: address 192.0.2.10 of ipm-2 is also c's (vms[2])",
    ]);
  });

  it('reports a missing image file as an I/O error with its path', async () => {
    const f = await fixture({ 'debian1.xml': '<domain/>' });
    const error = (await f.parse(`${HEAD}vms: [{ name: a, controller: lc1, image: debian, template: ./debian1.xml }]\n`).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ code: 'CONFIG_IMAGE_NOT_FOUND', kind: 'io', where: 'images[0].path' });
    expect(error.message).toBe(`${f.path('deploy.yaml')}:5: images[0].path: image debian: ${f.path('debian-base.raw')} does not exist`);
    await f.write('folder/x', '');
    expect(await f.problems(`${HEAD.replace('./debian-base.raw', 'folder')}vms: [{ name: a, controller: lc1, image: debian, template: ./debian1.xml }]\n`)).toEqual([
      `5: images[0].path: image debian: ${f.path('folder')} is a folder, not an image file`,
    ]);
  });
});

describe('the file itself', () => {
  it('names YAML syntax errors and duplicate keys with their line', async () => {
    const f = await fixture();
    expect(await f.problems(`${HEAD}vms:\n  - name: a\n    name: b\n`)).toEqual(['8: : not valid YAML: Map keys must be unique']);
    expect(await f.problems(`${HEAD}vms: [\n`)).toEqual([expect.stringMatching(/^7: : not valid YAML: /)]);
  });

  it('names unknown and missing keys at their line', async () => {
    const f = await fixture();
    expect(
      await f.problems(`controllers:
  - name: lc1
    host: h1
    identityfile: ~/.ssh/k
images: []
vms:
  - { controller: lc1 }
extra: 1
`),
    ).toEqual([
      '2: controllers[0].imageDir: required',
      '4: controllers[0].identityfile: unknown key "identityfile" (did you mean "identityFile"?)',
      '7: vms[0].name: required',
      '8: extra: unknown key "extra"',
    ]);
  });

  it("takes the deployment's name from name:, else from the file, which must then be a safe name", async () => {
    const f = await fixture();
    const body = `${HEAD}vms: [{ name: a, controller: lc1, image: debian, template: ./debian1.xml }]\n`;
    expect((await f.parse(`name: prod.eu-1\n${body}`, 'x.yaml')).name).toBe('prod.eu-1');
    expect(await f.problems(body, 'my site.yaml')).toEqual([`1: : the file's name "my site" cannot name the deployment (letters, digits, '.', '_', '-'): give name:`]);
    expect(await f.problems(`name: "a b"\n${body}`)).toEqual([
      "1: name: a deployment name is 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit",
    ]);
  });

  it('expands merge keys and anchors, as YAML users share fields', async () => {
    const f = await fixture();
    const d = await f.parse(`${HEAD}x-base: &base { controller: lc2, image: debian, template: ./debian1.xml }
vms:
  - { <<: *base, name: a }
`.replace('x-base: &base', 'defaults: &base'));
    expect(d.vms[0]).toMatchObject({ name: 'a', controller: 'lc2' });
  });
});
