import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PIECE, PIECES_TO_ARGV, quoteArg, remoteCommandLine, shellQuote, shQuote } from './shell-quote.js';

const MARK = 'vmctx-case-8f3a1c';

/** The argv each case's line made, from `printf '%s\0' MARK ARG...` lines' output. */
function argvsFrom(out: string): string[][] {
  const built: string[][] = [];
  for (const token of out.split('\0').slice(0, -1)) {
    if (token === MARK) built.push([]);
    else built.at(-1)!.push(token);
  }
  return built;
}

/**
 * Runs one quoted `printf` line per case through a single real shell and returns the argv the shell built for
 * each: one process for all cases, so the property costs the same on a busy machine as on a quiet one.
 */
function throughShell(shell: string, cases: string[][]): string[][] {
  const script = cases.map((argv) => shellQuote(['printf', '%s\\0', MARK, ...argv])).join('\n');
  return argvsFrom(execFileSync(shell, ['-c', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));
}

/** What a string is once sent as UTF-8 (a lone surrogate becomes U+FFFD on any wire). */
const sent = (arg: string) => Buffer.from(arg, 'utf8').toString('utf8');

/** Arguments made to break quoting: every character some shell reads specially, in and out of quotes. */
const HOSTILE_UNITS = ["'", '"', '\\', '!', '\n', '\r', '\t', ' ', '$', '`', '=', '%', '~', '#', '*', '?', '[', ']', '{', '}', ',', '(', ')', ';', '&', '|', '<', '>', '^', '@', ':', '-', 'a', 'n', '0', 'é', '€', '𝄞', '\uf600', '\u0001', '\u007f'];
const argArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: fc.constantFrom(...HOSTILE_UNITS), maxLength: 12 }),
  fc.string({ unit: fc.constantFrom(...'abz09_@%+=:,./-'), minLength: 1, maxLength: 8 }),
);
const argvArb = fc.array(argArb.filter((s) => !s.includes('\0') && s !== MARK), { maxLength: 5 });

/** Fixed cases: each breaks some shell when quoted for POSIX sh alone, or tests a limit. */
const FIXED: string[][] = [
  [],
  [''],
  ["it's"],
  ['name\\', '; echo PWNED; #'],
  ["\\'; echo PWNED; '"],
  ['x!y', '!!', '!$', '!-1', 'a!'],
  ['l1\nl2', '\n', 'a\n', '\na', '\n\n', "it's\nmultiline\\\n!"],
  ['$HOME', '`id`', '$(id)', '"', '*', '?', '[a]', '~', '~root', '{a,b}', '#', ';', '&', '|', '<', '>', '(', ')', '^'],
  ['=ls', '%self', '=1', '=-', '%1', 'A=b', '--opt=x', 'a%self', ':x', '@x', '+x', ',x'],
  ['\r\t\u0001\u001b\u007f', 'é€𝄞', '\uf600\uf6ff', '\ufeff', '\u2028', '\u00a0'],
  ['-n'],
  ['-e', '--', '%s', '\\n'],
  ['x'.repeat(9000)],
  ["'".repeat(3000), '!'.repeat(3000), '\\'.repeat(3000)],
  ['😀'.repeat(2500)],
  [`${'x'.repeat(MAX_PIECE - 1)}😀${'y'.repeat(2 * MAX_PIECE)}\n${'z'.repeat(MAX_PIECE)}`],
];

interface LoginShell {
  name: string;
  /** The program and the arguments before `-c`. */
  command: [string, ...string[]];
}

/** The login shells sshd may hand a command to (`$SHELL -c LINE`, session.c do_child). */
const LOGIN_SHELLS: LoginShell[] = [
  { name: 'sh', command: ['sh'] },
  { name: 'bash', command: ['bash'] },
  { name: 'dash', command: ['dash'] },
  { name: 'zsh', command: ['zsh'] },
  { name: 'fish', command: ['fish'] },
  { name: 'tcsh', command: ['tcsh'] },
  // Debian's csh is bsd-csh (OpenBSD's): the one with the 8 KiB word limit.
  { name: 'csh', command: ['csh'] },
  { name: 'busybox sh', command: ['busybox', 'sh'] },
];

function installed(program: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', program]).status === 0;
}

let home: string;
let bin: string;

beforeAll(() => {
  // A home of its own: no rc file of this machine's root (fish's config.fish, ~/.tcshrc) takes part.
  home = mkdtempSync(join(tmpdir(), 'vmctx-shell-quote-'));
  bin = join(home, 'bin');
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
});

/** Runs `lines` through `shell -c`, joined by newlines (one process), or one process per line. */
function runLines(shell: LoginShell, lines: string[], env: Record<string, string>): string {
  const [program, ...args] = shell.command;
  const run = spawnSync(program, [...args, '-c', lines.join('\n')], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home, ...env },
  });
  if (run.status !== 0) throw new Error(`${shell.name} exited ${run.status}: ${run.stderr.slice(0, 2000)}`);
  return run.stdout;
}

function expectSameArgv(shell: string, cases: string[][], out: string): void {
  const built = argvsFrom(out);
  expect(built.length, `${shell}: number of cases run`).toBe(cases.length);
  for (const [i, argv] of cases.entries()) expect(built[i], `${shell}, case ${i}: ${JSON.stringify(argv).slice(0, 300)}`).toEqual(argv.map(sent));
}

const printfLine = (argv: string[]) => remoteCommandLine(['printf', '%s\\0', MARK, ...argv]);

describe('shellQuote', () => {
  it('leaves plain words bare and quotes the rest', () => {
    expect(shellQuote(['virsh', 'define', '/var/lib/vmctx/a.xml'])).toBe('virsh define /var/lib/vmctx/a.xml');
    expect(quoteArg('')).toBe("''");
    expect(quoteArg("it's")).toBe("'it'\\''s'");
    expect(quoteArg('$(id)')).toBe("'$(id)'");
    expect(quoteArg('a\\b!')).toBe("'a'\\\\'b'\\!");
    // Expanded at the start of a word by zsh and tcsh (`=`) or fish (`%self`); fine further in.
    expect(shellQuote(['x', '=ls', '%self', 'a=b', 'a%b'])).toBe("x '=ls' '%self' a=b a%b");
    // A command word with `=` would be an assignment.
    expect(shellQuote(['A=b', 'A=b'])).toBe("'A=b' A=b");
  });

  it('refuses NUL and empty commands', () => {
    expect(() => quoteArg('a\0b')).toThrow(/NUL/);
    expect(() => shellQuote([])).toThrow(/at least one/);
    expect(() => remoteCommandLine(['a', 'b\0'])).toThrow(/NUL/);
  });

  it.each(['sh', 'bash'])('gives back every argument unchanged through %s', (shell) => {
    const args = fc.array(fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0') && s !== MARK), { maxLength: 5 });
    const cases = [[], [''], ["it's"], ['-n', '$HOME', '`id`', '\n', '\\'], ...fc.sample(args, 300)];
    const built = throughShell(shell, cases);
    expect(built.length).toBe(cases.length);
    for (const [i, argv] of cases.entries()) expect(built[i], `case ${i}: ${JSON.stringify(argv)}`).toEqual(argv.map(sent));
  });
});

describe('remoteCommandLine', () => {
  /** One word: bare characters, single-quoted runs without ' \ ! or newline, and \' \\ \! between them. */
  const WORD = /(?:[A-Za-z0-9_@%+=:,./-]|'[^'\\!\n]*'|\\['\\!])+/g;

  it('is the plain line when no argument needs more, and the words of shellQuote whenever that is enough', () => {
    expect(remoteCommandLine(['virsh', 'list', '--all', '--name'])).toBe('virsh list --all --name');
    expect(remoteCommandLine(['rm', '-f', '--', '/var/lib/vmctx/images/web-1.qcow2'])).toBe('rm -f -- /var/lib/vmctx/images/web-1.qcow2');
    expect(remoteCommandLine(['sh', '-c', 'test -f "$1" || exit 9', 'vmctx-state', "/it's"])).toBe(`sh -c 'test -f "$1" || exit 9' vmctx-state '/it'\\''s'`);
    expect(remoteCommandLine(['echo', 'x'.repeat(MAX_PIECE)])).toBe(`echo ${'x'.repeat(MAX_PIECE)}`);
  });

  it('holds a newline or a long argument in pieces that sh joins again', () => {
    expect(remoteCommandLine(['sh', '-c', 'a\nb', 'x', ''])).toBe(`sh -c '${PIECES_TO_ARGV}' vmctx -,-,n,-,- sh -c a b x ''`);
    const long = `${'y'.repeat(MAX_PIECE)}z\n`;
    expect(remoteCommandLine(['echo', long])).toBe(`sh -c '${PIECES_TO_ARGV}' vmctx -,jn echo ${'y'.repeat(MAX_PIECE)} z ''`);
  });

  it('is one line of words that hold only what no shell reads specially, none over 8 KiB (csh)', () => {
    expect(PIECES_TO_ARGV).toMatch(/^[^'\\!\n]+$/);
    fc.assert(
      fc.property(fc.array(argArb.filter((s) => !s.includes('\0')), { minLength: 1, maxLength: 6 }), fc.nat(3000), (argv, extra) => {
        const line = remoteCommandLine([...argv, 'q'.repeat(extra)]);
        expect(line).not.toContain('\n');
        const words = line.match(WORD) ?? [];
        // The words, one space between each, are the whole line: nothing outside them.
        expect(words.join(' ')).toBe(line);
        for (const word of words) {
          expect(Buffer.byteLength(word)).toBeLessThanOrEqual(8185);
          expect(word).not.toMatch(/^[=%]/);
        }
        // The plain words whenever no argument holds a newline or exceeds a piece.
        if (argv.every((a) => !a.includes('\n')) && extra <= MAX_PIECE) expect(line).toBe(shellQuote([...argv, 'q'.repeat(extra)]));
      }),
      { numRuns: 300 },
    );
  });

  it.skipIf(!installed('fish') || !installed('tcsh'))('is needed: POSIX quoting alone lets fish run a second command and tcsh fail', () => {
    const posix = (argv: string[]) => argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const argv = ['printf', '[%s]', 'name\\', '; echo PWNED; #'];
    const run = (shell: string, line: string) => spawnSync(shell, ['-c', line], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: home } });
    expect(run('fish', posix(argv)).stdout).toBe("[name' ]PWNED\n");
    expect(run('fish', remoteCommandLine(argv)).stdout).toBe('[name\\][; echo PWNED; #]');
    expect(run('tcsh', posix(['printf', '[%s]', 'x!y'])).stderr).toContain('Event not found');
    expect(run('tcsh', posix(['printf', '[%s]', 'a\nb'])).stderr).toContain('Unmatched');
    expect(run('tcsh', remoteCommandLine(['printf', '[%s]', 'x!y', 'a\nb'])).stdout).toBe('[x!y][a\nb]');
  });

  // Each login shell runs the fixed cases one process each (exactly as sshd runs a line), then 200 random
  // ones in one process, in the C locale and in C.UTF-8. A shell that is not installed is skipped, by name.
  describe.each(LOGIN_SHELLS)('run by $name as the login shell', (shell) => {
    it.skipIf(!installed(shell.command[0]))('runs exactly the given argv, in C and C.UTF-8', () => {
      for (const LC_ALL of ['C', 'C.UTF-8']) {
        for (const argv of FIXED) expectSameArgv(`${shell.name} LC_ALL=${LC_ALL}`, [argv], runLines(shell, [printfLine(argv)], { LC_ALL }));
        const cases = fc.sample(argvArb, { numRuns: 200 });
        expectSameArgv(`${shell.name} LC_ALL=${LC_ALL}`, cases, runLines(shell, cases.map(printfLine), { LC_ALL }));
      }
    });
  });

  // The pieces are joined by whatever `sh` the controller has: dash on Debian, busybox on Alpine, bash elsewhere.
  describe.each(['dash', 'bash', 'busybox', 'zsh'])('joined by %s as sh', (sh) => {
    it.skipIf(!installed(sh))('runs exactly the given argv', () => {
      const dir = join(bin, sh);
      execFileSync('mkdir', ['-p', dir]);
      const path = execFileSync('sh', ['-c', 'command -v "$1"', 'sh', sh], { encoding: 'utf8' }).trim();
      symlinkSync(path, join(dir, 'sh'));
      const cases = [...FIXED, ...fc.sample(argvArb, { numRuns: 200 })].filter((argv) => argv.some((a) => a.includes('\n')) || argv.join('').length > MAX_PIECE);
      const lines = cases.map(printfLine);
      expect(lines.every((line) => line.startsWith('sh -c '))).toBe(true);
      const run = spawnSync('/bin/dash', ['-c', lines.join('\n')], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { PATH: `${dir}:/usr/bin:/bin`, HOME: home } });
      expect(run.stderr).toBe('');
      expectSameArgv(`sh = ${sh}`, cases, run.stdout);
    });
  });
});

describe('shQuote, for values in generated POSIX shell code', () => {
  it("always single-quotes, writes each ' as '\\'', and refuses NUL and line breaks", () => {
    expect(shQuote('web1')).toBe("'web1'");
    expect(shQuote('')).toBe("''");
    expect(shQuote("it's $HOME `id` \\ !")).toBe("'it'\\''s $HOME `id` \\ !'");
    for (const bad of ['a\nb', 'a\rb', 'a\0b']) expect(() => shQuote(bad)).toThrow(/NUL or a line break/);
  });

  it('is read back as the value by sh', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => !/[\0\n\r]/.test(s)), { minLength: 1, maxLength: 20 }), (values) => {
        const script = values.map((v) => `printf '%s\\0' ${shQuote(v)}`).join('\n');
        const out = execFileSync('sh', ['-c', script], { encoding: 'utf8' });
        expect(out.split('\0').slice(0, -1)).toEqual(values.map((v) => Buffer.from(v, 'utf8').toString('utf8')));
      }),
      { numRuns: 30 },
    );
  });
});
