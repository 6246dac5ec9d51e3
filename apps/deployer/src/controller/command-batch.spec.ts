import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchScript, CommandBatch, parseBatchOutput } from './command-batch.js';
import { closeFakeSession, failure, openFakeSession, type FakeSession } from './fake-controller.fixture.js';

const NONCE = 'vmctx-batch-0123456789abcdef0123456789abcdef';

/** Runs argv alone, as a channel of its own would: its stdout, stderr and status. */
function alone(argv: readonly string[]) {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input: '' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the batch of `commands` with a real shell, as the controller's login shell does. */
function batched(commands: readonly (readonly string[])[], shell = 'sh') {
  const r = spawnSync(shell, ['-c', batchScript(commands, NONCE), 'vmctx-batch'], { encoding: 'utf8', input: 'stdin that no command may read' });
  expect(r.status).toBe(0);
  return parseBatchOutput(r.stdout, r.stderr, NONCE, commands.length);
}

const COMMANDS: string[][] = [
  ['printf', 'no newline at the end'],
  ['printf', '%s\n\n\n', 'blank lines kept'],
  ['true'],
  ['sh', '-c', 'echo out; echo err >&2; exit 5', 'x'],
  ['printf', '%s\n', 'é ü 😀 and a quote \' " $HOME `id`'],
  ['cat'],
  ['sh', '-c', 'printf "%s" "$1"', 'x', '\n'],
];

describe('batchScript and parseBatchOutput, under a real shell', () => {
  it.each(['sh', 'bash', 'dash'])('give each command the stdout, stderr and status it has alone (%s)', (shell) => {
    expect(batched(COMMANDS, shell)).toEqual(COMMANDS.map(alone));
  });

  it('a command that is a shell builtin (exit, exec) cannot end the batch: each runs in a subshell', () => {
    const results = batched([['exit', '7'], ['exec', 'false'], ['echo', 'still here']]);
    expect(results?.map((r) => [r.code, r.stdout])).toEqual([
      [7, ''],
      [1, ''],
      [0, 'still here\n'],
    ]);
  });

  it('refuses output that is not exactly one part per command (a batch cut short, or more than it ran)', () => {
    const one = `a\n${NONCE} 0\n`;
    const errOne = `\n${NONCE}\n`;
    expect(parseBatchOutput(one, errOne, NONCE, 1)).toEqual([{ code: 0, stdout: 'a', stderr: '' }]);
    expect(parseBatchOutput(one, errOne, NONCE, 2)).toBeUndefined();
    expect(parseBatchOutput(`${one}trailing`, errOne, NONCE, 1)).toBeUndefined();
    expect(parseBatchOutput(one, '', NONCE, 1)).toBeUndefined();
    expect(parseBatchOutput(one.replace(NONCE, 'vmctx-batch-other'), errOne, NONCE, 1)).toBeUndefined();
  });
});

describe('CommandBatch over an SSH connection', () => {
  let session: FakeSession;
  beforeAll(async () => {
    session = await openFakeSession('vmctx-command-batch-');
  });
  afterAll(() => closeFakeSession(session));

  it('sends the commands asked for together through one channel, each result its own', async () => {
    const before = session.fake.commands.length;
    const batch = new CommandBatch(session.connection);
    const [a, b, c] = await Promise.all([batch.exec(['echo', 'one']), batch.exec(['sh', '-c', 'echo two >&2; exit 3', 'x']), batch.run(['echo', 'three'])]);
    expect(session.fake.commands.length - before).toBe(1);
    expect(a).toEqual({ code: 0, stdout: 'one\n', stderr: '' });
    expect(b).toEqual({ code: 3, stdout: '', stderr: 'two\n' });
    expect(c).toBe('three\n');
  });

  it('one command alone, and a command with options (stdin), go as themselves', async () => {
    const batch = new CommandBatch(session.connection);
    const before = session.fake.commands.length;
    const [alone, fed] = await Promise.all([batch.exec(['echo', 'alone']), batch.exec(['cat'], { stdin: 'fed' })]);
    expect([alone.stdout, fed.stdout]).toEqual(['alone\n', 'fed']);
    expect(session.fake.commands.slice(before).sort()).toEqual(['cat', 'echo alone']);
  });

  it('sends commands whose line is over what one argument may hold (128 KiB): ~4,000 VMs on one controller (issue 19)', async () => {
    // Preflight's file check of 4,096 VMs: two paths each, one command; with the list in sshd's command argument it
    // failed with "Argument list too long" and was reported as CHECK_SSH.
    const paths = Array.from({ length: 8192 }, (_, i) => `/var/lib/vmctx/images/web-${i}.qcow2`);
    const argv = ['sh', '-c', 'echo "$#"', 'x', ...paths];
    expect(argv.join(' ').length).toBeGreaterThan(256 * 1024);
    const batch = new CommandBatch(session.connection);
    const [one, two] = await Promise.all([batch.exec(argv), batch.exec(['echo', 'beside it'])]);
    expect([one.code, one.stdout, two.stdout]).toEqual([0, '8192\n', 'beside it\n']);
    // Alone too: a long command goes through the batch's standard input, not as the command argument.
    expect(await new CommandBatch(session.connection).run(argv)).toBe('8192\n');
  });

  it('run() fails as the connection does, with the command and what it said', async () => {
    const batch = new CommandBatch(session.connection);
    const [error] = await Promise.all([failure(batch.run(['sh', '-c', 'echo broken >&2; exit 4', 'x'])), batch.exec(['true'])]);
    expect(error.code).toBe('REMOTE_COMMAND_FAILED');
    expect(error.message).toMatch(/exited 4: broken/);
  });

  it('every command of a batch fails when its channel cannot be opened', async () => {
    const other = await openFakeSession('vmctx-command-batch-closed-');
    other.connection.close();
    const batch = new CommandBatch(other.connection);
    const errors = await Promise.all([failure(batch.exec(['true'])), failure(batch.exec(['true']))]);
    expect(errors.map((e) => e.code)).toEqual(['SSH_CLOSED', 'SSH_CLOSED']);
    await closeFakeSession(other);
  });
});
