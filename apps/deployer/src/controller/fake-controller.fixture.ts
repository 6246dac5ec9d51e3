/**
 * Test support: a controller in this process. An ssh2 `Server` on 127.0.0.1 with its own ed25519 host key,
 * accepting one client key, that runs each command it is sent through a real `sh -c` (as sshd hands a command
 * to the login shell) in a temporary folder that plays the controller. `virsh` and `ip` on its PATH are small
 * shell scripts keeping domains, links and networks as files under `state/`; everything else (cat, sha256sum,
 * mv, df, stat, rm) is the real tool.
 *
 * Named `*.test.ts`: excluded from the lib build (tsconfig.lib.json) and not collected by vitest (`*.spec.ts`).
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Transform } from 'node:stream';
import { Server, utils, type Connection, type ServerChannel } from 'ssh2';
import { VmctxError } from '@vmctx/contract';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import type { ControllerConfig } from '../config/types.js';
import { ControllerConnection } from './connection.js';

export interface RunOptions {
  /** Passes the client's bytes through this before the command reads them. */
  stdin?: Transform;
  /** Kills the command (SIGKILL) and closes the channel once this many bytes of input went through. */
  killAfterBytes?: number;
}

/** Handles one exec; call `run` for the default (real `sh -c`), or answer on the channel yourself. */
export type ExecHook = (command: string, channel: ServerChannel, run: (options?: RunOptions) => void) => void;

export interface FakeControllerOptions {
  /** Runs every command as this user and group (root's `test -w` is always true). */
  uid?: number;
  gid?: number;
}

export interface KeyPair {
  private: string;
  /** `ssh-ed25519 AAAA...` */
  public: string;
}

export function newKeyPair(): KeyPair {
  // ssh2 1.17 writes about one ed25519 key in 256 with a 31-byte public key (a leading zero byte dropped), which it
  // cannot parse back, private or public ("Malformed OpenSSH public key"): one FakeController in 128 failed to
  // start (two keys each), and 200 of them most times.
  for (;;) {
    const k = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(k.public) instanceof Error)) return { private: k.private, public: k.public.trim() };
  }
}

/** The fake `virsh` and `ip`: shell scripts beside this file, as they run on the controller. */
const VIRSH = readFileSync(new URL('./fake-controller.virsh.sh', import.meta.url), 'utf8');
const IP = readFileSync(new URL('./fake-controller.ip.sh', import.meta.url), 'utf8');

export class FakeController {
  /** Every command line received, in order. */
  readonly commands: string[] = [];
  /** Sessions open right now, and the most ever open at once. */
  openSessions = 0;
  maxOpenSessions = 0;
  /** Authentication attempts seen. */
  authAttempts = 0;
  hook: ExecHook | undefined;
  readonly hostKey: KeyPair = newKeyPair();
  readonly clientKey: KeyPair = newKeyPair();
  /** The temporary folder that plays the controller: `images/`, `state/`, `bin/`, `home/`. */
  readonly root: string;
  readonly imageDir: string;
  readonly state: string;
  readonly clientKeyFile: string;
  readonly knownHostsFile: string;
  port = 0;
  private readonly server: Server;
  private readonly connections = new Set<Connection>();

  private constructor(private readonly options: FakeControllerOptions) {
    this.root = mkdtempSync(join(tmpdir(), 'vmctx-fake-controller-'));
    chmodSync(this.root, 0o755);
    this.imageDir = join(this.root, 'images');
    this.state = join(this.root, 'state');
    for (const d of ['images', 'state', 'bin', 'home', 'client']) mkdirSync(join(this.root, d), { mode: 0o755 });
    writeFileSync(join(this.root, 'bin', 'virsh'), VIRSH, { mode: 0o755 });
    writeFileSync(join(this.root, 'bin', 'ip'), IP, { mode: 0o755 });
    this.clientKeyFile = join(this.root, 'client', 'id_ed25519');
    writeFileSync(this.clientKeyFile, this.clientKey.private, { mode: 0o600 });
    this.knownHostsFile = join(this.root, 'client', 'known_hosts');
    this.reset();

    const allowed = utils.parseKey(this.clientKey.public);
    if (allowed instanceof Error) throw allowed;
    this.server = new Server({ hostKeys: [this.hostKey.private] }, (client) => {
      this.connections.add(client);
      // Small replies go out at once (sshd's packets are not held back by Nagle either on an idle link).
      // (ssh2's server-side Connection has setNoDelay; its type does not say so.)
      (client as Connection & { setNoDelay(noDelay: boolean): void }).setNoDelay(true);
      client.on('close', () => this.connections.delete(client));
      client.on('error', () => undefined);
      client.on('authentication', (ctx) => {
        this.authAttempts++;
        if (ctx.method !== 'publickey' || ctx.key.algo !== allowed.type || !ctx.key.data.equals(allowed.getPublicSSH())) {
          ctx.reject(['publickey']);
        } else if (!ctx.signature) ctx.accept();
        else if (ctx.blob && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true) ctx.accept();
        else ctx.reject(['publickey']);
      });
      client.on('ready', () => {
        client.on('session', (accept) => {
          this.openSessions++;
          this.maxOpenSessions = Math.max(this.maxOpenSessions, this.openSessions);
          const session = accept();
          session.on('close', () => this.openSessions--);
          session.on('exec', (acceptExec, _reject, info) => {
            this.commands.push(info.command);
            const channel = acceptExec();
            const run = (o?: RunOptions) => this.run(info.command, channel, o ?? {});
            if (this.hook) this.hook(info.command, channel, run);
            else run();
          });
        });
      });
    });
  }

  static async start(options: FakeControllerOptions = {}): Promise<FakeController> {
    const fake = new FakeController(options);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  /** The controller as the deployment file would give it, pointing at this server. */
  controller(overrides: Partial<ControllerConfig> = {}): ControllerConfig {
    return {
      name: 'lc1',
      host: '127.0.0.1',
      port: this.port,
      user: 'root',
      identityFile: this.clientKeyFile,
      knownHosts: this.knownHostsFile,
      imageDir: this.imageDir,
      where: 'controllers[0]',
      ...overrides,
    };
  }

  /** The known_hosts line OpenSSH writes for this server (`[127.0.0.1]:port ssh-ed25519 ...`). */
  knownHostsLine(publicKey = this.hostKey.public): string {
    return `[127.0.0.1]:${this.port} ${publicKey}\n`;
  }

  trustHostKey(): void {
    writeFileSync(this.knownHostsFile, this.knownHostsLine());
  }

  /** Empties the image folder and the fake libvirt, forgets commands and counters. */
  reset(): void {
    this.removeLocks();
    for (const d of [this.imageDir, this.state]) {
      rmSync(d, { recursive: true, force: true });
      mkdirSync(d, { mode: 0o755 });
    }
    for (const d of ['domains', 'links', 'networks']) mkdirSync(join(this.state, d), { mode: 0o755 });
    this.commands.length = 0;
    this.maxOpenSessions = this.openSessions;
    this.authAttempts = 0;
    this.hook = undefined;
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.end();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.removeLocks();
    rmSync(this.root, { recursive: true, force: true });
  }

  /**
   * The deployment locks taken on this controller: they live in this machine's lock folder, not under `root`
   * (controller/deployment-lock.ts: vmctx-NAME-DEV-INO.lock, after the image folder's device and inode), and went
   * with nothing: 50 controllers a run of scale.spec.ts, 200 a round of tools/bench/deploy-scale.ts.
   */
  private removeLocks(): void {
    if (!existsSync(this.imageDir)) return;
    const { dev, ino } = statSync(this.imageDir);
    for (const dir of ['/run/lock', '/var/lock', '/tmp']) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of names) if (name.startsWith('vmctx-') && name.endsWith(`-${dev}-${ino}.lock`)) rmSync(join(dir, name), { force: true });
    }
  }

  private run(command: string, channel: ServerChannel, options: RunOptions): void {
    // Node gives a child a socket as stdin, where sshd gives a pipe, which `/dev/stdin` cannot open (ENXIO); for
    // a command that opens it, a `cat` in the background feeding a pipe makes it one, and the command ends
    // when it ends, whether or not it read its input (a background command's stdin is /dev/null unless
    // redirected: hence fd 3). Its own process group: a kill takes all of it.
    const argv = command.includes('/dev/stdin') ? ['-c', '{ cat <&3 3<&- 2>/dev/null & } 3<&0 | sh -c "$1"', 'fake-sshd', command] : ['-c', command];
    const child = spawn('sh', argv, {
      detached: true,
      cwd: join(this.root, 'home'),
      env: { PATH: `${join(this.root, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: join(this.root, 'home'), LC_ALL: 'C', VMCTX_FAKE_STATE: this.state },
      ...(this.options.uid !== undefined ? { uid: this.options.uid } : {}),
      ...(this.options.gid !== undefined ? { gid: this.options.gid } : {}),
    });
    child.stdin.on('error', () => undefined);
    let received = 0;
    let killed = false;
    const input = options.stdin ? channel.pipe(options.stdin) : channel;
    input.on('data', (chunk: Buffer) => {
      if (killed) return;
      received += chunk.length;
      if (options.killAfterBytes !== undefined && received >= options.killAfterBytes) {
        killed = true;
        process.kill(-child.pid!, 'SIGKILL');
        return;
      }
      if (!child.stdin.write(chunk)) {
        input.pause();
        child.stdin.once('drain', () => input.resume());
      }
    });
    input.on('end', () => child.stdin.end());
    child.stdout.on('data', (chunk: Buffer) => channel.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => channel.stderr.write(chunk));
    child.on('close', (code, signal) => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is gone already
      }
      if (signal) channel.exit(signal.replace(/^SIG/, ''), false, '');
      else channel.exit(code ?? 255);
      channel.end();
    });
  }
}

export function domainFile(fake: FakeController, name: string): string {
  return join(fake.state, 'domains', `${name}.xml`);
}

/** Puts a domain into the fake libvirt, as if someone had defined it. */
export function putDomain(fake: FakeController, name: string, xml: string, state = 'shut off'): void {
  writeFileSync(domainFile(fake, name), xml);
  writeFileSync(join(fake.state, 'domains', `${name}.uuid`), `${/<uuid>([^<]+)<\/uuid>/.exec(xml)?.[1] ?? ''}\n`);
  writeFileSync(join(fake.state, 'domains', `${name}.state`), `${state}\n`);
}

/** Puts a link into the fake `ip` (what `ip -j -d link show dev NAME` prints). */
export function putLink(fake: FakeController, name: string, kind: string | undefined, up: boolean): void {
  const link = { ifname: name, flags: ['BROADCAST', 'MULTICAST', ...(up ? ['UP', 'LOWER_UP'] : [])], ...(kind ? { linkinfo: { info_kind: kind } } : {}) };
  writeFileSync(join(fake.state, 'links', name), JSON.stringify([link]));
}

/** Makes the fake virsh refuse `verb` for these domains (fail-define, fail-start, fail-undefine). */
export function failVirsh(fake: FakeController, verb: 'define' | 'start' | 'undefine', ...names: string[]): void {
  writeFileSync(join(fake.state, `fail-${verb}`), names.map((n) => `${n}\n`).join(''));
}

/** A fake controller, a connection to it, and a local scratch folder: what a spec file's beforeAll opens. */
export interface FakeSession {
  fake: FakeController;
  connection: ControllerConnection;
  local: string;
}

export async function openFakeSession(prefix: string): Promise<FakeSession> {
  const fake = await FakeController.start();
  fake.trustHostKey();
  const connection = await ControllerConnection.open(fake.controller(), { readyTimeoutMs: 5000 });
  return { fake, connection, local: mkdtempSync(join(tmpdir(), prefix)) };
}

export async function closeFakeSession(session: FakeSession): Promise<void> {
  session.connection.close();
  await session.fake.close();
  rmSync(session.local, { recursive: true, force: true });
}

/**
 * For a spec that runs `vmctx` through the CLI against one in-process controller: registers the hooks that start it
 * (its host key trusted) and close it, and before each test reset it, give it the bridge br0, and make a fresh local
 * folder (named from `prefix`, removed after the test) holding a 1 MiB sparse `base.raw`; `use` is given both then.
 */
export function useCliController(prefix: string, use: (fake: FakeController, dir: string) => void): void {
  let fake: FakeController;
  beforeAll(async () => {
    fake = await FakeController.start();
    fake.trustHostKey();
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    fake.reset();
    putLink(fake, 'br0', 'bridge', true);
    const dir = mkdtempSync(join(tmpdir(), prefix));
    writeFileSync(join(dir, 'base.raw'), '');
    truncateSync(join(dir, 'base.raw'), 2 ** 20);
    use(fake, dir);
    return () => rmSync(dir, { recursive: true, force: true });
  });
}

/**
 * The head of a deployment file for the in-process controller as lc1 (useCliController's): its name, the controller,
 * and `dir`/base.raw as the image `base`; the caller adds defaults and vms.
 */
export function fakeDeploymentHead(fake: FakeController, dir: string, name: string): string {
  const c = fake.controller();
  return `name: ${name}
controllers:
  - { name: lc1, host: 127.0.0.1, port: ${c.port}, user: root, imageDir: ${c.imageDir}, identityFile: ${c.identityFile}, knownHosts: ${c.knownHosts} }
images:
  - { name: base, path: ${join(dir, 'base.raw')} }
`;
}

/** The VmctxError a promise rejects with (the test fails if it resolves, or rejects with something else). */
export async function failure(promise: Promise<unknown>): Promise<VmctxError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(VmctxError);
    return error as VmctxError;
  }
  throw new Error('expected a failure');
}
