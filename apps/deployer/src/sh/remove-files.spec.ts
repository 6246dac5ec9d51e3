/**
 * sh/remove-files.sh and sh/backing-chains.sh under each shell a controller's `sh` may be: a file removed only while
 * it is still what vmctx wrote (its identity, else its content), a link or a folder never, a cut upload's part not
 * while an upload holds it; and every disk's backing chain as qemu-img prints it, read through zod.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackingChain, FileIdentity, RemoveAnswer } from './answers.js';
import { BACKING_CHAINS_SH, FILE_IDENTITIES_SH, REMOVE_FILES_SH } from './sh.generated.js';

/** The shells a controller's `sh` may be (dash and busybox sh where installed). */
const SHELLS = [['dash'], ['bash', '--posix', '--norc'], ['busybox', 'sh']].filter(([cmd, ...rest]) => spawnSync(cmd!, [...rest, '-c', 'exit 0']).status === 0);
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe.each(SHELLS.map((shell) => [shell.join(' '), shell] as const))('remove-files.sh and backing-chains.sh under %s', (_name, [cmd, ...rest]) => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vmctx-remove-sh-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const sh = (script: string, name: string, args: string[], input = '') => spawnSync(cmd!, [...rest, '-c', script, name, ...args], { input, encoding: 'utf8' });
  const identity = (path: string) => FileIdentity.parse(sh(FILE_IDENTITIES_SH, 'vmctx-exists', [path]).stdout.split(' ')[0]);
  /** remove-files.sh's answers for these lines, each read through RemoveAnswer. */
  const remove = (lines: string[]) => {
    const result = sh(REMOVE_FILES_SH, 'vmctx-remove', [], lines.map((l) => `${l}\n`).join(''));
    expect(result.status).toBe(0);
    return result.stdout.trimEnd().split('\n').map((line) => RemoveAnswer.parse(line));
  };

  it('removes a file by its identity or its content, and keeps one that is neither, saying why', () => {
    const byId = join(dir, 'web-1.qcow2');
    const bySum = join(dir, 'base.qcow2');
    const other = join(dir, 'web-2.qcow2');
    const unproven = join(dir, 'web-3.qcow2');
    for (const f of [byId, bySum, other, unproven]) writeFileSync(f, 'content');
    const wrongId = identity(other).replace(/^\d+/, '1');
    const answers = remove([`${identity(byId)}||${byId}`, `|${sha('content')}|${bySum}`, `${wrongId}|${sha('other')}|${other}`, `||${unproven}`, `||${join(dir, 'gone')}`]);
    expect(answers).toEqual([
      { removed: true },
      { removed: true },
      { removed: false, why: `not the file vmctx wrote (identity ${identity(other)}, recorded ${wrongId})` },
      { removed: false, why: 'nothing recorded proves vmctx wrote it' },
      { removed: true },
    ]);
    expect(readdirSync(dir).sort()).toEqual(['web-2.qcow2', 'web-3.qcow2']);
  });

  it('keeps a link and a folder, and reads a path with | and spaces whole', () => {
    writeFileSync(join(dir, 'target'), 'content');
    symlinkSync(join(dir, 'target'), join(dir, 'link'));
    mkdirSync(join(dir, 'folder'));
    const odd = join(dir, 'a|b c.iso');
    writeFileSync(odd, 'content');
    expect(remove([`|${sha('content')}|${join(dir, 'link')}`, `|${sha('content')}|${join(dir, 'folder')}`, `|${sha('content')}|${odd}`])).toEqual([
      { removed: false, why: 'a symbolic link now' },
      { removed: false, why: 'not a regular file now' },
      { removed: true },
    ]);
    expect(existsSync(join(dir, 'target'))).toBe(true);
    expect(existsSync(odd)).toBe(false);
  });

  it('removes a cut upload\'s part by its name, unless an upload holds its flock', async () => {
    const part = join(dir, '.base.qcow2.vmctx-part.0123456789abcdef');
    writeFileSync(part, 'partial');
    // A process group of its own, ended whole: flock and its sleep.
    const holder = spawn('flock', [part, 'sleep', '30'], { stdio: 'ignore', detached: true });
    try {
      // Wait until the holder has the lock (flock -n fails then).
      for (let i = 0; i < 100 && spawnSync('flock', ['-n', part, 'true']).status === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(remove([`partial||${part}`])).toEqual([{ removed: false, why: 'an upload is writing it' }]);
    } finally {
      process.kill(-holder.pid!, 'SIGKILL');
    }
    await new Promise((r) => holder.once('exit', r));
    for (let i = 0; i < 100 && spawnSync('flock', ['-n', part, 'true']).status !== 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(remove([`partial||${part}`])).toEqual([{ removed: true }]);
    expect(existsSync(part)).toBe(false);
  });

  it('prints each disk\'s backing chain as qemu-img gives it, `missing` for a disk not there', () => {
    const base = join(dir, 'base.qcow2');
    const overlay = join(dir, 'web-1.qcow2');
    expect(spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, '1M']).status).toBe(0);
    expect(spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, overlay]).status).toBe(0);
    writeFileSync(join(dir, 'not-an-image'), '');
    const result = sh(BACKING_CHAINS_SH, 'vmctx-backing', [overlay, join(dir, 'none.qcow2'), join(dir, 'not-an-image')]);
    expect(result.status).toBe(0);
    const parts = result.stdout.split(/^=== vmctx-disk (\d+|missing)\n/m);
    expect(parts.filter((_, i) => i % 2 === 1)).toEqual(['0', 'missing', '0']);
    const chain = BackingChain.parse(JSON.parse(parts[2]!));
    expect(chain.map((image) => [image.filename, image['full-backing-filename']])).toEqual([
      [overlay, base],
      [base, undefined],
    ]);
    // An empty file is a raw image of no size: a chain of one, backed by nothing.
    expect(BackingChain.parse(JSON.parse(parts[6]!)).map((image) => image.filename)).toEqual([join(dir, 'not-an-image')]);
  });
});

describe('BackingChain', () => {
  it('refuses a chain whose names are not strings, where the old reading skipped them', () => {
    expect(BackingChain.safeParse([{ filename: 7 }]).success).toBe(false);
    expect(BackingChain.safeParse({ filename: 'a' }).success).toBe(false);
    expect(BackingChain.parse([{ filename: 'a', format: 'qcow2' }])).toEqual([{ filename: 'a', format: 'qcow2' }]);
  });
});
