/**
 * The built `vmctx` as a separate process (apps/deployer/bin/vmctx.js, after `npx nx run deployer:build`): what only
 * a process shows, its exit status and what reaches its real stdout and stderr (issue 12). Needs no root and no lab.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
