import { userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixture } from './fixture.test.js';
import { pathKind } from './paths.js';
import { parseJump } from './ssh-config.js';

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
    ).toBe(`${f.path('deploy.yaml')}:1: controllers[0].host: ~/.ssh/config's Port for lc1 is "twenty", not a port number`);
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
