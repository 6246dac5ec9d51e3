import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quoteArg, shellQuote } from './shell-quote.js';

const MARK = 'vmctx-case-8f3a1c';

/**
 * Runs one quoted `printf` line per case through a single real shell and returns the argv the shell built for
 * each: one process for all cases, so the property costs the same on a busy machine as on a quiet one.
 */
function throughShell(shell: string, cases: string[][]): string[][] {
  const script = cases.map((argv) => shellQuote(['printf', '%s\\0', MARK, ...argv])).join('\n');
  const out = execFileSync(shell, ['-c', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const built: string[][] = [];
  for (const token of out.split('\0').slice(0, -1)) {
    if (token === MARK) built.push([]);
    else built.at(-1)!.push(token);
  }
  return built;
}

describe('shellQuote', () => {
  it('leaves plain words bare and quotes the rest', () => {
    expect(shellQuote(['virsh', 'define', '/var/lib/vmctx/a.xml'])).toBe('virsh define /var/lib/vmctx/a.xml');
    expect(quoteArg('')).toBe("''");
    expect(quoteArg("it's")).toBe("'it'\\''s'");
    expect(quoteArg('$(id)')).toBe("'$(id)'");
  });

  it('refuses NUL and empty commands', () => {
    expect(() => quoteArg('a\0b')).toThrow(/NUL/);
    expect(() => shellQuote([])).toThrow(/at least one/);
  });

  it.each(['sh', 'bash'])('gives back every argument unchanged through %s', (shell) => {
    const args = fc.array(fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0') && s !== MARK), { maxLength: 5 });
    const cases = [[], [''], ["it's"], ['-n', '$HOME', '`id`', '\n', '\\'], ...fc.sample(args, 300)];
    const built = throughShell(shell, cases);
    expect(built.length).toBe(cases.length);
    for (const [i, argv] of cases.entries()) expect(built[i], `case ${i}: ${JSON.stringify(argv)}`).toEqual(argv);
  });
});
