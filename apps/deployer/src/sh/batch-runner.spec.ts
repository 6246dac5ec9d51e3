/**
 * sh/batch-runner.sh under each shell a controller's `sh` may be, fed on stdin as controller/command-batch.ts feeds
 * it (`sh -s`): each command's stdout, stderr and status apart, none able to end the batch or read its stdin.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { batchScript, parseBatchOutput } from '../controller/command-batch.js';

/** The shells a controller's `sh` may be (dash and busybox sh where installed). */
const SHELLS = [['dash'], ['bash', '--posix', '--norc'], ['busybox', 'sh']].filter(([cmd, ...rest]) => spawnSync(cmd!, [...rest, '-c', 'exit 0']).status === 0);
const NONCE = 'vmctx-batch-0123456789abcdef';

describe.each(SHELLS.map((shell) => [shell.join(' '), shell] as const))('batch-runner.sh under %s', (_name, [cmd, ...rest]) => {
  it('gives each command its own stdout, stderr and status, its stdin empty, and runs the next after one that exits', () => {
    const commands = [
      ['sh', '-c', 'echo out; echo err >&2; exit 7'],
      ['sh', '-c', 'exit 0'],
      ['cat'],
      ['printf', '%s|', "it's", 'a b', '$HOME', '-n'],
      ['sh', '-c', 'printf "no newline"; kill -TERM $$'],
    ];
    const script = batchScript(commands, NONCE);
    // The script on stdin, as runTogether sends it; what follows it on stdin is not the commands'.
    const run = spawnSync(cmd!, [...rest, '-s'], { input: `${script}\n`, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(parseBatchOutput(run.stdout, run.stderr, NONCE, commands.length)).toEqual([
      { code: 7, stdout: 'out\n', stderr: 'err\n' },
      { code: 0, stdout: '', stderr: '' },
      { code: 0, stdout: '', stderr: '' },
      { code: 0, stdout: "it's|a b|$HOME|-n|", stderr: '' },
      // A command killed by a signal: its status as sh gives it; the shell may say "Terminated" on its stderr.
      { code: 143, stdout: 'no newline', stderr: expect.any(String) },
    ]);
  });

  it('refuses a nonce that the shell would read as more than a word', () => {
    expect(() => batchScript([['true']], 'a b; rm -rf x')).toThrow(/nonce/);
  });
});
