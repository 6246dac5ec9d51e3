/**
 * sh/upload-tools.sh (preflight's CHECK_UPLOAD_TOOLS) under each shell a controller's `sh` may be, with a PATH that
 * holds only the tools given; and upload-receive.sh verifying with sha256sum where openssl is not there.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sparseDigestOfBytes } from '../controller/sparse-digest.fixture.js';
import { UploadTools } from './answers.js';
import { FILE_SHA256_SH, UPLOAD_RECEIVE_SH, UPLOAD_TOOLS_SH } from './sh.generated.js';

const SHELLS = [['/bin/dash'], ['/bin/bash', '--posix', '--norc'], ['/bin/busybox', 'sh']].filter(([cmd, ...rest]) => spawnSync(cmd!, [...rest, '-c', 'exit 0']).status === 0);
const dir = mkdtempSync(join(tmpdir(), 'vmctx-upload-tools-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A folder of links to the tools named (as found on this machine's PATH), for a PATH of only them. */
function binWith(name: string, tools: readonly string[]): string {
  const bin = join(dir, name);
  spawnSync('mkdir', ['-p', bin]);
  for (const tool of tools) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found) symlinkSync(found, join(bin, tool));
  }
  return bin;
}
const RECEIVING = ['rm', 'flock', 'stat', 'dd', 'truncate', 'chmod', 'ln', 'dirname', 'mktemp', 'mkfifo', 'cat'];

describe.each(SHELLS.map((shell) => [shell.join(' '), shell] as const))('under %s', (name, [cmd, ...rest]) => {
  const run = (script: string, path: string, args: string[] = [], input?: Buffer) =>
    spawnSync(cmd!, [...rest, '-c', script, 'vmctx-test', ...args], { env: { PATH: path, LC_ALL: 'C' }, input, encoding: 'buffer' });
  const tools = (path: string) => UploadTools.parse(run(UPLOAD_TOOLS_SH, path).stdout.toString().trim());
  const tag = name.replace(/\W+/g, '-');

  it('says openssl where it is there, else sha256sum, and what else an upload lacks', () => {
    // Busybox sh runs its own applets before PATH (dd, truncate, sha256sum): only openssl's absence shows there.
    const applets = cmd!.endsWith('busybox');
    expect(tools(binWith(`all-${tag}`, ['openssl', 'sha256sum', 'dd', 'truncate', 'mktemp', 'mkfifo', 'curl', 'wget']))).toEqual({ sha256: 'openssl', fetch: 'curl', missing: [] });
    expect(tools(binWith(`no-openssl-${tag}`, ['sha256sum', 'dd', 'truncate', 'mktemp', 'mkfifo', 'wget']))).toEqual({ sha256: 'sha256sum', fetch: 'wget', missing: [] });
    if (!applets) {
      expect(tools(binWith(`none-${tag}`, []))).toEqual({ sha256: 'none', fetch: 'none', missing: ['dd with iflag=fullblock,count_bytes,skip_bytes oflag=seek_bytes', 'truncate', 'mktemp', 'mkfifo'] });
    }
  });

  it('verifies an upload with sha256sum where openssl is not there, and file-sha256.sh too', () => {
    const data = randomBytes(200_000);
    const sha256 = createHash('sha256').update(data).digest('hex');
    const path = binWith(`receive-${tag}`, [...RECEIVING, 'sha256sum']);
    expect(tools(path).sha256).toBe('sha256sum');
    const out = join(dir, `out-${tag}`);
    spawnSync('mkdir', ['-p', out]);
    const frames = Buffer.concat([Buffer.from(`0 ${data.length}\n`), data, Buffer.from('end\n')]);
    const result = run(UPLOAD_RECEIVE_SH, path, [join(out, '.part'), sparseDigestOfBytes(data), join(out, 'base.raw'), '0600', String(data.length)], frames);
    expect(result.stderr.toString()).toBe('');
    expect(result.status).toBe(0);
    expect(readFileSync(join(out, 'base.raw')).equals(data)).toBe(true);
    expect(run(FILE_SHA256_SH, path, [join(out, 'base.raw')]).stdout.toString()).toBe(`${sha256}\n`);
    // A wrong sum is told by sha256sum's answer as well.
    const wrong = run(UPLOAD_RECEIVE_SH, path, [join(out, '.part2'), 'f'.repeat(64), join(out, 'other.raw'), '0600', String(data.length)], frames);
    expect(wrong.status).toBe(3);
    expect(wrong.stderr.toString()).toBe(`sparse sha256 on the controller is ${sparseDigestOfBytes(data)}\n`);
  });
});
