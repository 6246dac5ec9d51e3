/**
 * The lab itself: controllers are isolated from each other and from the host, reachable only with the lab's
 * key and known host keys, and the failure variants (no bridge, another bridge name, a crashed daemon) behave.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ControllerConnection } from '@vmctx/deployer';
import { controller, controllerConfig, disconnect, LAB_COMMAND, labEnv, ssh, sshOk } from './support/lab.js';

const execFileAsync = promisify(execFile);
const lab = (...args: string[]) => execFileAsync(LAB_COMMAND, args, { encoding: 'utf8' });

describe('lab controllers', () => {
  const env = labEnv();
  const lc1 = controller(env, 'lc1');
  const lc2 = controller(env, 'lc2');

  it('each has its own bridge with the lab address and its own libvirtd', async () => {
    for (const lc of [lc1, lc2]) {
      const links = await sshOk(env, lc, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'virbr0']);
      expect(links).toContain('198.51.100.1/24');
      expect((await sshOk(env, lc, ['virsh', 'uri'])).trim()).toBe('qemu:///system');
    }
    // A domain defined on lc1 is not seen by lc2: separate libvirtd, separate state.
    const xml = `<domain type='qemu'><name>lab-isolation</name><memory unit='MiB'>32</memory><os><type arch='x86_64'>hvm</type></os></domain>`;
    await ssh(env, lc1, ['virsh', 'undefine', 'lab-isolation']);
    await sshOk(env, lc1, ['virsh', 'define', '/dev/stdin'], xml);
    try {
      expect(await sshOk(env, lc1, ['virsh', 'list', '--all', '--name'])).toContain('lab-isolation');
      expect(await sshOk(env, lc2, ['virsh', 'list', '--all', '--name'])).not.toContain('lab-isolation');
    } finally {
      await sshOk(env, lc1, ['virsh', 'undefine', 'lab-isolation']);
    }
  });

  it('sees its own image folder with the base image, not the other controller’s files', async () => {
    await sshOk(env, lc1, ['touch', `${lc1.images}/only-on-lc1`]);
    expect(await sshOk(env, lc1, ['ls', lc1.images])).toMatch(/debian-base\.raw[\s\S]*only-on-lc1|only-on-lc1[\s\S]*debian-base\.raw/);
    expect(await sshOk(env, lc2, ['ls', lc2.images])).not.toContain('only-on-lc1');
    await sshOk(env, lc1, ['rm', `${lc1.images}/only-on-lc1`]);
  });

  it('refuses a client that does not know its host key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmctx-lab-kh-'));
    try {
      writeFileSync(join(dir, 'known_hosts'), '');
      // Through the deployer's own SSH module, as every suite reaches the lab: a fresh connection, not the cached one.
      const refused = await ControllerConnection.open({ ...controllerConfig(env, lc1), knownHosts: join(dir, 'known_hosts') }).then(
        (connection) => {
          connection.close();
          return undefined;
        },
        (error: { code?: string; message?: string }) => error,
      );
      expect(refused?.code).toBe('SSH_HOST_KEY_UNKNOWN');
      expect(refused?.message).toMatch(/SHA256:/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists every controller in known_hosts under the address a client dials', () => {
    const knownHosts = readFileSync(env.knownHosts, 'utf8');
    for (const lc of [lc1, lc2]) {
      const hostKey = readFileSync(`${lc.root}/ssh/host_ed25519.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
      expect(knownHosts).toContain(`[127.0.0.1]:${lc.port} ${hostKey}`);
    }
  });
});

describe('lab failure variants and recovery', () => {
  // The suite's SSH connection to a controller is a session of its sshd: closed before the lab stops it.
  const disconnectAll = () => Promise.all(['lc8', 'lc9'].flatMap((name) => labEnv().controllers.filter((c) => c.name === name)).map(disconnect));

  afterAll(async () => {
    await disconnectAll();
    await lab('down', 'lc8', 'lc9');
  });

  it('starts a controller without a bridge and one with another bridge name', async () => {
    await lab('add', 'lc8', '--no-bridge');
    await lab('add', 'lc9', '--bridge', 'br-other');
    const env = labEnv();
    const noBridge = controller(env, 'lc8');
    const otherBridge = controller(env, 'lc9');
    expect(noBridge.bridge).toBe('');
    expect(otherBridge.bridge).toBe('br-other');
    expect(await sshOk(env, noBridge, ['ip', '-o', 'link', 'show', 'type', 'bridge'])).toBe('');
    const missing = await ssh(env, noBridge, ['ip', 'link', 'show', 'virbr0']);
    expect(missing.code).not.toBe(0);
    expect(await sshOk(env, otherBridge, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'br-other'])).toContain('198.51.100.1/24');
  });

  it('recovers a controller whose libvirtd died', async () => {
    const lc = controller(labEnv(), 'lc9');
    const pid = readFileSync(`${lc.root}/run/libvirtd.pid`, 'utf8').trim();
    process.kill(Number(pid), 'SIGKILL');
    await expect.poll(async () => (await lab('status')).stdout, { timeout: 5000 }).toMatch(/^lc9 broken/m);
    await disconnectAll();
    await lab('add', 'lc9', '--bridge', 'br-other');
    expect((await lab('status')).stdout).toMatch(/^lc9 up .* bridge=br-other/m);
    const env = labEnv();
    expect((await sshOk(env, controller(env, 'lc9'), ['virsh', 'uri'])).trim()).toBe('qemu:///system');
  });

  it('stops exactly one controller and removes its namespace', async () => {
    await disconnectAll();
    await lab('down', 'lc8');
    const { stdout } = await execFileAsync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(stdout).not.toMatch(/^lc8\b/m);
    expect(stdout).toMatch(/^lc1\b/m);
    expect(labEnv().controllers.map((c) => c.name)).not.toContain('lc8');
  });
});
