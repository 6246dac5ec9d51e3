/**
 * The built `vmctx` as a separate process (apps/deployer/bin/vmctx.js, after `npx nx run deployer:build`): what only
 * a process shows, its exit status and what reaches its real stdout and stderr (issue 12). Needs no root and no lab.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = new URL('../apps/deployer/bin/vmctx.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'vmctx-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function vmctx(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('vmctx usage errors, as a process', () => {
  it.each([[[]], [['bogus']], [['--bogus']], [['context']], [['context', 'iso']], [['guest', 'script', '--bogus']]])(
    'vmctx %j exits 2 with a usage line and a hint on stderr, and nothing on stdout',
    (args) => {
      const { status, stdout, stderr } = vmctx(...args);
      expect({ status, stdout }).toEqual({ status: 2, stdout: '' });
      expect(stderr).toMatch(/^error: .*\nUsage: vmctx.*\nsee 'vmctx.* --help'\n$/);
    },
  );

  it.each([[['--help']], [['-h']], [['help', 'context']], [['iso', '--help']]])('vmctx %j prints the help on stdout and exits 0', (args) => {
    const { status, stdout, stderr } = vmctx(...args);
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    expect(stdout).toMatch(/^Usage: vmctx/);
  });
});

/** Whether this machine lets an unprivileged user namespace mount a read-only tmpfs (unshare -Urm). */
const canMountReadOnly = spawnSync('unshare', ['-Urm', 'sh', '-c', `mount -t tmpfs -o ro tmpfs "${tmpdir()}"`]).status === 0;

describe('errors of outputs, with their path and code (issue 12)', () => {
  it.skipIf(!canMountReadOnly)('a read-only file system is EROFS, not ENOENT, for context build, context iso and iso', () => {
    writeFileSync(join(dir, 'c.yaml'), 'hostname: web1\n');
    mkdirSync(join(dir, 'ro'), { recursive: true });
    mkdirSync(join(dir, 'tree'), { recursive: true });
    const script = [
      `mount -t tmpfs -o ro tmpfs ro`,
      `node "${BIN}" context build c.yaml -o ro/out; echo "status $?" >&2`,
      `node "${BIN}" context iso c.yaml -o ro/out.iso; echo "status $?" >&2`,
      `node "${BIN}" iso -o ro/tree.iso tree; echo "status $?" >&2`,
    ].join('\n');
    const { stderr } = spawnSync('unshare', ['-Urm', 'sh', '-c', script], { cwd: dir, encoding: 'utf8' });
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^vmctx: cannot write ro\/out: EROFS: read-only file system, mkdir '.*'; nothing written \[GUEST_WRITE_FAILED\]$/);
    expect(lines[2]).toMatch(/^vmctx: cannot create .* next to "ro\/out\.iso": EROFS: read-only file system.* \[ISO_WRITE_FAILED\]$/);
    expect(lines[4]).toMatch(/^vmctx: cannot create .* next to "ro\/tree\.iso": EROFS: read-only file system.* \[ISO_WRITE_FAILED\]$/);
    expect([lines[1], lines[3], lines[5]]).toEqual(['status 1', 'status 1', 'status 1']);
  });

  it.skipIf(!existsSync('/proc/self'))('context build into /proc ends (Node recursive mkdir retried forever there) with the path and code', () => {
    writeFileSync(join(dir, 'c.yaml'), 'hostname: web1\n');
    const { status, stderr } = vmctx('context', 'build', 'c.yaml', '-o', '/proc/vmctx-out');
    expect(status).toBe(1);
    expect(stderr).toMatch(/^vmctx: cannot write \/proc\/vmctx-out: ENOENT: .*; nothing written \[GUEST_WRITE_FAILED\]\n$/);
  });
});

describe('names that are not UTF-8 (issue 12)', () => {
  it('vmctx iso and vmctx context iso refuse them with exit 2, showing the bytes escaped, not as U+FFFD', () => {
    for (const folder of ['latin1-tree', 'latin1-context/files']) mkdirSync(join(dir, folder), { recursive: true });
    writeFileSync(Buffer.from(`${join(dir, 'latin1-tree')}/caf\xe9.txt`, 'latin1'), 'x');
    writeFileSync(Buffer.from(`${join(dir, 'latin1-context/files')}/caf\xe9`, 'latin1'), 'x');
    const iso = vmctx('iso', '-o', 'latin1.iso', 'latin1-tree');
    expect(iso.status).toBe(2);
    expect(iso.stderr).toBe('vmctx: "latin1-tree/caf\\xe9.txt": the name is not UTF-8; Joliet and Rock Ridge names are written from UTF-8: rename it (convmv -f latin1 -t utf8 converts Latin-1 names) [ISO_BAD_NAME]\n');
    const context = vmctx('context', 'iso', 'latin1-context', '-o', 'latin1-context.iso');
    expect(context.status).toBe(2);
    expect(context.stderr).toMatch(/^vmctx: latin1-context\/files\/caf\\xe9: the name is not UTF-8; .* \[GUEST_INVALID_TREE\]\n/);
    expect(existsSync(join(dir, 'latin1.iso')) || existsSync(join(dir, 'latin1-context.iso'))).toBe(false);
  });
});

describe('help and --version into a full device (issue 12)', () => {
  const full = existsSync('/dev/full') && statSync('/dev/full').isCharacterDevice();
  it.skipIf(!full).each([[['--help']], [['--version']], [['help', 'context']], [['guest', 'script', '-h']]])('vmctx %j > /dev/full: one line and exit 1, not exit 0 with nothing said', (args) => {
    const fd = openSync('/dev/full', 'w');
    try {
      const result = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', stdio: ['ignore', fd, 'pipe'] });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 1, stderr: 'vmctx: writing to stdout failed: ENOSPC: no space left on device, write [CLI_WRITE_FAILED]\n' });
    } finally {
      closeSync(fd);
    }
  });
});

// Issue 23: every command imported zod, ssh2, yaml, the builders and the rest before it parsed its arguments
// (`vmctx --version` 0.24-0.28 s against node's 0.06). Which modules a start-up loads is the proof here, not a time:
// a module-loading hook lists them (tools/bench/startup.sh measures the time).
describe('what a start-up loads', () => {
  const hooks = join(dir, 'list-loads.mjs');
  writeFileSync(hooks, 'export async function load(url, context, next) { if (!url.startsWith("node:")) process.stderr.write(`loaded ${url}\\n`); return next(url, context); }\n');
  const register = `data:text/javascript,import { register } from 'node:module'; register(${JSON.stringify(new URL(`file://${hooks}`).href)});`;
  const loads = (...args: string[]) => {
    const result = spawnSync(process.execPath, ['--import', register, BIN, ...args], { cwd: dir, encoding: 'utf8' });
    expect(result.status).toBe(0);
    return [...result.stderr.matchAll(/^loaded (.*)$/gm)].map((m) => m[1]!);
  };

  it.each([[['--version']], [['iso', '--help']], [['deploy', '--help']], [['destroy', '--help']], [['template', 'lint', '--help']]])('vmctx %j loads commander and the CLI, none of the libraries a command uses', (args) => {
    const loaded = loads(...args);
    expect(loaded.some((url) => url.includes('/node_modules/commander/'))).toBe(true);
    const heavy = loaded.filter((url) => /\/node_modules\/(zod|ssh2|yaml|ssh-config|p-limit)\/|\/packages\/(iso-builder|disk-builder|guest-script|template-renderer)\/|\/dist\/(deploy|controller\/connection|artifacts|config\/(load|schema))/.test(url));
    expect(heavy).toEqual([]);
  });
});
