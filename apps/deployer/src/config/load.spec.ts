import { stat, truncate, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCodeOf, isVmctxError } from '@vmctx/contract';
import { formatError } from '../cli/action.js';
import { MAX_DEPLOYMENT_BYTES, readDeploymentText } from './file-text.js';
import { fixture } from './deployment.fixture.js';
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
          isoFormat: 'both',
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
          isoFormat: 'both',
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

/** A deployment of three VMs that loads; the tests below spoil one thing of it. */
const SMALL = `controllers: [{ name: lc1, host: h1, imageDir: /srv/vmctx }]
images: [{ name: debian, path: ./debian-base.raw }]
defaults: { controller: lc1, image: debian, template: ./debian1.xml }
vms:
  - name: web-1
  - name: web-2
  - name: web-3
`;

/** The error a loadDeployment or parseDeployment ends with, which must be one DeploymentError. */
async function refusal(run: Promise<unknown>): Promise<DeploymentError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeploymentError);
  return error as DeploymentError;
}

const lines = (error: DeploymentError) => error.problems.map((p) => `${p.line}: ${p.path}: ${p.message} [${p.code}]`);

// Issue 19: names with invalid UTF-8 (silently U+FFFD), U+009B or U+202E are refused, and so are bidi and C1
// controls anywhere in the file but inline file contents.
describe('the characters of the deployment file', () => {
  it('refuses a file that is not UTF-8 at its first bad byte, with its offset, line and column (CONFIG_NOT_UTF8)', async () => {
    const f = await fixture();
    // A written U+FFFD (EF BF BD) is UTF-8 and is passed over; the Latin-1 é of "caf\xe9" is not.
    const [head, tail] = SMALL.replace('web-1', 'web-1 # \ufffd is a character').split('web-2');
    const text = Buffer.concat([Buffer.from(`${head}caf`), Buffer.from([0xe9]), Buffer.from(tail!)]);
    const bad = text.indexOf(0xe9);
    const file = f.path('latin1.yaml');
    await writeFile(file, text);
    const error = await refusal(loadDeployment(file, { homeDir: f.home, sshConfigPath: join(f.home, 'none') }));
    expect([error.code, error.kind, exitCodeOf(error)]).toEqual(['CONFIG_NOT_UTF8', 'input', 2]);
    expect(error.message).toBe(`${file}:6: not UTF-8: byte ${bad} (0xe9 0x0a 0x20 0x20...), line 6 column 14, is not part of a UTF-8 character; save the file as UTF-8`);
  });

  it('refuses U+FFFD in a name of a text decoded elsewhere, and C1 and bidi controls in a VM name (CONFIG_UNSAFE_TEXT)', async () => {
    const f = await fixture();
    const text = SMALL.replace('web-1', 'web\ufffd1').replace('web-2', '"web\\u009b2"').replace('web-3', 'web-3\u202egpj.exe');
    const error = await refusal(f.parse(text));
    expect([error.code, error.kind]).toEqual(['CONFIG_UNSAFE_TEXT', 'input']);
    expect(lines(error)).toEqual([
      '5: vms[0].name: holds U+FFFD, the mark of bytes that were not UTF-8, at character 4 [CONFIG_UNSAFE_TEXT]',
      '6: vms[1].name: holds U+009B, a C1 control character (the 8-bit CSI: terminals read it as an escape sequence), at character 4 [CONFIG_UNSAFE_TEXT]',
      '7: vms[2].name: holds U+202E (RIGHT-TO-LEFT OVERRIDE), a bidi control: it shows text in another order than it is read, at character 6 [CONFIG_UNSAFE_TEXT]',
    ]);
    // Nothing of the characters themselves reaches the terminal.
    expect(error.message).not.toMatch(/[\u0080-\u009f\u202a-\u202e\ufffd]/);
  });

  it('refuses bidi and control characters in every other value, key and comment, but not in inline file contents', async () => {
    const f = await fixture();
    const text = `name: "site\\u202e"
controllers: [{ name: lc1, host: "h1\\u2066", imageDir: /srv/vmctx, user: "ro\\u0085ot" }]
images: [{ name: debian, path: "./debian-base.raw\\u200f" }]
defaults: { controller: lc1, image: debian, template: ./debian1.xml }
vms:
  - name: web-1
    bridge: "br\\u061c0"
    context:
      ssh: { authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx user\\u202egpj.exe"] }
      files:
        - { path: /etc/motd, content: "bidi \\u202e, C1 \\u009b, ESC \\u001b[31m and a\\ttab\\n" }
      scripts:
        - { name: s1, content: "#!/bin/sh\\necho \\u2067\\n" }
  # an innocent comment \u202e } ]
  - { name: web-2, "iso\\u202d": /srv/x.iso }
  - name: web-3
    spec: { description: "a\\u001bb", memory: { value: 1, unit: GiB }, vcpu: 1 }
`;
    const error = await refusal(f.parse(text));
    expect([error.code, error.kind]).toEqual(['CONFIG_UNSAFE_TEXT', 'input']);
    expect(lines(error).map((l) => l.replace(/, a bidi control: it shows text in another order than it is read/, ', bidi'))).toEqual([
      '1: name: holds U+202E (RIGHT-TO-LEFT OVERRIDE), bidi, at character 5 [CONFIG_UNSAFE_TEXT]',
      '2: controllers[0].host: holds U+2066 (LEFT-TO-RIGHT ISOLATE), bidi, at character 3 [CONFIG_UNSAFE_TEXT]',
      '2: controllers[0].user: holds U+0085, a C1 control character, at character 3 [CONFIG_UNSAFE_TEXT]',
      '3: images[0].path: holds U+200F (RIGHT-TO-LEFT MARK), bidi, at character 18 [CONFIG_UNSAFE_TEXT]',
      '7: vms[0].bridge: holds U+061C (ARABIC LETTER MARK), bidi, at character 3 [CONFIG_UNSAFE_TEXT]',
      '9: vms[0].context.ssh.authorizedKeys[0]: holds U+202E (RIGHT-TO-LEFT OVERRIDE), bidi, at character 45 [CONFIG_UNSAFE_TEXT]',
      '14: : a comment holds U+202E (RIGHT-TO-LEFT OVERRIDE), bidi, at column 25 [CONFIG_UNSAFE_TEXT]',
      '15: vms[1]: the key "iso\\u202d" holds U+202D (LEFT-TO-RIGHT OVERRIDE), bidi, at character 4 [CONFIG_UNSAFE_TEXT]',
      '17: vms[2].spec.description: holds U+001B, a control character, at character 2 [CONFIG_UNSAFE_TEXT]',
    ]);
  });

  it('takes those characters in inline file and script contents', async () => {
    const f = await fixture();
    const text = `${SMALL}    context:
      files:
        - { path: /etc/motd, content: "bidi \\u202e, C1 \\u009b, ESC \\u001b[31m, U+FFFD \\ufffd and a\\ttab\\n" }
        - path: /etc/issue
          content: |
            \u2066isolated\u2069 \u009b
`;
    const deployment = await f.parse(text);
    const context = deployment.vms[2]!.context;
    expect(context.kind === 'context' && context.context.files?.map((file) => file.content)).toEqual(['bidi \u202e, C1 \u009b, ESC \u001b[31m, U+FFFD \ufffd and a\ttab\n', '\u2066isolated\u2069 \u009b\n']);
  });

  it('says the first 20 and how many more', async () => {
    const f = await fixture();
    const text = `${SMALL}${Array.from({ length: 30 }, (_, i) => `  - name: "w\\u202e${i}"\n`).join('')}`;
    const error = await refusal(f.parse(text));
    expect(error.problems).toHaveLength(21);
    expect(error.problems[20]).toMatchObject({ path: '', message: 'and 10 more keys, values or comments with such characters', code: 'CONFIG_UNSAFE_TEXT' });
  });
});

// Issue 19: 80 MB of inline context took 3.2 GB and 22 s; an alias bomb ended with a bare exit 1.
describe('the limits of the deployment file', () => {
  it(`refuses a file over ${MAX_DEPLOYMENT_BYTES} bytes from its size, before reading it (CONFIG_TOO_LARGE)`, async () => {
    const f = await fixture();
    const file = f.path('huge.yaml');
    await writeFile(file, SMALL);
    await truncate(file, 4 * 2 ** 30); // sparse: 4 GiB that reading would have to go through
    const started = performance.now();
    const error = await refusal(loadDeployment(file));
    expect(performance.now() - started).toBeLessThan(1000);
    expect([error.code, error.kind, exitCodeOf(error)]).toEqual(['CONFIG_TOO_LARGE', 'input', 2]);
    expect(error.message).toBe(
      `${file}: 4294967296 bytes, more than a deployment file may have (16777216 bytes, 16 MiB); refused before reading it: put large file contents in a context file or folder (context: ./ctx.yaml)`,
    );
  });

  it('reads no more than the limit of a file whose size says nothing (a device, a pipe)', async () => {
    const error = await refusal(loadDeployment('/dev/zero'));
    expect([error.code, error.kind]).toEqual(['CONFIG_TOO_LARGE', 'input']);
    expect(error.message).toMatch(/^\/dev\/zero: more than 16777216 bytes, more than a deployment file may have .*; refused after reading that much \(it is not a regular file, or it grew\)/);
  });

  it('reads a file of exactly the limit', async () => {
    const f = await fixture();
    const file = f.path('limit.yaml');
    await writeFile(file, `${SMALL}#${'x'.repeat(MAX_DEPLOYMENT_BYTES - SMALL.length - 2)}\n`);
    expect((await stat(file)).size).toBe(MAX_DEPLOYMENT_BYTES);
    expect(await readDeploymentText(file)).toHaveLength(MAX_DEPLOYMENT_BYTES);
  });

  it('refuses text over the limit given to parseDeployment, before parsing it', async () => {
    const f = await fixture();
    const text = `${SMALL}${'# many inline contexts of less than the content limit each\n'.repeat(MAX_DEPLOYMENT_BYTES / 50)}`;
    const error = await refusal(f.parse(text));
    expect(error.code).toBe('CONFIG_TOO_LARGE');
    expect(error.message).toMatch(/: \d+ bytes, more than a deployment file may have \(16777216 bytes\); refused before parsing$/);
  });

  it('ends an alias bomb with CONFIG_ALIAS_LIMIT (exit 2), not a bare error', async () => {
    const f = await fixture();
    const lol = (n: number) => `[${Array(9).fill(n === 0 ? '"lol"' : `*l${n - 1}`).join(', ')}]`;
    const bomb = Array.from({ length: 9 }, (_, n) => `x-l${n}: &l${n} ${lol(n)}\n`).join('');
    const file = await f.write('bomb.yaml', `${bomb}${SMALL}`);
    const error = await refusal(loadDeployment(file, { homeDir: f.home, sshConfigPath: join(f.home, 'none') }));
    expect([error.code, error.kind, exitCodeOf(error)]).toEqual(['CONFIG_ALIAS_LIMIT', 'input', 2]);
    expect(formatError(error)).toBe(
      `vmctx: ${file}: YAML aliases expand more than 100 times: an alias bomb ("billion laughs"), or one anchor used over 100 times; refused (give fields shared by many VMs once, under defaults:) [CONFIG_ALIAS_LIMIT]\n`,
    );
  });
});
