/**
 * sh/state-read.sh, state-write.sh and state-remove.sh under each shell a controller's `sh` may be: a deployment's
 * record written atomically (noclobber temporary file, mv -T), read back, and removed with its empty folder.
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STATE_READ_SH, STATE_REMOVE_SH, STATE_WRITE_SH } from './sh.generated.js';

/** The shells a controller's `sh` may be (dash and busybox sh where installed). */
const SHELLS = [['dash'], ['bash', '--posix', '--norc'], ['busybox', 'sh']].filter(([cmd, ...rest]) => spawnSync(cmd!, [...rest, '-c', 'exit 0']).status === 0);

describe.each(SHELLS.map((shell) => [shell.join(' '), shell] as const))('the state scripts under %s', (_name, [cmd, ...rest]) => {
  let dir: string;
  let folder: string;
  let record: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vmctx-state-sh-'));
    folder = join(dir, '.vmctx');
    record = join(folder, 'demo.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const run = (script: string, args: string[], input = '') => spawnSync(cmd!, [...rest, '-c', script, 'vmctx-state', ...args], { input, encoding: 'utf8' });
  const write = (text: string, temp = `${record}.abc.tmp`) => run(STATE_WRITE_SH, [folder, temp, record], text);

  it('writes the record from stdin, the file the user\'s alone, and reads it back', () => {
    expect(run(STATE_READ_SH, [record]).status).toBe(9);
    const result = write('{"version":1}\n');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(readdirSync(folder)).toEqual(['demo.json']);
    expect(statSync(record).mode & 0o777).toBe(0o600);
    const read = run(STATE_READ_SH, [record]);
    expect(read).toMatchObject({ status: 0, stdout: '{"version":1}\n' });
    expect(write('{"version":1,"second":true}\n').status).toBe(0);
    expect(readFileSync(record, 'utf8')).toBe('{"version":1,"second":true}\n');
  });

  it('never writes through a file or link at its temporary name (noclobber): exit 1, what was there removed, the record as it was', () => {
    mkdirSync(folder);
    writeFileSync(record, 'before');
    const target = join(dir, 'target');
    writeFileSync(target, 'untouched');
    symlinkSync(target, `${record}.abc.tmp`);
    const result = write('after');
    expect(result.status).toBe(1);
    expect(readFileSync(target, 'utf8')).toBe('untouched');
    expect(readFileSync(record, 'utf8')).toBe('before');
    expect(readdirSync(folder)).toEqual(['demo.json']);
  });

  it('renames onto the record\'s own name (mv -T): a link there is replaced, not followed; a folder there fails the write', () => {
    mkdirSync(folder);
    const target = join(dir, 'target');
    writeFileSync(target, 'untouched');
    symlinkSync(target, record);
    expect(write('new').status).toBe(0);
    expect(lstatSync(record).isFile()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('untouched');
    rmSync(record);
    mkdirSync(record);
    const result = write('new');
    expect(result.status).toBe(1);
    expect(readdirSync(record)).toEqual([]);
    expect(readdirSync(folder)).toEqual(['demo.json']);
  });

  it('fails when the folder cannot be made, and leaves nothing', () => {
    writeFileSync(folder, 'a file where the folder goes');
    const result = write('x');
    expect(result.status).toBe(1);
    expect(readFileSync(folder, 'utf8')).toBe('a file where the folder goes');
  });

  it('removes the record, and its folder when nothing else is there; exit 0 when neither is there', () => {
    expect(write('x').status).toBe(0);
    writeFileSync(join(folder, 'other.json'), 'another deployment');
    expect(run(STATE_REMOVE_SH, [folder, record]).status).toBe(0);
    expect(readdirSync(folder)).toEqual(['other.json']);
    rmSync(join(folder, 'other.json'));
    expect(run(STATE_REMOVE_SH, [folder, record]).status).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
    expect(run(STATE_REMOVE_SH, [folder, record])).toMatchObject({ status: 0, stderr: '' });
  });

  it('reads a record that cannot be read as a failure (not as no record)', () => {
    symlinkSync(join(dir, 'missing'), join(dir, 'dangling.json'));
    mkdirSync(folder);
    expect(run(STATE_READ_SH, [folder]).status).toBe(9);
    writeFileSync(record, 'secret');
    if (process.getuid?.() !== 0) {
      spawnSync('chmod', ['000', record]);
      const read = run(STATE_READ_SH, [record]);
      expect(read.status).not.toBe(0);
      expect(read.status).not.toBe(9);
      expect(read.stderr).toMatch(/Permission denied/);
    }
    expect(readlinkSync(join(dir, 'dangling.json'))).toBe(join(dir, 'missing'));
  });
});
