/**
 * Reaching a controller as operators do beyond the lab's plain entries: an alias of ~/.ssh/config (HostName,
 * Port, User, IdentityFile) whose ProxyJump is another host. Here the jump host is lc1's sshd (127.0.0.1:2201)
 * and the target is lc1's sshd again as seen from inside lc1's namespace (127.0.0.1:22), a host this machine
 * cannot reach directly, so the check passes only through the jump.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckReport } from '@vmctx/deployer';
import { afterAll, describe, expect, it } from 'vitest';
import { controller, labEnv } from './support/lab.js';
import { LAB_TEMPLATE, vmctx, writeDeployment } from './support/vmctx-cli.js';

const env = labEnv();
const lc1 = controller(env, 'lc1');
const home = mkdtempSync(join(tmpdir(), 'vmctx-ssh-home-'));

describe('vmctx check through an ssh_config alias with ProxyJump', () => {
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('resolves the alias, jumps, checks the target host key, and passes', async () => {
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    writeFileSync(
      join(home, '.ssh', 'config'),
      [
        'Host lc1-inside',
        '  HostName 127.0.0.1',
        '  Port 22',
        '  User root',
        `  IdentityFile ${env.key}`,
        `  ProxyJump root@${lc1.host}:${lc1.port}`,
        '',
      ].join('\n'),
    );
    const knownHosts = join(home, '.ssh', 'known_hosts');
    copyFileSync(env.knownHosts, knownHosts);
    const file = writeDeployment(home, 'ssh-jump', {
      controllers: [{ name: 'lc1', host: 'lc1-inside', imageDir: lc1.images }],
      images: [{ name: 'base', path: env.guest.baseImage }],
      vms: [{ name: 'jump-1', controller: 'lc1', image: 'base', template: LAB_TEMPLATE, bridge: 'virbr0' }],
    });
    const run = (args: string[]) => vmctx(['check', '--file', file, '--json', ...args], { env: { HOME: home, SSH_AUTH_SOCK: '' } });

    // The target (127.0.0.1:22 inside lc1) is not in known_hosts yet: refused, then recorded with --accept-new.
    const unknown = await run([]);
    expect(unknown.code).toBe(1);
    expect((JSON.parse(unknown.stdout) as CheckReport).controllers[0]!.findings[0]!.message).toMatch(/SHA256:/);
    const accepted = await run(['--accept-new']);
    expect(accepted.code, accepted.stdout + accepted.stderr).toBe(0);
    expect(readFileSync(knownHosts, 'utf8')).toMatch(/^127\.0\.0\.1 ssh-ed25519 /m);
    const again = await run([]);
    expect(again.code).toBe(0);
    const findings = (JSON.parse(again.stdout) as CheckReport).controllers[0]!.findings;
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(findings.find((f) => f.code === 'CHECK_BRIDGE')!.message).toBe('bridge virbr0 is up');
  });
});
