import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectError, connectionFix, ControllerConnection } from './connection.js';
import { failure, FakeController, newKeyPair, type ExecHook } from './fake-controller.fixture.js';
import { MAX_PIECE } from '@vmctx/contract';
import { freePort } from './free-port.fixture.js';

let fake: FakeController;
/** The global known_hosts of these tests (ssh's /etc/ssh/ssh_known_hosts): absent unless a test writes it. */
let globalKnownHosts: string;
const open: ControllerConnection[] = [];

beforeAll(async () => {
  fake = await FakeController.start();
  globalKnownHosts = join(fake.root, 'client', 'ssh_known_hosts');
});
afterAll(async () => {
  for (const c of open) c.close();
  await fake.close();
});
beforeEach(() => {
  fake.reset();
  fake.trustHostKey();
  rmSync(globalKnownHosts, { force: true });
});

async function connect(options: Parameters<typeof ControllerConnection.open>[1] = {}, overrides = {}): Promise<ControllerConnection> {
  const c = await ControllerConnection.open(fake.controller(overrides), { readyTimeoutMs: 5000, globalKnownHostsFiles: [globalKnownHosts], ...options });
  open.push(c);
  return c;
}


describe('host keys', () => {
  it('refuses an unknown host key before authenticating, and runs nothing', async () => {
    writeFileSync(fake.knownHostsFile, '');
    const error = await failure(connect());
    expect(error.code).toBe('SSH_HOST_KEY_UNKNOWN');
    expect(error.message).toContain('SHA256:');
    expect(connectionFix(error)).toMatch(/^check the fingerprint on the controller, then rerun with --accept-new/);
    expect(fake.authAttempts).toBe(0);
    expect(fake.commands).toEqual([]);
    expect(readFileSync(fake.knownHostsFile, 'utf8')).toBe('');
  });

  it('records an unknown host key with acceptNew, connects, and knows it the next time', async () => {
    writeFileSync(fake.knownHostsFile, '');
    const told: string[] = [];
    const c = await connect({ acceptNew: true, onHostKeyRecorded: (m) => told.push(m) });
    expect(await c.run(['echo', 'hello'])).toBe('hello\n');
    c.close();
    const recorded = readFileSync(fake.knownHostsFile, 'utf8');
    const [type, blob] = fake.hostKey.public.split(' ');
    expect(recorded.trim()).toBe(`[127.0.0.1]:${fake.port} ${type} ${blob}`);
    expect(told).toHaveLength(1);
    expect(told[0]).toContain(fake.knownHostsFile);
    // Known now: no acceptNew needed, and the file is not written again.
    const again = await connect();
    expect(await again.run(['echo', 'again'])).toBe('again\n');
    expect(readFileSync(fake.knownHostsFile, 'utf8')).toBe(recorded);
  });

  it('accepts a key known only in the global known_hosts, and records nothing', async () => {
    writeFileSync(fake.knownHostsFile, '');
    writeFileSync(globalKnownHosts, fake.knownHostsLine());
    const c = await connect({ acceptNew: true, onHostKeyRecorded: () => expect.fail('recorded a known key') });
    expect(await c.run(['echo', 'hello'])).toBe('hello\n');
    expect(readFileSync(fake.knownHostsFile, 'utf8')).toBe('');
  });

  it('refuses a key revoked in the global known_hosts, even listed in the user file and with acceptNew', async () => {
    const global = `@revoked * ${fake.hostKey.public}\n`;
    writeFileSync(globalKnownHosts, global);
    const error = await failure(connect({ acceptNew: true }));
    expect(error.code).toBe('SSH_HOST_KEY_REVOKED');
    expect(connectionFix(error)).toBe('give the controller a new host key (sshd HostKey), and list it in known_hosts');
    expect(error.message).toContain(`${globalKnownHosts}:1`);
    expect(fake.authAttempts).toBe(0);
    expect(readFileSync(fake.knownHostsFile, 'utf8')).toBe(fake.knownHostsLine());
    expect(readFileSync(globalKnownHosts, 'utf8')).toBe(global);
  });

  it('refuses a key that changed against the global known_hosts even with acceptNew, and writes neither file', async () => {
    writeFileSync(fake.knownHostsFile, '');
    const global = fake.knownHostsLine(newKeyPair().public);
    writeFileSync(globalKnownHosts, global);
    const error = await failure(connect({ acceptNew: true }));
    expect(error.code).toBe('SSH_HOST_KEY_CHANGED');
    expect(connectionFix(error)).toMatch(/^only if the host key was replaced on purpose: remove the old key/);
    expect(error.message).toContain(`${globalKnownHosts}:1`);
    expect(fake.authAttempts).toBe(0);
    expect(readFileSync(fake.knownHostsFile, 'utf8')).toBe('');
    expect(readFileSync(globalKnownHosts, 'utf8')).toBe(global);
  });

  it('records an unknown key in the user file only, never in the global one', async () => {
    writeFileSync(fake.knownHostsFile, '');
    writeFileSync(globalKnownHosts, '# global\n');
    await connect({ acceptNew: true });
    expect(readFileSync(fake.knownHostsFile, 'utf8')).toBe(fake.knownHostsLine());
    expect(readFileSync(globalKnownHosts, 'utf8')).toBe('# global\n');
  });

  it('refuses a changed host key even with acceptNew, and leaves known_hosts alone', async () => {
    const before = fake.knownHostsLine(newKeyPair().public);
    writeFileSync(fake.knownHostsFile, before);
    const error = await failure(connect({ acceptNew: true }));
    expect(error.code).toBe('SSH_HOST_KEY_CHANGED');
    expect(connectionFix(error)).toMatch(/^only if the host key was replaced on purpose: remove the old key/);
    expect(fake.authAttempts).toBe(0);
    expect(fake.commands).toEqual([]);
    expect(readFileSync(fake.knownHostsFile, 'utf8')).toBe(before);
  });
});

describe('connecting', () => {
  it('says SSH_AUTH_FAILED when the key is refused', async () => {
    const other = newKeyPair();
    const keyFile = `${fake.root}/client/other_key`;
    writeFileSync(keyFile, other.private, { mode: 0o600 });
    const error = await failure(connect({}, { identityFile: keyFile }));
    expect(error.code).toBe('SSH_AUTH_FAILED');
    expect(error.message).toBe(`lc1: root@127.0.0.1:${fake.port} refused every key offered (${keyFile})`);
    expect(connectionFix(error)).toBe(`add the public key of ${keyFile} to ~root/.ssh/authorized_keys on the controller, or give the identityFile it accepts`);
    expect(fake.authAttempts).toBeGreaterThan(0);
    expect(fake.commands).toEqual([]);
  });

  it('says SSH_UNREACHABLE when nothing listens', async () => {
    const port = await freePort();
    const error = await failure(ControllerConnection.open(fake.controller({ port }), { readyTimeoutMs: 5000 }));
    expect(error.code).toBe('SSH_UNREACHABLE');
    // Issue 24 #7: "lc1: cannot reach root@127.0.0.1:PORT: connect ECONNREFUSED 127.0.0.1:PORT", and no fix.
    expect(error.message).toBe(`lc1: 127.0.0.1:${port} refused the connection: nothing listens on that port, or a firewall rejects it`);
    expect(connectionFix(error)).toBe("start sshd on 127.0.0.1, or correct the port (the file's host: and port:, or the ssh config's HostName and Port)");
  });

  it('says SSH_UNREACHABLE for a host name that does not resolve, with its fix (the error as Node and ssh2 give it)', () => {
    // Not through a real lookup: a name that does not resolve would be asked of a DNS server, off this machine.
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND lc9.example'), { code: 'ENOTFOUND', level: 'client-socket' });
    const error = connectError(fake.controller({ host: 'lc9.example', port: 22 }), dns);
    expect([error.code, error.message]).toEqual(['SSH_UNREACHABLE', 'lc1: the host name lc9.example does not resolve (getaddrinfo ENOTFOUND lc9.example)']);
    expect(connectionFix(error)).toMatch(/^correct the host name \(.*\), or make it resolve \(DNS, \/etc\/hosts\)$/);
    const other = connectError(fake.controller(), Object.assign(new Error('connect EHOSTUNREACH 127.0.0.1:22'), { code: 'EHOSTUNREACH', level: 'client-socket' }));
    expect([other.code, connectionFix(other)]).toEqual(['SSH_UNREACHABLE', expect.stringMatching(/^check the address .* and the route to it/)]);
    const protocol = connectError(fake.controller(), new Error('Protocol error'));
    expect([protocol.code, connectionFix(protocol)]).toEqual(['SSH_FAILED', `ssh -v -p ${fake.port} root@127.0.0.1 shows why`]);
    expect(connectionFix(new Error('not a connection failure'))).toBeUndefined();
  });

  it('says SSH_TIMEOUT when the server accepts TCP but never speaks SSH', async () => {
    const sockets: Socket[] = [];
    const silent: NetServer = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      // No wall-time bound (it would fail on a busy machine): a hang is caught by the test's own timeout.
      const error = await failure(ControllerConnection.open(fake.controller({ port }), { readyTimeoutMs: 300 }));
      expect(error.code).toBe('SSH_TIMEOUT');
      expect(connectionFix(error)).toBe(`check that 127.0.0.1 is up and that no firewall drops port ${port}; ssh -v -p ${port} root@127.0.0.1 shows where it stops`);
      expect(sockets.length).toBe(1);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('says SSH_NO_IDENTITY when there is no key at all', async () => {
    const saved = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    try {
      const error = await failure(connect({ homeDir: `${fake.root}/home` }, { identityFile: undefined }));
      expect(error.code).toBe('SSH_NO_IDENTITY');
      expect(connectionFix(error)).toMatch(/^give identityFile: .*start ssh-agent/);
    } finally {
      if (saved !== undefined) process.env.SSH_AUTH_SOCK = saved;
    }
  });
});

describe('exec', () => {
  let c: ControllerConnection;
  beforeAll(async () => {
    fake.trustHostKey();
    c = await connect({ maxChannels: 4 });
  });

  it('returns the exit code, stdout and stderr apart', async () => {
    const result = await c.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(result).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('passes arguments through the shell unchanged', async () => {
    const args = ["it's", 'a b', '$HOME', '`id`', '"', '\\', '*', '', 'a\nb', '!', '=ls', '%self', 'é', 'x'.repeat(MAX_PIECE + 1)];
    const result = await c.exec(['printf', '[%s]\\n', ...args]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(args.map((a) => `[${a}]\n`).join(''));
  });

  it('sends plain words as they are, and the rest as a line every login shell reads the same', async () => {
    await c.exec(['echo', 'plain', '/words', 'a=b']);
    expect(fake.commands.at(-1)).toBe('echo plain /words a=b');
    await c.exec(['echo', 'it\'s', 'a\\b!']);
    expect(fake.commands.at(-1)).toBe("echo 'it'\\''s' 'a'\\\\'b'\\!");
    await c.exec(['sh', '-c', 'echo one\necho two']);
    expect(fake.commands.at(-1)).toMatch(/^sh -c '[^'\\!\n]+' vmctx -,-,n sh -c 'echo one' 'echo two'$/);
  });

  /** Answers each exec as sshd does for a user whose login shell is `shell`: `shell -c LINE`. */
  const loginShell = (shell: string): ExecHook => (command, channel) => {
    const child = spawn(shell, ['-c', command], { cwd: join(fake.root, 'home'), env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(fake.root, 'home'), LC_ALL: 'C.UTF-8' } });
    child.stdin.end();
    child.stdout.on('data', (chunk: Buffer) => channel.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => channel.stderr.write(chunk));
    child.on('close', (code) => {
      channel.exit(code ?? 255);
      channel.end();
    });
  };
  const installed = (program: string) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', program]).status === 0;

  // A shell that is not installed is skipped, by name (tools/setup/setup.sh installs them).
  it.for(['fish', 'tcsh', 'csh', 'zsh', 'bash'])('runs exactly the given argv when the login shell is %s', async (shell, context) => {
    if (!installed(shell)) context.skip();
    fake.hook = loginShell(shell);
    try {
      const args = ["it's", 'name\\', '; echo PWNED; #', 'x!y', '!!', 'l1\nl2', '\n', '$HOME', '`id`', '"', '=ls', '%self', '~', '{a,b}', 'é€𝄞', '', 'y'.repeat(3 * MAX_PIECE)];
      const result = await c.exec(['printf', '%s\\0', ...args]);
      expect(result.stderr).toBe('');
      expect(result.stdout.split('\0').slice(0, -1)).toEqual(args);
      // And a plain line, run by that shell itself.
      expect(await c.run(['printf', '%s-%s', 'plain', 'words'])).toBe('plain-words');
    } finally {
      fake.hook = undefined;
    }
  });

  it('run throws REMOTE_COMMAND_FAILED with the command and its stderr on a non-zero exit', async () => {
    const error = await failure(c.run(['sh', '-c', 'echo nope >&2; exit 5']));
    expect(error.code).toBe('REMOTE_COMMAND_FAILED');
    expect(error.message).toContain('exited 5: nope');
  });

  it('reports a command killed by a signal with code 128 and the signal', async () => {
    // Through a login shell, a killed command is the shell's exit 137; only a command sshd ran itself ends
    // with exit-signal, as this one does.
    expect((await c.exec(['sh', '-c', 'kill -KILL $$'])).code).toBe(137);
    fake.hook = (_command, channel) => {
      channel.exit('KILL', false, '');
      channel.end();
    };
    try {
      const result = await c.exec(['anything']);
      expect(result.code).toBe(128);
      expect(result.signal).toBe('SIGKILL');
    } finally {
      fake.hook = undefined;
    }
  });

  it('gives the real exit code of a command that exits at once, 200 times', async () => {
    // Exit status, EOF and close written in the same tick as the exec's success: they reach the client in one
    // batch, right behind the confirmation.
    fake.hook = (command, channel) => {
      const code = Number(/^exit (\d+)$/.exec(command)?.[1] ?? 99);
      channel.write(`${code}\n`);
      channel.exit(code);
      channel.end();
    };
    try {
      const codes: number[] = [];
      const outputs: string[] = [];
      for (let i = 0; i < 200; i++) {
        const result = await c.exec(['exit', String(i % 250 + 1)]);
        codes.push(result.code);
        outputs.push(result.stdout);
      }
      expect(codes).toEqual(Array.from({ length: 200 }, (_, i) => (i % 250) + 1));
      expect(outputs).toEqual(Array.from({ length: 200 }, (_, i) => `${(i % 250) + 1}\n`));
    } finally {
      fake.hook = undefined;
    }
  });

  it('never has more than maxChannels sessions open on the server while 30 commands run', async () => {
    // Each command is held until four are held at once (or the last ones have come), so the count cannot depend on
    // timing: a limit above four would show five, a limit that never lets four run would hang the test.
    const held: (() => void)[] = [];
    let started = 0;
    fake.hook = (command, channel) => {
      started++;
      held.push(() => {
        channel.write(command.split(' ')[1]!);
        channel.exit(0);
        channel.end();
      });
      if (held.length === 4 || started === 30) for (const answer of held.splice(0)) answer();
    };
    try {
      fake.maxOpenSessions = 0;
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => c.exec(['echo', String(i)])));
      expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
      expect(fake.maxOpenSessions).toBe(4);
    } finally {
      fake.hook = undefined;
    }
  });

  it('counts channels used through withChannel against the same limit', async () => {
    // The `held` commands are answered only once four are held at once (or all six have come), as above.
    const waiting: (() => void)[] = [];
    let heldStarted = 0;
    fake.hook = (command, _channel, run) => {
      if (!command.includes('held')) return run();
      heldStarted++;
      waiting.push(() => run());
      if (waiting.length === 4 || heldStarted === 6) for (const answer of waiting.splice(0)) answer();
    };
    fake.maxOpenSessions = 0;
    const held = Array.from({ length: 6 }, (_, i) =>
      c.withChannel(['sh', '-c', 'echo held'], (channel) => new Promise<number>((resolve) => {
        channel.resume();
        channel.stderr.resume();
        channel.on('close', () => resolve(i));
      })),
    );
    const quick = Array.from({ length: 6 }, (_, i) => c.exec(['echo', String(i)]));
    try {
      await Promise.all([...held, ...quick]);
      expect(fake.maxOpenSessions).toBe(4);
    } finally {
      fake.hook = undefined;
    }
  });

  it('delivers stdin given as a Buffer and as a stream', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const sha = createHash('sha256').update(data).digest('hex');
    const fromBuffer = await c.run(['sh', '-c', 'sha256sum | cut -d" " -f1'], { stdin: data });
    expect(fromBuffer.trim()).toBe(sha);
    const fromStream = await c.run(['sh', '-c', 'sha256sum | cut -d" " -f1'], { stdin: Readable.from([data.subarray(0, 1000), data.subarray(1000)]) });
    expect(fromStream.trim()).toBe(sha);
    expect(await c.run(['cat'], { stdin: 'text with\nlines' })).toBe('text with\nlines');
  });

  it('streams stdout to onStdout as it arrives', async () => {
    const chunks: string[] = [];
    const out = await c.run(['sh', '-c', 'echo one; sleep 0.05; echo two'], { onStdout: (b) => chunks.push(b.toString()) });
    expect(out).toBe('one\ntwo\n');
    expect(chunks.join('')).toBe(out);
  });

  it('gives up after timeoutMs with REMOTE_TIMEOUT', async () => {
    const error = await failure(c.exec(['sleep', '5'], { timeoutMs: 200 }));
    expect(error.code).toBe('REMOTE_TIMEOUT');
  });

  it('says SSH_CLOSED for a command on a closed connection', async () => {
    const other = await connect();
    other.close();
    expect(other.isClosed).toBe(true);
    const error = await failure(other.exec(['true']));
    expect(error.code).toBe('SSH_CLOSED');
  });
});
