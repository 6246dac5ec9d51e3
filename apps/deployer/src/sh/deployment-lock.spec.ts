/**
 * sh/deployment-lock.sh under each shell a controller's `sh` may be: held while its stdin is open, waited for and
 * refused after the wait, no lock for a missing folder, never through a link; each line read through LockLine.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LockLine } from './answers.js';
import { DEPLOYMENT_LOCK_SH } from './sh.generated.js';

/** The shells a controller's `sh` may be (dash and busybox sh where installed). */
const SHELLS = [['dash'], ['bash', '--posix', '--norc'], ['busybox', 'sh']].filter(([cmd, ...rest]) => spawnSync(cmd!, [...rest, '-c', 'exit 0']).status === 0);

describe.each(SHELLS.map((shell) => [shell.join(' '), shell] as const))('deployment-lock.sh under %s', (_name, [cmd, ...rest]) => {
  let dir: string;
  let deployment: string;
  const holders: ChildProcess[] = [];
  const lockFiles: string[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vmctx-lock-sh-'));
    deployment = `sh-spec-${randomBytes(4).toString('hex')}`;
  });
  afterEach(() => {
    for (const h of holders.splice(0)) h.kill('SIGKILL');
    for (const f of lockFiles.splice(0)) rmSync(f, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the script; resolves with its child and its first line, read through LockLine. */
  function hold(folder: string, holder: string, seconds = '30'): Promise<{ child: ChildProcess; line: ReturnType<typeof LockLine.parse> }> {
    const child = spawn(cmd!, [...rest, '-c', DEPLOYMENT_LOCK_SH, 'vmctx-lock', folder, deployment, holder, seconds], { stdio: ['pipe', 'pipe', 'pipe'] });
    holders.push(child);
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        const newline = out.indexOf('\n');
        if (newline >= 0) resolve({ child, line: LockLine.parse(out.slice(0, newline)) });
      });
      child.on('exit', (code) => reject(new Error(`exited ${code} before a line: ${out}`)));
    });
  }
  const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));

  it('holds the lock while its stdin is open, the holder written in; another run waits, and gets it once the first lets go', async () => {
    const first = await hold(dir, 'host a pid 1');
    expect(first.line).toMatchObject({ said: 'locked', path: expect.stringMatching(new RegExp(`/vmctx-${deployment}-\\d+-\\d+\\.lock$`)) });
    const path = (first.line as { path: string }).path;
    lockFiles.push(path);
    expect(readFileSync(path, 'utf8')).toBe('host a pid 1\n');
    const second = await hold(dir, 'host b pid 2');
    expect(second.line).toEqual({ said: 'busy', holder: 'host a pid 1' });
    // Listening before the first lets go: the second's line may come at once.
    const secondLocked = new Promise<void>((resolve) => second.child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes(`locked ${path}`) && resolve()));
    first.child.stdin!.end();
    expect(await exited(first.child)).toBe(0);
    await secondLocked;
    expect(readFileSync(path, 'utf8')).toBe('host b pid 2\n');
    second.child.stdin!.end();
    expect(await exited(second.child)).toBe(0);
  });

  it('gives up after the wait (exit 4) while another run holds it', async () => {
    const first = await hold(dir, 'host a');
    lockFiles.push((first.line as { path: string }).path);
    const second = await hold(dir, 'host b', '1');
    expect(second.line).toEqual({ said: 'busy', holder: 'host a' });
    expect(await exited(second.child)).toBe(4);
  });

  it('takes no lock for a missing folder, and refuses a link at the lock file (exit 6)', async () => {
    const none = await hold(join(dir, 'missing'), 'host a');
    expect(none.line).toEqual({ said: 'no-folder' });
    none.child.stdin!.end();
    expect(await exited(none.child)).toBe(0);
    const first = await hold(dir, 'host a');
    const path = (first.line as { path: string }).path;
    lockFiles.push(path);
    first.child.stdin!.end();
    await exited(first.child);
    rmSync(path);
    symlinkSync(join(dir, 'target'), path);
    const linked = spawnSync(cmd!, [...rest, '-c', DEPLOYMENT_LOCK_SH, 'vmctx-lock', dir, deployment, 'host c', '1'], { input: '', encoding: 'utf8' });
    expect(linked.status).toBe(6);
    expect(linked.stderr).toBe(`${path} is a symbolic link; vmctx will not follow it\n`);
    expect(existsSync(join(dir, 'target'))).toBe(false);
  });
});
