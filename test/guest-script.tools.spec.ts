/**
 * guest-script with real shells and shellcheck (Debian tools, no root needed, no lab).
 *
 * The generated scripts run under dash, bash and busybox sh in a sandbox: VMCTX_ROOT points at a temporary
 * root folder, and PATH holds only stub commands (mount, ip, ifup, ...) that record their calls, plus links to
 * a short list of harmless busybox applets (cat, cp, grep, ...). So the scripts only ever use busybox applets,
 * as on the lab's guest, and nothing they run can touch this machine; where `unshare` works they also run in a
 * network and UTS namespace of their own.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildCdTree,
  buildContextTree,
  contextualizationScript,
  formatKeyValue,
  installInto,
  installScript,
  rcLocalWithCall,
  parseContext,
  postInstallScript,
  writeFileMap,
  type ContextInput,
  type FileMap,
  type InstallOptions,
} from '@vmctx/guest-script';
import { writeIsoFromFiles } from '@vmctx/iso-builder';
import { ipv4FromMac, macFromIpv4 } from '@vmctx/template-renderer';

/** Applets that cannot change anything outside the folders they are given. */
const SAFE_APPLETS = [
  '[', 'awk', 'basename', 'cat', 'chmod', 'cksum', 'cmp', 'cp', 'cut', 'date', 'dirname', 'echo', 'env', 'false', 'find',
  'grep', 'head', 'kill', 'ln', 'ls', 'md5sum', 'mkdir', 'mktemp', 'mv', 'od', 'printf', 'readlink', 'rm', 'rmdir',
  'sed', 'sha256sum', 'sleep', 'sort', 'stat', 'tail', 'test', 'touch', 'tr', 'true', 'wc',
];

const SHELLS: Array<{ name: string; argv: string[] }> = [
  { name: 'dash', argv: ['dash'] },
  { name: 'bash', argv: ['bash'] },
  { name: 'busybox sh', argv: ['busybox', 'sh'] },
];

let work: string;
let applets: string;
let isolate: string[] = [];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'gs-tools-'));
  const listed = new Set(spawnSync('busybox', ['--list'], { encoding: 'utf8' }).stdout.split('\n'));
  applets = join(work, 'applets');
  mkdirSync(applets);
  for (const name of SAFE_APPLETS) if (listed.has(name)) symlinkSync('/usr/bin/busybox', join(applets, name));
  // A mount, network and UTS namespace of their own, as a second fence around the stubs (root can do it).
  if (spawnSync('unshare', ['-m', '-n', '-u', 'true']).status === 0) isolate = [absolute('unshare'), '-m', '-n', '-u', '--'];
  // The sandboxes' PATH cannot find the shells themselves.
  for (const shell of SHELLS) shell.argv[0] = absolute(shell.argv[0]!);
});

function absolute(command: string): string {
  const found = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { encoding: 'utf8' }).stdout.trim();
  if (!found.startsWith('/')) throw new Error(`${command} is not installed`);
  return found;
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * spawnSync's answer without blocking: each run here waits mostly for process start-up (dozens of short applets a
 * run), so the cases of a describe run side by side (describe.concurrent, at most vitest's maxConcurrency, 5, at once).
 */
function spawnAsync(command: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeout?: number } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = options.timeout ? setTimeout(() => child.kill('SIGKILL'), options.timeout) : undefined;
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.on('error', () => undefined).end(options.input ?? '');
  });
}

const STUB_HEADER = '#!/bin/sh\nprintf \'%s\\n\' "${0##*/} $*" >>"$STUB_CALLS"\n';

/** Stub bodies (after the line that records the call). */
const STUBS: Record<string, string> = {
  // mount [-t TYPE] -o ro DEVICE DIR. The "device" is a file naming a folder (the CD's contents), "vfat:FOLDER"
  // for a file system that is not ISO 9660, or EMPTY for a drive without a medium.
  mount: `dev= ; mnt=
for a in "$@"; do dev=$mnt; mnt=$a; done
case " $* " in *" -t iso9660 "*) type=iso9660 ;; *) type=auto ;; esac
src=$(cat "$dev" 2>/dev/null) || exit 32
case $src in
  EMPTY) echo "mount: no medium found on $dev" >&2; exit 32 ;;
  vfat:*) [ "$type" = iso9660 ] && exit 32; src=\${src#vfat:} ;;
esac
[ -d "$src" ] || exit 32
cp -R "$src/." "$mnt/" || exit 32
printf '%s %s %s ro 0 0\\n' "$dev" "$mnt" "$type" >>"$VMCTX_ROOT/proc/mounts"
`,
  umount: `for a in "$@"; do mnt=$a; done
case $mnt in "$VMCTX_ROOT"/?*) ;; *) exit 1 ;; esac
rm -rf "$mnt"/* "$mnt"/.[!.]* 2>/dev/null
grep -v " $mnt " "$VMCTX_ROOT/proc/mounts" >"$VMCTX_ROOT/proc/mounts.new"
mv "$VMCTX_ROOT/proc/mounts.new" "$VMCTX_ROOT/proc/mounts"
`,
  findfs: `if [ -n "\${STUB_LABEL_DEV:-}" ] && [ "$1" = "LABEL=$STUB_LABEL" ]; then echo "$STUB_LABEL_DEV"; exit 0; fi
exit 1
`,
  // coreutils' timeout finds the command in PATH (busybox's would run its own applet of that name).
  timeout: 'exec /usr/bin/timeout "$@"\n',
  ip: '',
  hostname: '',
  chown: '',
  ifup: '',
  udhcpc: '',
  dhclient: '',
};

interface SandboxOptions {
  /**
   * Stub commands to leave out, to see what the scripts do without them (`timeout`: they use their own watchdog).
   * Under busybox sh an applet of that name is still there: Debian's busybox runs its own applets first.
   */
  without?: string[];
}

class Sandbox {
  readonly dir: string;
  readonly root: string;
  readonly bin: string;
  readonly callsFile: string;
  private readonly path: string;
  private readonly stubs = new Set<string>();

  constructor(options: SandboxOptions = {}) {
    this.dir = mkdtempSync(join(work, 'sb-'));
    this.root = join(this.dir, 'root');
    this.bin = join(this.dir, 'bin');
    this.callsFile = join(this.dir, 'calls');
    writeFileSync(this.callsFile, '');
    for (const d of ['dev', 'mnt', 'proc', 'run', 'tmp', 'var/log', 'var/lib', 'etc/network', 'root', 'home/debian', 'sys/class/net/lo', 'sys/class/net/eth0']) {
      mkdirSync(join(this.root, d), { recursive: true });
    }
    writeFileSync(join(this.root, 'dev/console'), '');
    writeFileSync(join(this.root, 'proc/mounts'), '');
    writeFileSync(join(this.root, 'sys/class/net/lo/address'), '00:00:00:00:00:00\n');
    writeFileSync(join(this.root, 'sys/class/net/eth0/address'), '52:54:00:12:34:56\n');
    writeFileSync(join(this.root, 'etc/network/interfaces'), 'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n');
    writeFileSync(join(this.root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\ndebian:x:1000:1000:Debian:/home/debian:/bin/sh\n');
    writeFileSync(join(this.root, 'etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\told-name\n');
    mkdirSync(this.bin);
    for (const [name, body] of Object.entries(STUBS)) {
      if (options.without?.includes(name)) continue;
      this.stub(name, body);
    }
    this.path = `${this.bin}:${applets}`;
  }

  stub(name: string, body: string): void {
    writeFileSync(join(this.bin, name), STUB_HEADER + body, { mode: 0o755 });
    this.stubs.add(name);
  }

  /**
   * Shell functions that call the stubs. Debian's busybox sh runs its own applet (ip, mount, ...) in preference
   * to PATH, but a function comes before an applet; dash and bash get the same prelude.
   */
  private prelude(): string {
    return [...this.stubs].map((name) => `${name}() { "$STUB_BIN/${name}" "$@"; }\n`).join('');
  }

  /** A CD drive `/dev/NAME` holding `files` (undefined: a drive without a medium). */
  async cd(name: string, files: FileMap | undefined, options: { vfat?: boolean } = {}): Promise<string> {
    const device = join(this.root, 'dev', name);
    if (files === undefined) writeFileSync(device, 'EMPTY');
    else {
      const folder = join(this.dir, `cd-${name}-${readdirSync(this.dir).length}`);
      await writeFileMap(files, folder);
      writeFileSync(device, options.vfat ? `vfat:${folder}` : folder);
    }
    return device;
  }

  write(path: string, data: string, mode = 0o644): void {
    mkdirSync(join(this.root, path, '..'), { recursive: true });
    writeFileSync(join(this.root, path), data, { mode });
  }

  read(path: string): string {
    return readFileSync(join(this.root, path), 'utf8');
  }

  has(path: string): boolean {
    return existsSync(join(this.root, path));
  }

  calls(): string[] {
    return readFileSync(this.callsFile, 'utf8').split('\n').filter((l) => l !== '');
  }

  log(): string {
    return this.has('var/log/contextualization.log') ? this.read('var/log/contextualization.log') : '';
  }

  /** Runs `script` (text) with `shell` in the sandbox; resolves its exit status, output and run time. */
  async run(shell: string[], script: string, env: Record<string, string> = {}, cwd?: string, args: string[] = []) {
    const file = join(this.dir, `script-${Date.now()}-${Math.random().toString(36).slice(2)}.sh`);
    writeFileSync(file, this.prelude() + script, { mode: 0o755 });
    const started = Date.now();
    const command = [...isolate, ...shell, file, ...args];
    const result = await spawnAsync(command[0]!, command.slice(1), {
      cwd: cwd ?? this.dir,
      timeout: 60_000,
      env: { PATH: this.path, VMCTX_ROOT: this.root, STUB_BIN: this.bin, STUB_CALLS: this.callsFile, STUB_LABEL: 'CONTEXT', HOME: this.dir, ...env },
    });
    this.calls(); // the calls file must still be readable
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, ms: Date.now() - started };
  }
}

function context(input: ContextInput) {
  return parseContext(input);
}

const STATIC: ContextInput = {
  instanceId: 'web-1',
  hostname: 'web-1.example.org',
  network: {
    method: 'static',
    address: '198.51.100.10/24',
    gateway: '198.51.100.1',
    mtu: 1400,
    nameservers: ['198.51.100.2', '198.51.100.3'],
    search: ['example.org', 'lab.example.org'],
    domain: 'example.org',
    routes: [{ to: '203.0.113.0/24', via: '198.51.100.254' }, { to: '192.0.2.0/25', via: '198.51.100.253', metric: 10 }],
  },
  ssh: { user: 'debian', authorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBf0o0 alice@example.org'] },
  files: [
    { path: '/etc/motd', content: 'hello\n', mode: '0644' },
    { path: '/etc/app/secret.key', content: 'TOP-SECRET', mode: '0600', owner: 'debian', group: 'debian' },
  ],
  scripts: [{ name: 'mark', content: '#!/bin/sh\nprintf "%s %s\\n" "$VMCTX_IP" "$HOSTNAME" >"$VMCTX_ROOT/script-ran"\n' }],
};

describe.concurrent('shellcheck', () => {
  const scripts: Record<string, string> = {
    'contextualization (defaults)': contextualizationScript(),
    'contextualization (every boot, label, iface)': contextualizationScript({ everyBoot: true, label: 'MY_CTX', interface: 'ens3', timeoutSeconds: 20 }),
    'post-install': postInstallScript(),
    'install script': installScript(),
    'install script (no systemd, no rc.local)': installScript({ systemd: 'never', createRcLocal: false }),
  };
  for (const [name, text] of Object.entries(scripts)) {
    it(`passes shellcheck -s sh: ${name}`, async () => {
      const result = await spawnAsync('shellcheck', ['-s', 'sh', '-'], { input: text });
      expect(result.stdout + result.stderr).toBe('');
      expect(result.status).toBe(0);
    });
  }
  it('parses under every shell', async () => {
    const runs = SHELLS.flatMap(({ argv }) => Object.values(scripts).map((text) => spawnAsync(argv[0]!, [...argv.slice(1), '-n'], { input: text })));
    for (const result of await Promise.all(runs)) {
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    }
  });
});

describe.concurrent.each(SHELLS)('contextualization under $name', ({ argv }) => {
  const script = contextualizationScript({ timeoutSeconds: 30, dhcpTimeoutSeconds: 10 });

  it('falls back to DHCP (ifup eth0) when there is no CD drive', async () => {
    const sb = new Sandbox();
    const run = await sb.run(argv, script);
    expect(run.status).toBe(0);
    expect(sb.calls()).toContain('ifup eth0');
    expect(sb.calls().some((c) => c.startsWith('mount'))).toBe(false);
    expect(sb.log()).toMatch(/no context CD \(no CD drive\); falling back to DHCP/);
    expect(sb.read('dev/console')).toMatch(/vmctx: network: ifup eth0/);
  });

  it('DHCP through systemd-networkd: the folder and file it writes are readable by networkd (not 0700)', async () => {
    const sb = new Sandbox({ without: ['ifup', 'dhclient', 'udhcpc'] });
    // No ifupdown stanza for eth0 (busybox sh has an ifup applet of its own), a networkd guest.
    sb.write('etc/network/interfaces', 'auto lo\niface lo inet loopback\n');
    mkdirSync(join(sb.root, 'run/systemd/netif'), { recursive: true });
    sb.stub('networkctl', 'exit 0\n');
    expect((await sb.run(argv, script)).status).toBe(0);
    expect(sb.log()).toMatch(/DHCP on eth0 through systemd-networkd/);
    expect(statSync(join(sb.root, 'run/systemd/network')).mode & 0o777).toBe(0o755);
    expect(statSync(join(sb.root, 'run/systemd/network/99-vmctx-dhcp.network')).mode & 0o777).toBe(0o644);
  });

  it('DHCP through NetworkManager: a /run profile, 0600 in a 0755 folder under umask 077, brought up through nmcli', async () => {
    const sb = new Sandbox({ without: ['ifup', 'dhclient', 'udhcpc'] });
    sb.write('etc/network/interfaces', 'auto lo\niface lo inet loopback\n');
    mkdirSync(join(sb.root, 'etc/NetworkManager/system-connections'), { recursive: true });
    sb.stub('NetworkManager', 'exit 0\n');
    sb.stub('nmcli', 'exit 0\n');
    // NetworkManager runs: its pid file names a live process (this test's own).
    sb.write('run/NetworkManager/NetworkManager.pid', `${process.pid}\n`);
    expect((await sb.run(argv, script)).status).toBe(0);
    expect(sb.log()).toMatch(/DHCP on eth0 through NetworkManager/);
    const profile = 'run/NetworkManager/system-connections/vmctx-dhcp-eth0.nmconnection';
    // NetworkManager ignores a keyfile that others may read; the folder is 0755 as NetworkManager makes it.
    expect(statSync(join(sb.root, profile)).mode & 0o777).toBe(0o600);
    expect(statSync(join(sb.root, 'run/NetworkManager/system-connections')).mode & 0o777).toBe(0o755);
    expect(sb.read(profile)).toMatch(/^id=vmctx-dhcp-eth0\ntype=ethernet\ninterface-name=eth0\n/m);
    expect(sb.read(profile)).toMatch(/\[ipv4\]\nmethod=auto\n/);
    expect(sb.calls()).toEqual(expect.arrayContaining(['nmcli connection reload', 'nmcli connection up id vmctx-dhcp-eth0 ifname eth0']));
    expect(sb.has(`${profile}.vmctx-new`)).toBe(false);
  });

  it('a static context on a NetworkManager guest: a persistent 0600 profile NetworkManager takes when it starts', async () => {
    const sb = new Sandbox({ without: ['ifup', 'dhclient', 'udhcpc'] });
    sb.write('etc/network/interfaces', 'auto lo\niface lo inet loopback\n');
    sb.stub('NetworkManager', 'exit 0\n');
    // The folder is missing (a minimal image): it is made 0755, as NetworkManager makes it.
    mkdirSync(join(sb.root, 'etc/NetworkManager'), { recursive: true });
    await sb.cd('sr0', buildContextTree(context(STATIC)));
    expect((await sb.run(argv, script)).status).toBe(0);
    const profile = 'etc/NetworkManager/system-connections/vmctx-eth0.nmconnection';
    expect(sb.log()).toMatch(new RegExp(`NetworkManager: .*/${profile} written`));
    expect(statSync(join(sb.root, profile)).mode & 0o777).toBe(0o600);
    expect(statSync(join(sb.root, 'etc/NetworkManager/system-connections')).mode & 0o777).toBe(0o755);
    const text = sb.read(profile);
    expect(text).toContain('[ethernet]\nmtu=1400\n');
    expect(text).toContain('method=manual\naddress1=198.51.100.10/24,198.51.100.1\n');
    expect(text).toContain('dns=198.51.100.2;198.51.100.3;\ndns-search=example.org;lab.example.org;\n');
    expect(text).toContain('route1=203.0.113.0/24,198.51.100.254\n');
    expect(text).toContain('route2=192.0.2.0/25,198.51.100.253,10\n');
    // NetworkManager does not run yet and has no nmcli here: nothing to bring up now, and nothing fails.
    expect(sb.calls().some((c) => c.startsWith('nmcli'))).toBe(false);
  });

  it('falls back to DHCP when the drive has no medium', async () => {
    const sb = new Sandbox();
    await sb.cd('sr0', undefined);
    expect((await sb.run(argv, script)).status).toBe(0);
    expect(sb.calls()).toContain('ifup eth0');
    expect(sb.log()).toMatch(/no medium or no ISO 9660 file system in .*\/dev\/sr0/);
  });

  it('falls back to DHCP when the CD has no post-install, and unmounts it', async () => {
    const sb = new Sandbox();
    await sb.cd('sr0', { 'common/network': { data: "GATEWAY='198.51.100.1'\n", mode: 0o444 } });
    expect((await sb.run(argv, script, { STUB_LABEL_DEV: join(sb.root, 'dev/sr0') })).status).toBe(0);
    expect(sb.log()).toMatch(/has no post-install; falling back to DHCP/);
    expect(sb.calls()).toContain('ifup eth0');
    expect(readdirSync(join(sb.root, 'mnt'))).toEqual([]);
    expect(sb.read('proc/mounts')).toBe('');
  });

  it('uses dhclient, else udhcpc, when ifupdown has no stanza for the interface', async () => {
    const noStanza = 'auto lo\niface lo inet loopback\n';
    const sb = new Sandbox({ without: ['ifup', 'dhclient'] });
    sb.write('etc/network/interfaces', noStanza);
    await sb.run(argv, script);
    expect(sb.calls()).toContain('udhcpc -i eth0 -n -q -t 5 -T 3');
    const withDhclient = new Sandbox({ without: ['ifup'] });
    withDhclient.write('etc/network/interfaces', noStanza);
    await withDhclient.run(argv, script);
    expect(withDhclient.calls()).toContain('dhclient -1 eth0');
    expect(withDhclient.calls().some((c) => c.startsWith('udhcpc'))).toBe(false);
  });

  it('runs post-install from the CD on /mnt, records the instance, and unmounts', async () => {
    const sb = new Sandbox();
    await sb.cd('sr0', buildContextTree(context(STATIC)));
    const run = await sb.run(argv, script);
    expect(run.status).toBe(0);
    const log = sb.log();
    expect(log).toMatch(/context CD .*\/dev\/sr0 mounted on .*\/root\/mnt/);
    expect(log).toMatch(/post-install done \(instance web-1\)/);
    // Read-only, and no set-id program, device or executable on it (post-install runs through its interpreter).
    expect(sb.calls().filter((c) => c.startsWith('mount '))).toEqual([`mount -t iso9660 -o ro,nosuid,nodev,noexec ${sb.root}/dev/sr0 ${sb.root}/mnt`]);
    expect(sb.calls()).toContain('ip addr add 198.51.100.10/24 broadcast 198.51.100.255 dev eth0');
    expect(sb.calls()).not.toContain('ifup eth0');
    expect(sb.read('var/lib/vmctx/instance-id')).toBe('web-1\n');
    expect(statSync(join(sb.root, 'var/lib/vmctx')).mode & 0o777).toBe(0o700);
    expect(statSync(join(sb.root, 'var/log/contextualization.log')).mode & 0o077).toBe(0);
    expect(readdirSync(join(sb.root, 'mnt'))).toEqual([]);
    expect(sb.read('proc/mounts')).toBe('');
    // The serial console saw post-install's own lines.
    expect(sb.read('dev/console')).toMatch(/post-install: address 198\.51\.100\.10\/24 on eth0/);
  });

  it('skips an instance it applied already, and applies a CD with another id', async () => {
    const sb = new Sandbox();
    await sb.cd('sr0', buildContextTree(context(STATIC)));
    await sb.run(argv, script);
    const first = sb.calls().length;
    await sb.run(argv, script);
    const second = sb.calls().slice(first);
    expect(sb.log()).toMatch(/instance web-1 is already contextualized; bringing up its network/);
    expect(second.some((c) => c.startsWith('ip addr add'))).toBe(false);
    expect(second).toContain('ifup eth0');
    await sb.cd('sr0', buildContextTree(context({ ...STATIC, instanceId: 'web-1-v2' })));
    await sb.run(argv, script);
    expect(sb.log()).toMatch(/post-install done \(instance web-1-v2\)/);
    expect(sb.read('var/lib/vmctx/instance-id')).toBe('web-1-v2\n');
  });

  it('runs at every boot when told to', async () => {
    const sb = new Sandbox();
    await sb.cd('sr0', buildContextTree(context(STATIC)));
    await sb.run(argv, script, { VMCTX_EVERY_BOOT: '1' });
    await sb.run(argv, script, { VMCTX_EVERY_BOOT: '1' });
    expect(sb.calls().filter((c) => c.startsWith('ip addr add'))).toHaveLength(2);
    const generated = new Sandbox();
    await generated.cd('sr0', buildContextTree(context(STATIC)));
    const everyBoot = contextualizationScript({ everyBoot: true });
    await generated.run(argv, everyBoot);
    await generated.run(argv, everyBoot);
    expect(generated.calls().filter((c) => c.startsWith('ip addr add'))).toHaveLength(2);
  });

  it('mounts on a private folder when /mnt is in use, and removes it', async () => {
    const sb = new Sandbox();
    sb.write('mnt/someone-elses-file', 'x');
    await sb.cd('sr0', buildContextTree(context(STATIC)));
    await sb.run(argv, script);
    expect(sb.log()).toMatch(/mounted on .*\/root\/run\/vmctx-cd\./);
    expect(sb.log()).toMatch(/post-install done/);
    // Only the boot's mark stays in /run (a re-apply waits for it): no mount folder, no lock.
    expect(readdirSync(join(sb.root, 'run'))).toEqual(['vmctx-booted']);
    expect(sb.read('mnt/someone-elses-file')).toBe('x');
  });

  it('finds the CD by its label before the device list, whatever its file system', async () => {
    const sb = new Sandbox();
    await sb.cd('sr0', undefined);
    const labelled = await sb.cd('vdc', buildContextTree(context(STATIC)), { vfat: true });
    await sb.run(argv, script, { STUB_LABEL_DEV: labelled });
    expect(sb.calls()).toContain(`findfs LABEL=CONTEXT`);
    expect(sb.log()).toMatch(/context CD .*\/dev\/vdc \(label CONTEXT\) mounted/);
    expect(sb.log()).toMatch(/post-install done/);
  });

  it('reads the label from util-linux blkid when it is there', async () => {
    const sb = new Sandbox();
    const labelled = await sb.cd('sdc', buildContextTree(context(STATIC)));
    sb.stub('blkid', `[ "$1" = -L ] && [ "$2" = MY_LABEL ] && echo "${labelled}"\n`);
    await sb.run(argv, contextualizationScript({ label: 'MY_LABEL' }));
    expect(sb.calls()).toContain('blkid -L MY_LABEL');
    expect(sb.log()).toMatch(/sdc \(label MY_LABEL\) mounted/);
  });

  it('stops a post-install that hangs, with timeout or with its own watchdog, and goes on', async () => {
    // Without timeout the scripts use their own watchdog. Debian's busybox sh always has its timeout applet.
    for (const without of argv[0]!.endsWith('busybox') ? [[]] : [[], ['timeout']]) {
      const sb = new Sandbox({ without });
      await sb.cd('sr0', { 'post-install': { data: '#!/bin/sh\necho started\nsleep 600\n', mode: 0o755 }, 'instance-id': { data: 'hang\n', mode: 0o444 } });
      const run = await sb.run(argv, contextualizationScript({ timeoutSeconds: 2 }));
      expect(run.status).toBe(0);
      expect(run.ms).toBeLessThan(20_000);
      expect(sb.log()).toMatch(/post-install: started/);
      expect(sb.log()).toMatch(/post-install stopped after 2s; it runs again at next boot/);
      expect(sb.has('var/lib/vmctx/instance-id')).toBe(false);
      expect(sb.read('proc/mounts')).toBe('');
    }
  });

  it("applies a Snooze-style CD once, telling it apart by a checksum, and runs a #!/bin/bash post-install with sh when bash is missing", async () => {
    const sb = new Sandbox();
    const snooze: FileMap = {
      'post-install': { data: '#!/no/such/bash\necho "snooze post-install in $(pwd)" >"$VMCTX_ROOT/snooze-ran"\n', mode: 0o755 },
      'common/network': { data: 'GATEWAY=192.0.2.1\nNETMASK=255.255.255.0\n', mode: 0o644 },
      'common/routes': { data: '', mode: 0o644 },
    };
    await sb.cd('sr0', snooze);
    await sb.run(argv, script);
    expect(sb.read('snooze-ran')).toMatch(/snooze post-install in .*\/root\/mnt/);
    const id = sb.read('var/lib/vmctx/instance-id').trim();
    expect(id).toMatch(/^sha256sum-[0-9a-f]{64}$/);
    await sb.run(argv, script);
    expect(sb.log()).toMatch(/is already contextualized/);
    await sb.cd('sr0', { ...snooze, 'common/network': { data: 'GATEWAY=192.0.2.254\n', mode: 0o644 } });
    await sb.run(argv, script);
    expect(sb.read('var/lib/vmctx/instance-id').trim()).not.toBe(id);
  });

  it('reports a failing post-install and runs it again at next boot', async () => {
    const sb = new Sandbox();
    await sb.cd('sr0', { 'post-install': { data: 'echo oops >&2\nexit 3\n', mode: 0o755 }, 'instance-id': { data: 'bad\n', mode: 0o444 } });
    await sb.run(argv, script);
    await sb.run(argv, script);
    expect(sb.log().match(/post-install failed with status 3/g)).toHaveLength(2);
    expect(sb.log()).toMatch(/post-install: oops/);
  });

  // Issue 20: a CD with both layouts is applied once. cloud-init applies it where it is installed, enabled and finds
  // it (label cidata or CIDATA); vmctx's script then stands down. Elsewhere the script applies it as always.
  it.each([
    ['cloud-init installed and enabled, CD labelled cidata', { label: 'cidata' }, true],
    ['cloud-init installed and enabled, CD labelled CIDATA', { label: 'CIDATA' }, true],
    ['no cloud-init in the guest', { label: 'cidata', noCloudInit: true }, false],
    ['cloud-init disabled by /etc/cloud/cloud-init.disabled', { label: 'cidata', disabledFile: true }, false],
    ['cloud-init disabled on the kernel command line', { label: 'cidata', cmdline: 'ro quiet cloud-init=disabled' }, false],
    ['a CD labelled CONTEXT, which cloud-init does not read', { label: 'CONTEXT' }, false],
  ])('a CD with both layouts, %s (%j): vmctx stands down: %s', async (_name, guest: { label: string; noCloudInit?: boolean; disabledFile?: boolean; cmdline?: string }, standsDown) => {
    const sb = new Sandbox();
    if (!guest.noCloudInit) sb.write('usr/bin/cloud-init', '#!/bin/sh\n', 0o755);
    if (guest.disabledFile) sb.write('etc/cloud/cloud-init.disabled', '');
    sb.write('proc/cmdline', `${guest.cmdline ?? 'ro quiet'}\n`);
    // blkid DEVICE prints its label as util-linux and busybox do; -L (by label) finds nothing: the CD is probed.
    sb.stub('blkid', `case \${1:-} in /*) printf '%s: LABEL="%s" TYPE="iso9660"\\n' "$1" "${guest.label}" ;; *) exit 2 ;; esac\n`);
    await sb.cd('sr0', buildCdTree(context(STATIC), 'both'));
    const run = await sb.run(argv, script);
    expect(run.status).toBe(0);
    const ranPostInstall = sb.calls().some((c) => c.startsWith('ip addr add'));
    expect(ranPostInstall).toBe(!standsDown);
    expect(sb.log().includes('vmctx stands down')).toBe(standsDown);
    if (standsDown) {
      expect(sb.log()).toMatch(new RegExp(`cloud-init is installed and enabled, and the CD \\(label ${guest.label}\\) carries its NoCloud seed: cloud-init applies it, vmctx stands down`));
      expect(sb.has('var/lib/vmctx/instance-id')).toBe(false);
      // No DHCP of ours either: the network is cloud-init's.
      expect(sb.calls()).not.toContain('ifup eth0');
    } else {
      expect(sb.read('var/lib/vmctx/instance-id')).toBe('web-1\n');
    }
    expect(sb.read('proc/mounts')).toBe('');
  });
});

// Issue 21: an edited context CD swapped into a running guest (virsh change-media) is applied without a reboot.
describe.concurrent.each(SHELLS)('an edited context without a reboot, under $name', ({ argv }) => {
  const script = contextualizationScript({ timeoutSeconds: 30, dhcpTimeoutSeconds: 10 });
  const OWN = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOwnOwn debian@laptop';
  const ALICE = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBf0o0 alice@example.org';
  const BOB = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBobBob bob@example.org';
  /** A script that appends its name (and its version) to /script-runs, so that each run is counted. */
  const counting = (name: string, version: number) => ({ name, content: `#!/bin/sh\necho ${name}-${version} >>"$VMCTX_ROOT/script-runs"\n` });
  const FIRST: ContextInput = {
    ...STATIC,
    instanceId: 'web-1',
    // The user's own key is also in the first context: it was there before vmctx, so it is never removed.
    ssh: { user: 'debian', authorizedKeys: [ALICE, OWN] },
    scripts: [counting('same', 1), counting('edited', 1)],
  };
  const SECOND: ContextInput = {
    ...STATIC,
    instanceId: 'web-1-v2',
    hostname: 'web-2.example.org',
    network: {
      method: 'static',
      address: '198.51.100.20/24',
      gateway: '198.51.100.1',
      mtu: 1400,
      nameservers: ['198.51.100.9'],
      routes: [{ to: '203.0.113.0/24', via: '198.51.100.254' }],
    },
    ssh: { user: 'debian', authorizedKeys: [BOB] },
    scripts: [counting('same', 1), counting('edited', 2)],
  };

  /** A guest booted with FIRST (the user's own key there before), its CD then swapped for `next`. */
  async function bootedThenSwapped(next: ContextInput, prepare?: (sb: Sandbox) => void) {
    const sb = new Sandbox();
    sb.write('home/debian/.ssh/authorized_keys', `${OWN}\n`, 0o600);
    prepare?.(sb);
    await sb.cd('sr0', buildContextTree(context(FIRST)));
    expect((await sb.run(argv, script)).status).toBe(0);
    expect(sb.read('var/lib/vmctx/instance-id')).toBe('web-1\n');
    const before = sb.calls().length;
    await sb.cd('sr0', buildContextTree(context(next)));
    const run = await sb.run(argv, script, {}, undefined, ['--reapply']);
    expect(run.status).toBe(0);
    return { sb, calls: sb.calls().slice(before) };
  }

  it('applies what changed: host name, keys added and removed (the user\'s own kept), DNS, address, routes; logged as at boot', async () => {
    const { sb, calls } = await bootedThenSwapped(SECOND);
    // The console says it as the first boot does, with the instance id (deploy --wait waits for that line).
    expect(sb.read('dev/console')).toMatch(/vmctx: instance web-1-v2 replaces web-1: applying it without a reboot\n/);
    expect(sb.read('dev/console')).toMatch(/vmctx: post-install done \(instance web-1-v2\)\n/);
    expect(sb.read('var/lib/vmctx/instance-id')).toBe('web-1-v2\n');
    expect(sb.read('etc/hostname')).toBe('web-2.example.org\n');
    expect(sb.read('etc/hosts')).toMatch(/^127\.0\.1\.1\tweb-2\.example\.org web-2$/m);
    expect(calls).toContain('hostname web-2.example.org');
    expect(sb.read('home/debian/.ssh/authorized_keys').split('\n').filter(Boolean).sort()).toEqual([BOB, OWN].sort());
    expect(statSync(join(sb.root, 'home/debian/.ssh/authorized_keys')).mode & 0o777).toBe(0o600);
    expect(sb.read('etc/resolv.conf')).toMatch(/^nameserver 198\.51\.100\.9$/m);
    expect(sb.read('etc/resolv.conf')).not.toMatch(/198\.51\.100\.2/);
    expect(calls).toContain('ip addr add 198.51.100.20/24 broadcast 198.51.100.255 dev eth0');
    expect(sb.read('etc/network/interfaces')).toMatch(/address 198\.51\.100\.20\n/);
    // The route the new context dropped is deleted; the one it keeps is replaced in place.
    expect(calls).toContain('ip route del 192.0.2.0/25 via 198.51.100.253 dev eth0 metric 10');
    expect(calls).toContain('ip route replace 203.0.113.0/24 via 198.51.100.254 dev eth0');
    // No DHCP of ours on a re-apply: the network is the context's.
    expect(calls).not.toContain('ifup eth0');
    expect(sb.read('proc/mounts')).toBe('');
  });

  it("gives the guest its own resolver and MTU back when the edited context no longer gives them (a link stays a link)", async () => {
    // No name servers, search list, domain or MTU any more.
    const THIRD: ContextInput = { ...SECOND, instanceId: 'web-1-v3', network: { method: 'static', address: '198.51.100.20/24', gateway: '198.51.100.1' } };
    const own = (sb: Sandbox) => {
      sb.write('etc/resolv.conf', 'nameserver 10.0.0.53\n');
      sb.write('sys/class/net/eth0/mtu', '1500\n');
    };
    const { sb, calls } = await bootedThenSwapped(THIRD, own);
    expect(sb.read('etc/resolv.conf')).toBe('nameserver 10.0.0.53\n');
    expect(sb.log()).toMatch(/resolv\.conf: the context gives no resolver; the guest's own is back/);
    expect(calls).toContain('ip link set dev eth0 mtu 1500');
    expect(sb.log()).toMatch(/MTU 1500 on eth0: the guest's own, as the context gives none/);
    // systemd-resolved's link comes back as the link.
    const resolved = (sb: Sandbox) => symlinkSync('../run/systemd/resolve/stub-resolv.conf', join(sb.root, 'etc/resolv.conf'));
    const linked = await bootedThenSwapped(THIRD, resolved);
    expect(readlinkSync(join(linked.sb.root, 'etc/resolv.conf'))).toBe('../run/systemd/resolve/stub-resolv.conf');
    // A context that keeps its resolver keeps vmctx's file (SECOND: one name server).
    const kept = await bootedThenSwapped(SECOND, own);
    expect(kept.sb.read('etc/resolv.conf')).toMatch(/^nameserver 198\.51\.100\.9$/m);
  });

  it('runs a script again only when its content changed', async () => {
    const { sb } = await bootedThenSwapped(SECOND);
    expect(sb.read('script-runs')).toBe('same-1\nedited-1\nedited-2\n');
    expect(sb.log()).toMatch(/post-install: script 01-same unchanged since it last ran; not run again/);
  });

  it('changes nothing for the same CD again, and stands down for cloud-init, which applies an edited CD at its next boot only', async () => {
    const { sb } = await bootedThenSwapped(FIRST);
    expect(sb.log()).toMatch(/vmctx: instance web-1 is already contextualized; the new medium changes nothing/);
    expect(sb.calls().filter((c) => c.startsWith('ip addr add'))).toHaveLength(1);
    expect(sb.read('script-runs')).toBe('same-1\nedited-1\n');
    sb.write('usr/bin/cloud-init', '#!/bin/sh\n', 0o755);
    sb.stub('blkid', `case \${1:-} in /*) printf '%s: LABEL="cidata" TYPE="iso9660"\\n' "$1" ;; *) exit 2 ;; esac\n`);
    await sb.cd('sr0', buildCdTree(context(SECOND), 'both'));
    await sb.run(argv, script, {}, undefined, ['--reapply']);
    expect(sb.log()).toMatch(/carries its NoCloud seed: cloud-init applies an edited context at its next boot only; vmctx stands down/);
    expect(sb.read('var/lib/vmctx/instance-id')).toBe('web-1\n');
    expect(sb.read('etc/hostname')).toBe('web-1.example.org\n');
  });

  it('applies nothing and starts no DHCP when the new medium is not a context CD, or before the boot\'s own run', async () => {
    const early = new Sandbox();
    await early.cd('sr0', buildContextTree(context(SECOND)));
    expect((await early.run(argv, script, {}, undefined, ['--reapply'])).status).toBe(0);
    expect(early.log()).toMatch(/the boot's own run has not finished yet: it applies the CD; nothing applied/);
    expect(early.has('var/lib/vmctx/instance-id')).toBe(false);
    const sb = new Sandbox();
    // The boot's run has been (its mark in /run).
    sb.write('run/vmctx-booted', '');
    await sb.cd('sr0', undefined);
    expect((await sb.run(argv, script, {}, undefined, ['--reapply'])).status).toBe(0);
    expect(sb.log()).toMatch(/no context CD on the new medium \(.*\); nothing applied/);
    expect(sb.calls()).not.toContain('ifup eth0');
  });

  it("udev's hand-off returns at once: to vmctx-reapply.service under systemd, else to a detached job that applies the CD", async () => {
    const sb = new Sandbox();
    mkdirSync(join(sb.root, 'run/systemd/system'), { recursive: true });
    sb.stub('systemctl', 'exit 0\n');
    await sb.cd('sr0', buildContextTree(context(SECOND)));
    expect((await sb.run(argv, script, {}, undefined, ['--media-changed'])).status).toBe(0);
    expect(sb.calls()).toContain('systemctl --no-block start vmctx-reapply.service');
    // Nothing else: no CD read, no post-install (the service does that).
    expect(sb.calls().filter((c) => !c.startsWith('timeout ') && !c.startsWith('systemctl '))).toEqual([]);
    expect(sb.log()).toMatch(/a new medium in the CD drive: vmctx-reapply\.service applies it/);
    const sysv = new Sandbox();
    sysv.write('run/vmctx-booted', '');
    await sysv.cd('sr0', buildContextTree(context(SECOND)));
    // The job's post-install takes 8 s (its hostname): the hand-off has returned before the job is done.
    sysv.stub('hostname', 'sleep 8\n');
    const run = await sysv.run(argv, script, {}, undefined, ['--media-changed']);
    expect(run.status).toBe(0);
    expect(sysv.log()).not.toMatch(/post-install done/);
    expect(sysv.log()).toMatch(/a new medium in the CD drive: a detached job \(pid \d+\) applies it/);
    const deadline = Date.now() + 60_000;
    while (!/post-install done \(instance web-1-v2\)/.test(sysv.log()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sysv.read('dev/console')).toMatch(/vmctx: post-install done \(instance web-1-v2\)/);
  });
});

describe.concurrent.each(SHELLS)('post-install under $name', ({ argv }) => {
  async function runPostInstall(sb: Sandbox, files: FileMap, env: Record<string, string> = {}) {
    const cd = join(sb.dir, 'cd');
    await writeFileMap(files, cd);
    return sb.run(argv, files['post-install'] ? String(files['post-install'].data) : postInstallScript(), { VMCTX_CONTEXT_DIR: cd, ...env }, cd);
  }

  it('applies a static context now and persistently', async () => {
    const sb = new Sandbox();
    const run = await runPostInstall(sb, buildContextTree(context(STATIC)));
    expect(run.stdout).toMatch(/post-install done$/m);
    expect(run.status).toBe(0);
    const calls = sb.calls();
    expect(calls).toEqual(
      expect.arrayContaining([
        'ip link set dev eth0 up',
        'ip link set dev eth0 mtu 1400',
        'ip addr add 198.51.100.10/24 broadcast 198.51.100.255 dev eth0',
        'ip route replace default via 198.51.100.1 dev eth0',
        'ip route replace 203.0.113.0/24 via 198.51.100.254 dev eth0',
        'ip route replace 192.0.2.0/25 via 198.51.100.253 dev eth0 metric 10',
        'hostname web-1.example.org',
      ]),
    );
    expect(sb.read('etc/network/interfaces')).toBe(
      '# Written by vmctx post-install; the previous file is interfaces.vmctx-orig.\n' +
        'auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n' +
        '    address 198.51.100.10\n    netmask 255.255.255.0\n    gateway 198.51.100.1\n    mtu 1400\n' +
        '    up ip route replace 203.0.113.0/24 via 198.51.100.254 dev eth0\n' +
        '    up ip route replace 192.0.2.0/25 via 198.51.100.253 dev eth0 metric 10\n',
    );
    expect(sb.read('etc/network/interfaces.vmctx-orig')).toMatch(/iface eth0 inet dhcp/);
    expect(sb.read('etc/resolv.conf')).toBe(
      '# Written by vmctx post-install.\ndomain example.org\nsearch example.org lab.example.org\nnameserver 198.51.100.2\nnameserver 198.51.100.3\n',
    );
    expect(sb.read('etc/hostname')).toBe('web-1.example.org\n');
    expect(sb.read('etc/hosts')).toBe('127.0.0.1\tlocalhost\n127.0.1.1\tweb-1.example.org web-1\n');
    expect(sb.read('home/debian/.ssh/authorized_keys')).toBe('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBf0o0 alice@example.org\n');
    expect(statSync(join(sb.root, 'home/debian/.ssh')).mode & 0o777).toBe(0o700);
    expect(statSync(join(sb.root, 'home/debian/.ssh/authorized_keys')).mode & 0o777).toBe(0o600);
    expect(calls).toContain(`chown 1000:1000 ${sb.root}/home/debian/.ssh ${sb.root}/home/debian/.ssh/authorized_keys`);
    expect(sb.read('etc/motd')).toBe('hello\n');
    expect(statSync(join(sb.root, 'etc/motd')).mode & 0o777).toBe(0o644);
    expect(sb.read('etc/app/secret.key')).toBe('TOP-SECRET');
    expect(statSync(join(sb.root, 'etc/app/secret.key')).mode & 0o777).toBe(0o600);
    expect(calls.some((c) => /^chown debian:debian .*\/etc\/app\/\.vmctx-new\.\d+$/.test(c))).toBe(true);
    // The user's script ran last, with the network's values in its environment.
    expect(sb.read('script-ran')).toBe('198.51.100.10 web-1.example.org\n');
    // Running it again adds no key twice.
    const again = await sb.run(argv, postInstallScript(), { VMCTX_CONTEXT_DIR: join(sb.dir, 'cd') }, join(sb.dir, 'cd'));
    expect(again.status).toBe(0);
    expect(sb.read('home/debian/.ssh/authorized_keys').split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('writes systemd-networkd configuration where the guest has it', async () => {
    const sb = new Sandbox();
    mkdirSync(join(sb.root, 'etc/systemd/network'), { recursive: true });
    await runPostInstall(sb, buildContextTree(context(STATIC)));
    expect(sb.read('etc/systemd/network/10-vmctx.network')).toBe(
      '# Written by vmctx post-install.\n[Match]\nName=eth0\n\n[Link]\nMTUBytes=1400\n\n[Network]\nAddress=198.51.100.10/24\n' +
        'Gateway=198.51.100.1\nDNS=198.51.100.2\nDNS=198.51.100.3\nDomains=example.org lab.example.org\n\n' +
        '[Route]\nDestination=203.0.113.0/24\nGateway=198.51.100.254\n\n[Route]\nDestination=192.0.2.0/25\nGateway=198.51.100.253\nMetric=10\n',
    );
  });

  it("decodes the address from the MAC as template-renderer's ipv4FromMac does, on the NIC with the prefix", async () => {
    const sb = new Sandbox();
    const mac = macFromIpv4('198.51.100.23');
    mkdirSync(join(sb.root, 'sys/class/net/eth1'));
    writeFileSync(join(sb.root, 'sys/class/net/eth1/address'), `${mac}\n`);
    const tree = buildContextTree(context({ network: { method: 'ip-from-mac', prefix: 24, gateway: '198.51.100.1' } }));
    const run = await runPostInstall(sb, tree);
    expect(run.status).toBe(0);
    const ip = ipv4FromMac(mac);
    expect(sb.calls()).toContain(`ip addr add ${ip}/24 broadcast 198.51.100.255 dev eth1`);
    expect(sb.read('etc/hostname')).toBe(`vm-${ip.replaceAll('.', '-')}\n`);
  });

  it("reads Snooze's common/network and routes (address in the MAC, route add -net lines)", async () => {
    const sb = new Sandbox();
    writeFileSync(join(sb.root, 'sys/class/net/eth0/address'), '54:56:c0:a8:7a:0b\n');
    const run = await runPostInstall(sb, {
      'post-install': { data: postInstallScript(), mode: 0o755 },
      'common/network': {
        data: 'GATEWAY=192.168.122.1\nNETWORK=192.168.122.0\nBROADCAST=192.168.122.255\nNETMASK=255.255.255.0\nNAMESERVER=192.168.122.1\nDOMAIN=\nSEARCH=\n',
        mode: 0o644,
      },
      'common/routes': { data: 'up route add -net 10.0.0.0 netmask 255.0.0.0 dev eth0\nup route del default\nup route add default gw 192.168.122.254\n', mode: 0o644 },
    });
    expect(run.status).toBe(0);
    expect(sb.calls()).toEqual(
      expect.arrayContaining([
        'ip addr add 192.168.122.11/24 broadcast 192.168.122.255 dev eth0',
        'ip route replace default via 192.168.122.1 dev eth0',
        'ip route replace 10.0.0.0/8 dev eth0',
        'ip route del default dev eth0',
        'ip route replace default via 192.168.122.254 dev eth0',
      ]),
    );
    expect(sb.read('etc/resolv.conf')).toMatch(/^nameserver 192\.168\.122\.1$/m);
    expect(sb.read('etc/hostname')).toBe('vm-192-168-122-11\n');
  });

  it('runs no injected command from hostile network values, and reports them', async () => {
    const sb = new Sandbox();
    const marker = (n: number) => `touch ${sb.dir}/PWNED${n}`;
    // Values the schema refuses, as a hand-made CD could carry them (formatKeyValue quotes them, as ours are).
    const network = (entries: Record<string, string>): FileMap => ({
      'post-install': { data: postInstallScript(), mode: 0o755 },
      'common/network': { data: formatKeyValue({ METHOD: 'static', IP: '198.51.100.9', PREFIX: '24', ...entries }), mode: 0o444 },
    });
    const runs = [
      await runPostInstall(sb, network({ IP: `198.51.100.9$(${marker(1)})`, HOSTNAME: `h$(${marker(2)})` }), { VMCTX_CONTEXT_DIR: join(sb.dir, 'cd') }),
    ];
    const again = async (files: FileMap) => {
      const cd = join(sb.dir, `cd${runs.length}`);
      await writeFileMap(files, cd);
      runs.push(await sb.run(argv, postInstallScript(), { VMCTX_CONTEXT_DIR: cd }, cd));
    };
    await again(network({ IFACE: `eth0';${marker(3)}'` }));
    await again(network({ DOMAIN: `\`${marker(4)}\``, SEARCH: `a.org;${marker(5)}`, NAMESERVERS: `198.51.100.2 $(${marker(6)})`, HOSTNAME: `-${marker(7)}` }));
    await again(network({ GATEWAY: `1.2.3.4|${marker(8)}`, MTU: `9000;${marker(9)}`, SSH_USER: `root;${marker(10)}` }));
    expect(runs.map((r) => r.status)).toEqual([1, 1, 1, 1]);
    expect(readdirSync(sb.dir).filter((n) => n.startsWith('PWNED'))).toEqual([]);
    const out = runs.map((r) => r.stdout).join('');
    for (const problem of [/IP is not an IPv4 address/, /IFACE is not an interface name/, /DOMAIN is not a domain name/, /search domain .* is not a domain name/,
      /name server .* is not an IPv4 address/, /HOSTNAME is not a host name/, /GATEWAY is not an IPv4 address/, /MTU is not a number/]) {
      expect(out).toMatch(problem);
    }
    expect(sb.calls().some((c) => c.startsWith('hostname'))).toBe(false);
  });

  it('reads common/network and files/N.meta as data: a hand-made line that would run a command when sourced runs none', async () => {
    const sb = new Sandbox();
    const marker = (n: number) => `touch ${sb.dir}/PWNED${n}`;
    // Not what formatKeyValue writes: the quotes close before $(...), so sourcing the file would run it.
    const files: FileMap = {
      'post-install': { data: postInstallScript(), mode: 0o755 },
      'common/network': { data: `METHOD=static\nIP=198.51.100.9\nPREFIX=24\nHOSTNAME='web1'$(${marker(1)})\nDOMAIN="example.org"\n${marker(2)}\nPATH=/nowhere\n`, mode: 0o444 },
      'files/001.meta': { data: `FILE_PATH='/etc/motd'\`${marker(3)}\`\nFILE_MODE=0644\n`, mode: 0o400 },
      'files/001': { data: 'x', mode: 0o400 },
      'files/002.meta': { data: `FILE_PATH=/etc/issue.vmctx\nFILE_MODE="0640"\n`, mode: 0o400 },
      'files/002': { data: 'hello', mode: 0o400 },
    };
    const run = await runPostInstall(sb, files);
    expect(readdirSync(sb.dir).filter((n) => n.startsWith('PWNED'))).toEqual([]);
    expect(run.stdout).toMatch(/common\/network:4: HOSTNAME is not a plain or quoted value/);
    expect(run.stdout).toMatch(/common\/network:6: not KEY=VALUE; ignored/);
    expect(run.stdout).toMatch(/files\/001\.meta:1: FILE_PATH is not a plain or quoted value/);
    // The rest of each file still applies: the address, the double-quoted DOMAIN, the second file with its mode.
    expect(sb.calls()).toContain('ip addr add 198.51.100.9/24 broadcast 198.51.100.255 dev eth0');
    expect(sb.read('etc/resolv.conf')).toMatch(/^domain example\.org$/m);
    expect(sb.read('etc/issue.vmctx')).toBe('hello');
    expect(statSync(join(sb.root, 'etc/issue.vmctx')).mode & 0o777).toBe(0o640);
    expect(sb.has('etc/motd')).toBe(false);
  });

  it('runs no injected command from hostile routes, file entries and keys', async () => {
    const sb = new Sandbox();
    const marker = (n: number) => `touch ${sb.dir}/PWNED${n}`;
    const files: FileMap = {
      ...buildContextTree(context({ network: { method: 'static', address: '198.51.100.9/24' } })),
      'common/routes': { data: `up ip route add 203.0.113.0/24 via 198.51.100.1; ${marker(1)}\nup ip route add $(${marker(2)}) via 1.2.3.4\nup route add -net 10.0.0.0 netmask 255.0.0.0 \`${marker(3)}\`\n`, mode: 0o444 },
      'ssh/authorized_keys': { data: `ssh-ed25519 AAAA $(${marker(4)}) "'\`x\`\n`, mode: 0o444 },
      'files/001.meta': { data: formatKeyValue({ FILE_PATH: `/etc/x$(${marker(5)})`, FILE_MODE: '0644', FILE_OWNER: 'root' }), mode: 0o400 },
      'files/001': { data: 'x', mode: 0o400 },
      'files/002.meta': { data: formatKeyValue({ FILE_PATH: '/etc/ok', FILE_MODE: `644;${marker(6)}`, FILE_OWNER: 'root' }), mode: 0o400 },
      'files/002': { data: 'x', mode: 0o400 },
      'files/003.meta': { data: formatKeyValue({ FILE_PATH: '/etc/../../escape', FILE_MODE: '0644', FILE_OWNER: 'root' }), mode: 0o400 },
      'files/003': { data: 'x', mode: 0o400 },
      'files/004.meta': { data: formatKeyValue({ FILE_PATH: '/etc/owned', FILE_MODE: '0644', FILE_OWNER: `root;${marker(7)}` }), mode: 0o400 },
      'files/004': { data: 'x', mode: 0o400 },
    };
    const run = await runPostInstall(sb, files);
    expect(run.status).toBe(1);
    expect(readdirSync(sb.dir).filter((n) => n.startsWith('PWNED'))).toEqual([]);
    expect(existsSync(join(sb.dir, 'escape'))).toBe(false);
    expect(sb.has('etc/ok') || sb.has('etc/owned')).toBe(false);
    expect(run.stdout.match(/common\/routes: not a route this script understands/g)).toHaveLength(3);
    expect(run.stdout.match(/FILE_PATH has characters or components we do not write/g)).toHaveLength(2);
    expect(run.stdout).toMatch(/FILE_MODE is not an octal mode/);
    expect(run.stdout).toMatch(/FILE_OWNER or FILE_GROUP is not a name or number/);
    // The key line is data: written as it is, quotes, backquotes and $(...) included.
    expect(sb.read('root/.ssh/authorized_keys')).toBe(`ssh-ed25519 AAAA $(${marker(4)}) "'\`x\`\n`);
  });

  it('writes hostile but valid free text (key comments, file contents) byte for byte', async () => {
    const sb = new Sandbox();
    const comment = `$(touch ${sb.dir}/PWNED) \`id\` "q" 'q' \\ ; |`;
    const key = `ssh-ed25519 AAAAC3Nza ${comment}`;
    const content = `$(touch ${sb.dir}/PWNED2)\n'"\`\n`;
    const tree = buildContextTree(context({ ssh: { authorizedKeys: [key] }, files: [{ path: '/etc/odd', content, mode: '0640' }] }));
    const run = await runPostInstall(sb, tree);
    expect(run.status).toBe(0);
    expect(sb.read('root/.ssh/authorized_keys')).toBe(`${key}\n`);
    expect(sb.read('etc/odd')).toBe(content);
    expect(readdirSync(sb.dir).filter((n) => n.startsWith('PWNED'))).toEqual([]);
  });
});

describe('the context CD', () => {
  it('keeps secrets to root on the ISO (Rock Ridge modes, as isoinfo reads them)', async () => {
    const iso = join(work, 'modes.iso');
    await writeIsoFromFiles(buildContextTree(context(STATIC)), iso, { epoch: 1_700_000_000 });
    const listing = spawnSync('isoinfo', ['-R', '-l', '-i', iso], { encoding: 'utf8' });
    expect(listing.status).toBe(0);
    const modeOf = (name: string) => listing.stdout.split('\n').find((l) => l.trimEnd().endsWith(` ${name}`))?.split(/\s+/)[0];
    expect(modeOf('post-install')).toBe('-rwxr-xr-x');
    expect(modeOf('network')).toBe('-r--r--r--');
    expect(modeOf('001')).toBe('-r--------');
    expect(modeOf('002.meta')).toBe('-r--------');
    expect(modeOf('01-mark')).toBe('-r-x------');
    expect(spawnSync('isoinfo', ['-d', '-i', iso], { encoding: 'utf8' }).stdout).toMatch(/^Volume id: CONTEXT$/m);
  });
});

describe.concurrent('installer', () => {
  /** How /etc/rc.local is in the image: a file, or a link (to /etc/rc.d/rc.local, as several distributions have). */
  type RcLocal = undefined | { file: string; link?: 'absolute' | 'relative' | 'dangling' };

  function imageRoot(kind: 'busybox' | 'systemd', rcLocal: RcLocal): string {
    const root = mkdtempSync(join(work, `img-${kind}-`));
    mkdirSync(join(root, 'etc/rc.d'), { recursive: true });
    if (kind === 'systemd') {
      mkdirSync(join(root, 'lib/systemd'), { recursive: true });
      writeFileSync(join(root, 'lib/systemd/systemd'), '', { mode: 0o755 });
    }
    if (rcLocal?.link === undefined) {
      if (rcLocal !== undefined) writeFileSync(join(root, 'etc/rc.local'), rcLocal.file, { mode: 0o755 });
    } else {
      symlinkSync(rcLocal.link === 'relative' ? 'rc.d/rc.local' : '/etc/rc.d/rc.local', join(root, 'etc/rc.local'));
      if (rcLocal.link !== 'dangling') writeFileSync(join(root, 'etc/rc.d/rc.local'), rcLocal.file, { mode: 0o750 });
    }
    return root;
  }

  /** Every entry under `root` as GNU `stat -c '%F %a'` names it, with its contents or its link's target (read in Node: a stat process per file was most of these tests' time). */
  function snapshot(root: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (rel: string) => {
      for (const name of readdirSync(join(root, rel)).sort()) {
        const path = rel ? `${rel}/${name}` : name;
        const full = join(root, path);
        const st = lstatSync(full);
        const mode = (st.mode & 0o7777).toString(8);
        if (st.isDirectory()) walk(path);
        else if (st.isSymbolicLink()) out[path] = `symbolic link 777 ${readlinkSync(full)}\n`;
        else if (st.isFile()) out[path] = `${st.size === 0 ? 'regular empty file' : 'regular file'} ${mode} ${readFileSync(full, 'utf8')}`;
        else out[path] = `other ${mode}`;
      }
    };
    walk('');
    return out;
  }

  /** Inode and mtime (ns) of every file, link and folder under `root`. */
  function identitiesOf(root: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (rel: string) => {
      const info = lstatSync(join(root, rel), { bigint: true });
      out[rel || '.'] = `${info.ino} ${info.mtimeNs}`;
      if (info.isDirectory()) for (const name of readdirSync(join(root, rel)).sort()) walk(rel ? `${rel}/${name}` : name);
    };
    walk('');
    return out;
  }

  function runInstallScript(argv: string[], root: string, options: InstallOptions = {}) {
    return spawnAsync(argv[0]!, [...argv.slice(1), '-s', root], { input: installScript(options), env: { PATH: applets } });
  }

  const cases: Array<[string, 'busybox' | 'systemd', RcLocal, InstallOptions?]> = [
    ['busybox image without rc.local', 'busybox', undefined],
    ['busybox image with an rc.local that ends in exit 0', 'busybox', { file: '#!/bin/sh\necho hello\nexit 0\n' }],
    ['systemd image without rc.local', 'systemd', undefined],
    ['systemd image with rc.local without exit 0', 'systemd', { file: '#!/bin/sh -e\ntouch /run/booted' }],
    ['busybox image, rc.local an absolute link to rc.d/rc.local', 'busybox', { file: '#!/bin/sh\nexit 0\n', link: 'absolute' }],
    ['systemd image, rc.local a relative link to rc.d/rc.local', 'systemd', { file: '#!/bin/sh -e\n', link: 'relative' }],
    ['busybox image, rc.local a link to nothing yet', 'busybox', { file: '', link: 'dangling' }],
    ['systemd image without rc.local, told to create one', 'systemd', undefined, { createRcLocal: true }],
    ['busybox image, told to install the unit all the same', 'busybox', undefined, { systemd: 'always' }],
    ['busybox image, told to create nothing', 'busybox', undefined, { systemd: 'never', createRcLocal: false }],
  ];
  for (const [name, kind, rcLocal, options] of cases) {
    it(`the install script and installInto agree, and a second run changes nothing: ${name}`, async () => {
      const byNode = imageRoot(kind, rcLocal);
      const byScript = imageRoot(kind, rcLocal);
      const steps = await installInto(byNode, options);
      let identities: Record<string, string> = {};
      for (const [index, { argv }] of SHELLS.entries()) {
        const result = await runInstallScript(argv, byScript, options);
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        // The first run does what installInto did, said in the same words; the next ones touch nothing (same inode
        // and mtime of every file and folder) and say so.
        if (index === 0) expect(result.stdout).toBe(steps.map((s) => `${s.action} ${s.path}\n`).join(''));
        else expect([result.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('unchanged ')), identitiesOf(byScript)]).toEqual([[], identities]);
        identities = identitiesOf(byScript);
      }
      const nodeIdentities = identitiesOf(byNode);
      expect((await installInto(byNode, options)).filter((s) => s.action !== 'unchanged')).toEqual([]);
      expect(identitiesOf(byNode)).toEqual(nodeIdentities);
      expect(snapshot(byScript)).toEqual(snapshot(byNode));
      const tree = snapshot(byNode);
      expect(tree['usr/local/bin/contextualization']).toMatch(/^regular file 755 #!\/bin\/sh/);
      // A link stays a link: the call is in its target.
      const rc = rcLocal?.link === undefined ? tree['etc/rc.local'] : tree['etc/rc.d/rc.local'];
      if (rcLocal?.link !== undefined) expect(tree['etc/rc.local']).toMatch(/^symbolic link /);
      if (rcLocal === undefined && (kind === 'systemd' ? !options?.createRcLocal : options?.createRcLocal === false)) {
        expect(rc).toBeUndefined();
      } else {
        expect(rc?.match(/^\/usr\/local\/bin\/contextualization$/gm)).toHaveLength(1);
        if (rcLocal?.file.includes('exit 0')) expect(rc).toMatch(/contextualization\nexit 0\n$/);
        if (rcLocal?.link === 'absolute' || rcLocal?.link === 'relative') expect(rc).toMatch(/^regular file 750 /);
      }
      const unit = tree['etc/systemd/system/multi-user.target.wants/vmctx-contextualization.service'];
      if (options?.systemd === 'never' || (kind === 'busybox' && options?.systemd !== 'always')) expect(unit).toBeUndefined();
      else expect(unit).toBe('symbolic link 777 /etc/systemd/system/vmctx-contextualization.service\n');
    });
  }

  it('keeps every write inside ROOT where its folders are absolute links, under every shell, as installInto does', async () => {
    // usr/local/bin, etc/systemd and etc/rc.d absolute links to a folder of this machine; /lib a link to /usr/lib.
    const hostile = (host: string) => {
      const root = mkdtempSync(join(work, 'img-hostile-'));
      mkdirSync(join(root, 'usr/local'), { recursive: true });
      mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
      mkdirSync(join(root, 'etc'), { recursive: true });
      writeFileSync(join(root, 'usr/lib/systemd/systemd'), '', { mode: 0o755 });
      symlinkSync('/usr/lib', join(root, 'lib'));
      symlinkSync(host, join(root, 'usr/local/bin'));
      symlinkSync(`${host}/systemd`, join(root, 'etc/systemd'));
      symlinkSync(`${host}/rc.d`, join(root, 'etc/rc.d'));
      symlinkSync('/etc/rc.d/rc.local', join(root, 'etc/rc.local'));
      return root;
    };
    const host = mkdtempSync(join(work, 'host-'));
    const byNode = hostile(host);
    const steps = await installInto(byNode, { createRcLocal: true });
    for (const { argv } of SHELLS) {
      const byScript = hostile(host);
      const result = await runInstallScript(argv, byScript, { createRcLocal: true });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(steps.map((s) => `${s.action} ${s.path}\n`).join(''));
      expect(snapshot(byScript)).toEqual(snapshot(byNode));
    }
    expect(readdirSync(host)).toEqual([]);
    const tree = snapshot(byNode);
    expect(tree[`${host.slice(1)}/contextualization`]).toMatch(/^regular file 755 #!\/bin\/sh/);
    expect(tree[`${host.slice(1)}/systemd/system/vmctx-contextualization.service`]).toMatch(/^regular file 644 /);
    expect(tree[`${host.slice(1)}/rc.d/rc.local`]).toMatch(/^regular file 755 /);
  });

  it("edits an rc.local line for line as rcLocalWithCall does (dash, random files)", async () => {
    const line = fc.constantFrom('#!/bin/sh', 'exit 0', '  exit 0\t', 'exit 0\r', 'exit 1', 'echo "x y"', '', ' ', 'a\\b',
      '/usr/local/bin/contextualization --now', '\t/usr/local/bin/contextualization', '/usr/local/bin/contextualizationX');
    const dash = SHELLS[0]!.argv;
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 6 }), fc.boolean(), async (lines, finalNewline) => {
        const text = lines.join('\n') + (finalNewline && lines.length > 0 ? '\n' : '');
        const root = imageRoot('busybox', { file: text });
        const result = await runInstallScript(dash, root, { systemd: 'never' });
        expect(result.status).toBe(0);
        expect(readFileSync(join(root, 'etc/rc.local'), 'utf8')).toBe(rcLocalWithCall(text) ?? text);
        rmSync(root, { recursive: true, force: true });
      }),
      { numRuns: 60 },
    );
  });
});
