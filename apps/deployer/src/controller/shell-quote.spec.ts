import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quoteArg, shellQuote } from './shell-quote.js';

/** Runs the quoted line through a real shell and returns the argv that the shell built. */
function throughShell(shell: string, argv: string[]): string[] {
  const line = shellQuote(['printf', '%s\\0', 'argv:', ...argv]);
  const out = execFileSync(shell, ['-c', line], { encoding: 'utf8' });
  return out.split('\0').slice(1, -1);
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
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0')), { maxLength: 5 }), (args) => {
        expect(throughShell(shell, args)).toEqual(args);
      }),
      { numRuns: 60 },
    );
  });
});
