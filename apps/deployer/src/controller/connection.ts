/**
 * One SSH connection to one controller (ssh2), and the commands run over it.
 *
 * - Host keys are checked before authentication (ssh2 accepts any key unless told not to) against the
 *   controller's known_hosts files (the deployment file's, else the ssh config's UserKnownHostsFile list) and the
 *   global ones (GlobalKnownHostsFile, else /etc/ssh/ssh_known_hosts), as ssh reads them; an unknown key is refused
 *   unless `acceptNew` (then recorded in the controller's first file only), a changed or revoked one always.
 * - Authentication: the controller's identity file, else ssh-agent, else ~/.ssh/id_ed25519, id_ecdsa, id_rsa,
 *   tried in that order as OpenSSH does.
 * - Each way of failing to connect (refused, no such host, timeout, keys refused, host key unknown, changed or
 *   revoked...) has its stable code, a message that says what happened, and a fix (`connectionFix`).
 * - Channels are bounded under sshd's MaxSessions (10 by default; "Channel open failure" past it).
 * - Keepalive is on: long uploads over a quiet link are not dropped.
 * - Every command is an argument array made into one line by the one quoting function (`remoteCommandLine`),
 *   a line that every common login shell (sh, bash, zsh, fish, csh, tcsh...) reads as that array.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { remoteCommandLine, shellQuote, VmctxError } from '@vmctx/contract';
import pLimit from 'p-limit';
import { Client, type AnyAuthMethod, type ClientChannel, type ConnectConfig } from 'ssh2';
import type { ControllerConfig } from '../config/types.js';
import { checkHostKey, GLOBAL_KNOWN_HOSTS_FILES, hostKeyError, recordHostKey } from './known-hosts.js';
import { DeployerError } from '../errors.js';

export interface ConnectOptions {
  /** Record an unknown host key instead of refusing it (never a changed or revoked one). */
  acceptNew?: boolean;
  /**
   * Read after the controller's known_hosts, never written: ssh's GlobalKnownHostsFile (default
   * /etc/ssh/ssh_known_hosts and /etc/ssh/ssh_known_hosts2; tests give their own).
   */
  globalKnownHostsFiles?: readonly string[];
  readyTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  /** Channels open at once on this connection; stay under sshd's MaxSessions (default 10). */
  maxChannels?: number;
  /** Where ~ is, for the default identities (tests). */
  homeDir?: string;
  /** Told when a host key was recorded under --accept-new. */
  onHostKeyRecorded?: (message: string) => void;
}

export interface ExecOptions {
  /** Sent to the command's standard input, then closed. */
  stdin?: string | Buffer | Readable;
  /** Give up (and close the channel) after this long. */
  timeoutMs?: number;
  /** Called with each chunk of standard output as it arrives (the result still holds all of it). */
  onStdout?: (chunk: Buffer) => void;
}

export interface ExecResult {
  code: number;
  signal?: string;
  stdout: string;
  stderr: string;
}

/**
 * The fix of each connection failure, kept apart from its message so that `check` can show it in its fix column:
 * set where the error is made, which knows the host, port, user and files it was about (a jump host's or the
 * controller's).
 */
const fixes = new WeakMap<VmctxError, string>();

function withFix(error: VmctxError, fix: string): VmctxError {
  fixes.set(error, fix);
  return error;
}

/** What to do about a failure of ControllerConnection.open; undefined for any other error. */
export function connectionFix(error: unknown): string | undefined {
  return error instanceof VmctxError ? fixes.get(error) : undefined;
}

/** Output past this is dropped from a result (a command's output is for parsing and messages, not data). */
const MAX_CAPTURE_BYTES = 64 * 1024 * 1024;
const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

export class ControllerConnection {
  private readonly limit: ReturnType<typeof pLimit>;
  private closed = false;

  private constructor(
    readonly controller: ControllerConfig,
    private readonly client: Client,
    private readonly jump: Client | undefined,
    maxChannels: number,
  ) {
    this.limit = pLimit(maxChannels);
    client.on('close', () => {
      this.closed = true;
    });
  }

  static async open(controller: ControllerConfig, options: ConnectOptions = {}): Promise<ControllerConnection> {
    let jump: Client | undefined;
    let sock: Readable | undefined;
    if (controller.proxyJump) {
      const hop = controller.proxyJump;
      const hopConfig: ControllerConfig = { ...controller, ...hop, name: `${controller.name} (ProxyJump ${hop.host})`, proxyJump: undefined };
      jump = await connectClient(hopConfig, options);
      sock = await forwardOut(jump, controller);
    }
    try {
      const client = await connectClient(controller, options, sock);
      return new ControllerConnection(controller, client, jump, options.maxChannels ?? 8);
    } catch (error) {
      jump?.end();
      throw error;
    }
  }

  /** Runs one command; a non-zero exit is a result, not an error. */
  exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    return this.limit(() => this.execNow(argv, options));
  }

  /** Runs one command and returns its standard output; a non-zero exit throws with the command's stderr. */
  async run(argv: readonly string[], options: ExecOptions = {}): Promise<string> {
    const result = await this.exec(argv, options);
    if (result.code !== 0) throw remoteCommandError(this.controller, argv, result);
    return result.stdout;
  }

  /** Opens a channel for a command whose streams the caller drives (uploads); counted under maxChannels. */
  withChannel<T>(argv: readonly string[], use: (channel: ClientChannel) => Promise<T>): Promise<T> {
    return this.limit(() => this.openChannel(argv, use));
  }

  /** True once the SSH connection ended (the controller went away, or close() was called). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Ends the connection; a command asked for after this is refused at once (SSH_CLOSED), not sent. */
  close(): void {
    this.closed = true;
    this.client.end();
    this.jump?.end();
  }

  /**
   * Opens a channel and hands it to `use` at once, inside ssh2's callback: a quick command's exit status, EOF
   * and close can arrive in the same packet batch as the channel's confirmation and are emitted synchronously,
   * so listeners attached one await later would miss them.
   */
  private openChannel<T>(argv: readonly string[], use: (channel: ClientChannel) => Promise<T>): Promise<T> {
    // What sshd hands to the login shell, whichever it is; messages show the plain POSIX form.
    const line = remoteCommandLine(argv);
    return new Promise<T>((resolve, reject) => {
      if (this.closed) {
        reject(new DeployerError('SSH_CLOSED', `${this.controller.name}: the SSH connection is closed; cannot run ${shellQuote(argv)}`, { where: this.controller.name }));
        return;
      }
      this.client.exec(line, (error, channel) => {
        if (error) {
          reject(
            new DeployerError('SSH_CHANNEL_FAILED', `${this.controller.name}: cannot open a channel for ${shellQuote(argv)}: ${error.message}`, {
              where: this.controller.name,
              cause: error,
            }),
          );
        } else use(channel).then(resolve, reject);
      });
    });
  }

  private execNow(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    return this.openChannel(argv, (channel) => new Promise<ExecResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let size = 0;
      let code: number | undefined;
      let signal: string | undefined;
      const keep = (into: Buffer[]) => (chunk: Buffer) => {
        if (size + chunk.length <= MAX_CAPTURE_BYTES) into.push(chunk);
        size += chunk.length;
      };
      const timer =
        options.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              channel.close();
              reject(
                new DeployerError('REMOTE_TIMEOUT', `${this.controller.name}: ${shellQuote(argv)} did not end within ${options.timeoutMs} ms`, {
                  where: this.controller.name,
                }),
              );
            }, options.timeoutMs);
      channel.on('data', (chunk: Buffer) => {
        keep(out)(chunk);
        options.onStdout?.(chunk);
      });
      channel.stderr.on('data', keep(err));
      channel.on('exit', (exitCode: number | null, exitSignal?: string) => {
        code = exitCode ?? undefined;
        signal = exitSignal ?? undefined;
      });
      channel.on('close', () => {
        if (timer) clearTimeout(timer);
        resolve({
          code: code ?? (signal ? 128 : 255),
          ...(signal ? { signal } : {}),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        });
      });
      const stdin = options.stdin;
      if (stdin === undefined) channel.end();
      else if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) channel.end(stdin);
      else stdin.pipe(channel);
    }));
  }
}

export function remoteCommandError(controller: ControllerConfig, argv: readonly string[], result: ExecResult): VmctxError {
  const said = result.stderr.trim() || result.stdout.trim() || '(no output)';
  return new DeployerError('REMOTE_COMMAND_FAILED', `${controller.name}: ${shellQuote(argv)} exited ${result.code}: ${said}`, { where: controller.name });
}

/** The ways to authenticate, in OpenSSH's order: the configured identity, else the agent, else the default keys. */
function authMethods(controller: ControllerConfig, home: string): AnyAuthMethod[] {
  const username = controller.user;
  if (controller.identityFile) {
    let key: Buffer;
    try {
      key = readFileSync(controller.identityFile);
    } catch (error) {
      throw withFix(
        new DeployerError('SSH_IDENTITY_UNREADABLE', `${controller.name}: cannot read identity file ${controller.identityFile}: ${(error as Error).message}`, {
          where: controller.where,
          cause: error,
        }),
        `correct identityFile (or the ssh config's IdentityFile), or make ${controller.identityFile} readable`,
      );
    }
    return [{ type: 'publickey', username, key }];
  }
  const methods: AnyAuthMethod[] = [];
  if (process.env.SSH_AUTH_SOCK) methods.push({ type: 'agent', username, agent: process.env.SSH_AUTH_SOCK });
  for (const name of DEFAULT_IDENTITIES) {
    const path = join(home, '.ssh', name);
    if (existsSync(path)) methods.push({ type: 'publickey', username, key: readFileSync(path) });
  }
  return methods;
}

function connectClient(controller: ControllerConfig, options: ConnectOptions, sock?: Readable): Promise<Client> {
  const methods = authMethods(controller, options.homeDir ?? homedir());
  if (methods.length === 0) {
    return Promise.reject(
      withFix(
        new DeployerError('SSH_NO_IDENTITY', `${controller.name}: no identityFile, no ssh-agent and no ~/.ssh/id_* key to log in with`, { where: controller.where }),
        'give identityFile: (or IdentityFile in the ssh config), start ssh-agent with the key, or make ~/.ssh/id_ed25519',
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const client = new Client();
    let hostKeyProblem: VmctxError | undefined;
    const config: ConnectConfig = {
      host: controller.host,
      port: controller.port,
      username: controller.user,
      readyTimeout: options.readyTimeoutMs ?? 20_000,
      keepaliveInterval: options.keepaliveIntervalMs ?? 10_000,
      keepaliveCountMax: 3,
      authHandler: methods,
      ...(sock ? { sock } : {}),
      hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
        verifyHostKey(controller, key, options)
          .then(() => verify(true))
          .catch((error: unknown) => {
            const problem = error instanceof VmctxError ? error : new DeployerError('SSH_HOST_KEY_CHECK_FAILED', `${controller.name}: ${String(error)}`, { where: controller.name });
            hostKeyProblem = withFix(problem, hostKeyFix(problem.code, controller));
            verify(false);
          });
      },
    };
    client.once('ready', () => {
      client.removeAllListeners('error');
      // Later errors (a dropped link) end the connection; commands in flight see their channel close.
      client.on('error', () => undefined);
      // Each command is a few small packets, each waiting for the last one's reply; with Nagle on, every one
      // of them waits for the peer's delayed ACK (~40 ms a command). Uploads send full packets either way.
      client.setNoDelay(true);
      resolve(client);
    });
    client.once('error', (error: Error & { level?: string; code?: string }) => {
      // The first error decides; ssh2 may emit more while the socket closes ("Connection lost before
      // handshake" after a timeout), and an 'error' with no listener would throw out of the process.
      client.on('error', () => undefined);
      client.end();
      reject(hostKeyProblem ?? connectError(controller, error));
    });
    client.connect(config);
  });
}

async function verifyHostKey(controller: ControllerConfig, key: Buffer, options: ConnectOptions): Promise<void> {
  const verdict = await checkHostKey({
    knownHostsFile: controller.knownHosts,
    ...(controller.moreKnownHosts === undefined ? {} : { moreKnownHostsFiles: controller.moreKnownHosts }),
    // The ssh config's GlobalKnownHostsFile wins over the default (which tests replace through the options).
    globalKnownHostsFiles: controller.globalKnownHosts ?? options.globalKnownHostsFiles ?? GLOBAL_KNOWN_HOSTS_FILES,
    host: controller.host,
    port: controller.port,
    key,
  });
  if (verdict.status === 'known') return;
  if (verdict.status === 'unknown' && options.acceptNew) {
    await recordHostKey(controller.knownHosts, controller.host, controller.port, key);
    options.onHostKeyRecorded?.(`${controller.name}: recorded ${verdict.keyType} host key ${verdict.fingerprint} of ${controller.host}:${controller.port} in ${controller.knownHosts}`);
    return;
  }
  throw hostKeyError(verdict, controller.name, controller.host, controller.port);
}

/** The fix of a host key refusal (known-hosts.ts `hostKeyError` says what and lists the commands). */
function hostKeyFix(code: string, controller: ControllerConfig): string {
  switch (code) {
    case 'SSH_HOST_KEY_UNKNOWN':
      return 'check the fingerprint on the controller, then rerun with --accept-new (or record the key with ssh-keyscan, as the message says)';
    case 'SSH_HOST_KEY_CHANGED':
      return 'only if the host key was replaced on purpose: remove the old key (ssh-keygen -R, as the message says), then rerun with --accept-new';
    case 'SSH_HOST_KEY_REVOKED':
      return 'give the controller a new host key (sshd HostKey), and list it in known_hosts';
    case 'SSH_HOST_KEY_INVALID':
      return "check the controller's sshd HostKey files";
    case 'SSH_HOST_KEY_FILE_UNREADABLE':
      return 'make that known_hosts file readable, or name another (knownHosts:, or UserKnownHostsFile in the ssh config)';
    case 'SSH_HOST_KEY_RECORD_FAILED':
      return `make ${controller.knownHosts} and its folder writable, or record the key yourself with ssh-keyscan`;
    default:
      return `compare with ssh -v -p ${controller.port} ${controller.user}@${controller.host}`;
  }
}

/** Node's codes for a host name that does not resolve (getaddrinfo). */
const NAME_NOT_FOUND = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);

/**
 * ssh2 tags its errors with a `level` (a socket error keeps Node's `code`); each way of failing becomes a stable
 * code, a message that says what happened, and its fix (connectionFix). Exported for its spec.
 */
export function connectError(controller: ControllerConfig, error: Error & { level?: string; code?: string }): VmctxError {
  const { name, host, port, user } = controller;
  const at = `${user}@${host}:${port}`;
  const options = { where: name, cause: error };
  const settings = "the file's host: and port:, or the ssh config's HostName and Port";
  if (error.level === 'client-timeout') {
    return withFix(
      new DeployerError('SSH_TIMEOUT', `${name}: no SSH handshake with ${at} in time (${error.message})`, options),
      `check that ${host} is up and that no firewall drops port ${port}; ssh -v -p ${port} ${user}@${host} shows where it stops`,
    );
  }
  if (error.level === 'client-authentication') {
    const offered = controller.identityFile ?? 'ssh-agent and ~/.ssh/id_*';
    return withFix(
      new DeployerError('SSH_AUTH_FAILED', `${name}: ${at} refused every key offered (${offered})`, options),
      `add the public key of ${offered} to ~${user}/.ssh/authorized_keys on the controller, or give the identityFile it accepts`,
    );
  }
  if (error.level === 'client-socket' || error.level === 'client-dns') {
    if (error.code === 'ECONNREFUSED') {
      return withFix(
        new DeployerError('SSH_UNREACHABLE', `${name}: ${host}:${port} refused the connection: nothing listens on that port, or a firewall rejects it`, options),
        `start sshd on ${host}, or correct the port (${settings})`,
      );
    }
    if (error.code !== undefined && NAME_NOT_FOUND.has(error.code)) {
      return withFix(
        new DeployerError('SSH_UNREACHABLE', `${name}: the host name ${host} does not resolve (${error.message})`, options),
        `correct the host name (${settings}), or make it resolve (DNS, /etc/hosts)`,
      );
    }
    return withFix(
      new DeployerError('SSH_UNREACHABLE', `${name}: cannot reach ${at}: ${error.message}`, options),
      `check the address (${settings}) and the route to it (network, firewall)`,
    );
  }
  return withFix(new DeployerError('SSH_FAILED', `${name}: SSH to ${at} failed: ${error.message}`, options), `ssh -v -p ${port} ${user}@${host} shows why`);
}

/** A TCP stream to the controller through the jump host (what `ssh -J` does with a direct-tcpip channel). */
function forwardOut(jump: Client, controller: ControllerConfig): Promise<Readable> {
  return new Promise((resolve, reject) => {
    jump.forwardOut('127.0.0.1', 0, controller.host, controller.port, (error, stream) => {
      if (error) {
        reject(
          withFix(
            new DeployerError('SSH_UNREACHABLE', `${controller.name}: the jump host cannot reach ${controller.host}:${controller.port}: ${error.message}`, { where: controller.name }),
            `check that the jump host reaches ${controller.host}:${controller.port} (ssh -J ... -p ${controller.port} ${controller.user}@${controller.host}), or correct ProxyJump`,
          ),
        );
      } else resolve(stream);
    });
  });
}
