import { userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isVmctxError } from '@vmctx/contract';
import { fixture } from './fixture.test.js';
import { loadDeployment } from './load.js';
import { DeploymentError } from './problems.js';

/** The deployment file of issue 9, as written there (comments included). */
const ISSUE_EXAMPLE = `controllers:
  - name: lc1
    host: 127.0.0.1          # or an alias of ~/.ssh/config (HostName, Port, User, IdentityFile, ProxyJump)
    port: 2201
    user: root
    identityFile: /path/to/key        # else ssh-agent, else ~/.ssh/id_*
    knownHosts: /path/to/known_hosts  # else ~/.ssh/known_hosts
    imageDir: /var/lib/vmctx/images   # where base images, overlays and ISOs go on that controller
images:
  - name: debian
    path: ./debian-base.raw           # local; format and virtual size read by disk-builder
vms:
  - name: web-1
    controller: lc1
    image: debian
    template: ./debian1.xml           # a native libvirt template (template-renderer imports it), or \`spec:\` inline
    bridge: virbr0
    context:                          # guest-script's context inline, or a path to a context YAML or a context/ folder
      hostname: web-1
      network: { method: static, address: 198.51.100.21/24, gateway: 198.51.100.1 }
  - name: web-2
    controller: lc2
    image: debian
    template: ./debian1.xml
    bridge: virbr0
    iso: /srv/shared/context.iso      # a context ISO already on the controller (Snooze's shared ISO): checked, not built
`;

/**
 * The issue's example names a controller lc2 that it elides; this is the same file with lc2 declared, and the
 * shared ISO's folder listed in hostPaths (issue 19: a path outside the image folders is refused without it).
 */
const ISSUE_EXAMPLE_WITH_LC2 = ISSUE_EXAMPLE.replace(
  'images:\n',
  '  - name: lc2\n    host: 127.0.0.1\n    port: 2202\n    user: root\n    imageDir: /var/lib/vmctx/images\nhostPaths: [/srv/shared]\nimages:\n',
);

describe('the deployment file of issue 9', () => {
  it('reads as written: everything but the controller lc2 it leaves out', async () => {
    const f = await fixture();
    expect(await f.problems(ISSUE_EXAMPLE)).toEqual(['22: vms[1].controller: no controller "lc2"; known: lc1']);
  });

  it('with lc2 declared, is the Deployment the deployer uses', async () => {
    const f = await fixture();
    const deployment = await f.parse(ISSUE_EXAMPLE_WITH_LC2);
    expect(deployment).toEqual({
      name: 'deploy',
      file: f.path('deploy.yaml'),
      hostPaths: ['/srv/shared'],
      trustTemplates: false,
      controllers: [
        {
          name: 'lc1',
          host: '127.0.0.1',
          port: 2201,
          user: 'root',
          identityFile: '/path/to/key',
          knownHosts: '/path/to/known_hosts',
          imageDir: '/var/lib/vmctx/images',
          where: 'controllers[0]',
        },
        { name: 'lc2', host: '127.0.0.1', port: 2202, user: 'root', knownHosts: join(f.home, '.ssh/known_hosts'), imageDir: '/var/lib/vmctx/images', where: 'controllers[1]' },
      ],
      images: [{ name: 'debian', path: f.path('debian-base.raw'), where: 'images[0]' }],
      vms: [
        {
          name: 'web-1',
          controller: 'lc1',
          image: 'debian',
          template: { kind: 'native', path: f.path('debian1.xml') },
          bridge: 'virbr0',
          context: {
            kind: 'context',
            source: `${f.path('deploy.yaml')}:vms[0].context`,
            context: expect.objectContaining({
              hostname: 'web-1',
              network: expect.objectContaining({ method: 'static', address: '198.51.100.21/24', gateway: '198.51.100.1' }),
            }),
          },
          isoMode: 'cdrom',
          where: 'vms[0]',
        },
        {
          name: 'web-2',
          controller: 'lc2',
          image: 'debian',
          template: { kind: 'native', path: f.path('debian1.xml') },
          bridge: 'virbr0',
          context: { kind: 'remote-iso', path: '/srv/shared/context.iso' },
          isoMode: 'cdrom',
          where: 'vms[1]',
        },
      ],
    });
  });

  it('reads the same deployment written as JSON', async () => {
    const f = await fixture();
    const { parse } = await import('yaml');
    const json = JSON.stringify(parse(ISSUE_EXAMPLE_WITH_LC2), null, 2);
    const fromJson = await f.parse(json, 'deploy.json');
    const fromYaml = await f.parse(ISSUE_EXAMPLE_WITH_LC2);
    expect({ ...fromJson, file: '', vms: fromJson.vms.map((vm) => ({ ...vm, context: vm.context.kind })) }).toEqual({
      ...fromYaml,
      file: '',
      vms: fromYaml.vms.map((vm) => ({ ...vm, context: vm.context.kind })),
    });
    expect(fromJson.name).toBe('deploy');
  });

  it('gives JSON problems their lines too', async () => {
    const f = await fixture();
    const json = `{\n  "controllers": [\n    { "name": "lc1", "host": "h", "imageDir": "images" }\n  ],\n  "images": [],\n  "vms": [{ "name": "a", "controller": "lc1", "image": "x", "template": "./debian1.xml" }]\n}\n`;
    expect(await f.problems(json, 'd.json')).toEqual(['3: controllers[0].imageDir: imageDir must be an absolute path on the controller']);
  });
});

describe('loadDeployment', () => {
  it('reads the file from disk', async () => {
    const f = await fixture();
    const file = await f.write('site.yml', ISSUE_EXAMPLE_WITH_LC2);
    const deployment = await loadDeployment(file, { homeDir: f.home, sshConfigPath: join(f.home, 'none') });
    expect(deployment.name).toBe('site');
    expect(deployment.vms.map((vm) => vm.name)).toEqual(['web-1', 'web-2']);
  });

  it('says when the file cannot be read (kind io)', async () => {
    const f = await fixture();
    const error = await loadDeployment(f.path('missing.yaml')).catch((e: unknown) => e);
    expect(isVmctxError(error) && [error.code, error.kind]).toEqual(['CONFIG_UNREADABLE', 'io']);
  });

  it('throws one CONFIG_INVALID error that lists every problem, file:line: path: message', async () => {
    const f = await fixture();
    const text = ISSUE_EXAMPLE.replace('port: 2201', 'port: 0').replace('bridge: virbr0\n    iso', 'bridge: virbr0\n    colour: red\n    iso');
    const error = (await f.parse(text, 'deploy.yaml').catch((e: unknown) => e)) as DeploymentError;
    expect(error).toBeInstanceOf(DeploymentError);
    expect([error.code, error.kind, error.where]).toEqual(['CONFIG_INVALID', 'input', 'controllers[0].port']);
    const file = f.path('deploy.yaml');
    expect(error.message).toBe(
      [`${file}: 2 problems`, `${file}:4: controllers[0].port: Too small: expected number to be >=1`, `${file}:26: vms[1].colour: unknown key "colour"`].join('\n'),
    );
  });

  it("refuses an inline context's content over guest-script's limit before parsing the file", async () => {
    const f = await fixture();
    const text = `${ISSUE_EXAMPLE}    context:\n      files:\n        - { path: /etc/big, content: "${'a'.repeat(17 * 2 ** 20)}" }\n`;
    const error = (await f.parse(text, 'deploy.yaml').catch((e: unknown) => e)) as DeploymentError;
    expect(error).toBeInstanceOf(DeploymentError);
    expect([error.code, error.kind]).toEqual(['CONFIG_INVALID', 'input']);
    expect(error.message).toMatch(/: vms\[1\]\.context\.files\[0\]\.content: at least 17825792 bytes, more than a file content may have \(16777216 bytes\); refused before parsing$/);
  });

  it('uses the current user and port 22 when neither the file nor ssh config says', async () => {
    const f = await fixture();
    const d = await f.parse(`controllers: [{ name: lc1, host: h1, imageDir: /srv/images/ }]\nimages: [{ name: i, path: debian-base.raw }]\nvms: [{ name: a, controller: lc1, image: i, template: debian1.xml }]\n`);
    expect(d.controllers[0]).toMatchObject({ host: 'h1', port: 22, user: userInfo().username, imageDir: '/srv/images' });
  });
});
