import { devNull, userInfo } from 'node:os';
import { join } from 'node:path';
import type { VmctxError } from '@vmctx/contract';
import { describe, expect, it } from 'vitest';
import { failure } from '../controller/fake-controller.fixture.js';
import { fixture } from './deployment.fixture.js';
import { pathKind } from './paths.js';
import { chosenSshConfig, parseJump, readSshConfig } from './ssh-config.js';

const SSH_CONFIG = (dir: string) => `Host lc1
  HostName 10.0.0.11
  Port 2201
  User admin
  IdentityFile ~/.ssh/missing_key
  IdentityFile ~/.ssh/lc_key
  ProxyJump bastion

Host lc2
  hostname %h.cluster.example
  proxyjump ops@jump.example:2022,second.example

Host bastion
  HostName 192.0.2.9
  User jumper
  Port 2222
  IdentityFile %d/.ssh/bastion_key

Host plain
  ProxyJump none

Match exec "touch ${dir}/ran"
  User wrong
`;

const VMS = `images: [{ name: debian, path: ./debian-base.raw }]
vms: [{ name: a, controller: lc1, image: debian, template: ./debian1.xml }]
`;

describe('controllers through ~/.ssh/config', () => {
  it('resolves an alias: HostName, Port, User, the first IdentityFile that exists, ProxyJump and its own alias', async () => {
    const f = await fixture();
    await f.write('home/.ssh/config', SSH_CONFIG(f.dir));
    await f.write('home/.ssh/lc_key', 'key');
    await f.write('home/.ssh/bastion_key', 'key');
    const d = await f.parse(`controllers:
  - { name: lc1, host: lc1, imageDir: /srv/vmctx }
  - { name: lc2, host: lc2, imageDir: /srv/vmctx }
  - { name: lc3, host: plain, imageDir: /srv/vmctx }
${VMS}`);
    expect(d.controllers.map(({ where: _, knownHosts: __, ...c }) => c)).toEqual([
      {
        name: 'lc1',
        host: '10.0.0.11',
        port: 2201,
        user: 'admin',
        identityFile: join(f.home, '.ssh/lc_key'),
        imageDir: '/srv/vmctx',
        proxyJump: { host: '192.0.2.9', port: 2222, user: 'jumper', identityFile: join(f.home, '.ssh/bastion_key') },
      },
      {
        name: 'lc2',
        host: 'lc2.cluster.example',
        port: 22,
        user: userInfo().username,
        imageDir: '/srv/vmctx',
        proxyJump: { host: 'jump.example', port: 2022, user: 'ops' },
      },
      { name: 'lc3', host: 'plain', port: 22, user: userInfo().username, imageDir: '/srv/vmctx' },
    ]);
    expect(d.controllers[0]!.knownHosts).toBe(join(f.home, '.ssh/known_hosts'));
    // Loading a deployment runs no command of the ssh config (Match exec).
    expect(await pathKind(f.path('ran'))).toBe('missing');
  });

  it('lets the deployment file win over ssh config, field by field', async () => {
    const f = await fixture();
    await f.write('home/.ssh/config', SSH_CONFIG(f.dir));
    const d = await f.parse(`controllers:
  - name: lc1
    host: lc1
    port: 3000
    user: root
    identityFile: ./keys/id
    knownHosts: ~/kh
    proxyJump: none
    imageDir: /srv/vmctx
${VMS}`);
    expect(d.controllers[0]).toEqual({
      name: 'lc1',
      host: '10.0.0.11',
      port: 3000,
      user: 'root',
      identityFile: f.path('keys/id'),
      knownHosts: join(f.home, 'kh'),
      imageDir: '/srv/vmctx',
      where: 'controllers[0]',
    });
  });

  it('reads options.sshConfigPath, and a bad Port there is reported at the controller', async () => {
    const f = await fixture();
    const config = await f.write('other-ssh-config', 'Host lc1\n  Port twenty\n');
    expect(
      await f.parse(`controllers: [{ name: lc1, host: lc1, imageDir: /srv }]\n${VMS}`, 'deploy.yaml', { sshConfigPath: config }).catch((e: Error) => e.message),
    ).toBe(`${f.path('deploy.yaml')}:1: controllers[0].host: the ssh config's Port for lc1 is "twenty", not a port number`);
  });
});

describe('known_hosts files from the ssh config (issue 24 #7: UserKnownHostsFile was ignored)', () => {
  const KNOWN = `Host lc1
  HostName 127.0.0.1
  Port 2201
  User admin
  UserKnownHostsFile ~/kh/%h-%p "%d/kh two" %u-%r-%n.kh relative/kh
  GlobalKnownHostsFile /etc/vmctx/global_hosts ~/global2

Host lc2
  UserKnownHostsFile none
  GlobalKnownHostsFile none

Host *
  UserKnownHostsFile ~/.ssh/never-this-one
`;

  it('reads every UserKnownHostsFile in order (the first is the one written), tokens and ~ expanded, and GlobalKnownHostsFile', async () => {
    const f = await fixture();
    await f.write('home/.ssh/config', KNOWN);
    const d = await f.parse(`controllers: [{ name: lc1, host: lc1, imageDir: /srv }]\n${VMS}`);
    expect(d.controllers[0]).toMatchObject({
      knownHosts: join(f.home, 'kh/127.0.0.1-2201'),
      // A relative file of the ssh config is taken from the working directory, as ssh takes it.
      moreKnownHosts: [join(f.home, 'kh two'), join(process.cwd(), `${userInfo().username}-admin-lc1.kh`), join(process.cwd(), 'relative/kh')],
      globalKnownHosts: ['/etc/vmctx/global_hosts', join(f.home, 'global2')],
    });
  });

  it("lets the deployment file's knownHosts win (then the only user file); %p is the file's port", async () => {
    const f = await fixture();
    await f.write('home/.ssh/config', KNOWN);
    const d = await f.parse(`controllers:
  - { name: lc1, host: lc1, imageDir: /srv, knownHosts: ./kh }
  - { name: lc1b, host: lc1, port: 3000, imageDir: /srv }
${VMS}`);
    expect(d.controllers[0]!.knownHosts).toBe(f.path('kh'));
    expect(d.controllers[0]!.moreKnownHosts).toBeUndefined();
    expect(d.controllers[0]!.globalKnownHosts).toEqual(['/etc/vmctx/global_hosts', join(f.home, 'global2')]);
    expect(d.controllers[1]!.knownHosts).toBe(join(f.home, 'kh/127.0.0.1-3000'));
  });

  it('without those directives: ~/.ssh/known_hosts and the default global files', async () => {
    const f = await fixture();
    await f.write('home/.ssh/config', 'Host lc3\n  Port 2203\n');
    const d = await f.parse(`controllers: [{ name: lc1, host: lc3, imageDir: /srv }]\n${VMS}`);
    expect(d.controllers[0]!.knownHosts).toBe(join(f.home, '.ssh/known_hosts'));
    expect(d.controllers[0]).not.toHaveProperty('moreKnownHosts');
    expect(d.controllers[0]).not.toHaveProperty('globalKnownHosts');
  });

  it('refuses UserKnownHostsFile none unless the file gives knownHosts; GlobalKnownHostsFile none reads no global file', async () => {
    const f = await fixture();
    await f.write('home/.ssh/config', KNOWN);
    expect(await f.problems(`controllers: [{ name: lc2, host: lc2, imageDir: /srv }]\n${VMS.replace('lc1', 'lc2')}`)).toEqual([
      "1: controllers[0].host: the ssh config's UserKnownHostsFile for lc2 is none: vmctx needs a known_hosts file; give knownHosts: here",
    ]);
    const d = await f.parse(`controllers: [{ name: lc2, host: lc2, imageDir: /srv, knownHosts: ./kh }]\n${VMS.replace('lc1', 'lc2')}`);
    expect(d.controllers[0]).toMatchObject({ knownHosts: f.path('kh'), globalKnownHosts: [] });
  });
});

describe('chosenSshConfig: which ssh config, as ssh -F', () => {
  it('takes --ssh-config over $VMCTX_SSH_CONFIG over the default (undefined), and none for no file', async () => {
    const f = await fixture();
    const a = await f.write('a.conf', '');
    const b = await f.write('b.conf', '');
    expect(await chosenSshConfig(a, { VMCTX_SSH_CONFIG: b })).toBe(a);
    expect(await chosenSshConfig(undefined, { VMCTX_SSH_CONFIG: b })).toBe(b);
    expect(await chosenSshConfig(undefined, { VMCTX_SSH_CONFIG: '' })).toBeUndefined();
    expect(await chosenSshConfig(undefined, {})).toBeUndefined();
    expect(await chosenSshConfig('none', { VMCTX_SSH_CONFIG: b })).toBe(devNull);
    expect(await chosenSshConfig(undefined, { VMCTX_SSH_CONFIG: 'none' })).toBe(devNull);
    // Even over a missing file named by the variable: the option is not checked against it.
    expect(await chosenSshConfig('none', { VMCTX_SSH_CONFIG: f.path('missing') })).toBe(devNull);
    expect(await chosenSshConfig('~/x.conf', { HOME: f.dir, VMCTX_SSH_CONFIG: b }).catch((e: VmctxError) => e.message)).toBe(
      `the ssh config ${f.path('x.conf')} (named by --ssh-config) does not exist (give an existing file, or none to read no ssh config)`,
    );
  });

  it('refuses a named file that is missing or a folder, saying which setting named it (SSH_CONFIG_UNREADABLE)', async () => {
    const f = await fixture();
    const missing = await failure(chosenSshConfig(undefined, { VMCTX_SSH_CONFIG: f.path('nope') }));
    expect([missing.code, missing.kind, missing.where]).toEqual(['SSH_CONFIG_UNREADABLE', 'io', 'VMCTX_SSH_CONFIG']);
    expect(missing.message).toBe(`the ssh config ${f.path('nope')} (named by VMCTX_SSH_CONFIG) does not exist (give an existing file, or none to read no ssh config)`);
    const folder = await failure(chosenSshConfig(f.home, {}));
    expect([folder.code, folder.where, folder.message]).toEqual(['SSH_CONFIG_UNREADABLE', '--ssh-config', `the ssh config ${f.home} (named by --ssh-config) is a folder, not a file`]);
  });

  it('reads a missing ~/.ssh/config as none, and refuses one that is there but cannot be read', async () => {
    const f = await fixture();
    expect(await readSshConfig(f.path('home/.ssh/config'))).toBeUndefined();
    const error = await failure(readSshConfig(f.home));
    expect([error.code, error.where]).toEqual(['SSH_CONFIG_UNREADABLE', f.home]);
  });
});

describe('parseJump', () => {
  it('reads the first hop of user@host:port, ssh:// and bracketed IPv6 forms', () => {
    expect(parseJump('a@b:1,c')).toEqual({ user: 'a', host: 'b', port: '1' });
    expect(parseJump('ssh://b')).toEqual({ host: 'b' });
    expect(parseJump('[2001:db8::1]:2200')).toEqual({ host: '2001:db8::1', port: '2200' });
    expect(parseJump('a b')).toBeUndefined();
  });
});
