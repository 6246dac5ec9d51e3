import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeOnSignal } from './signal-cleanup.js';

describe('removeOnSignal', () => {
  it('removes what is registered on SIGINT or SIGTERM, and nothing once released', () => {
    const dir = mkdtempSync(join(tmpdir(), 'contract-signal-'));
    // Another listener is there (as vitest's own would be): the signal is not raised again in this process.
    const other = () => undefined;
    process.on('SIGINT', other);
    process.on('SIGTERM', other);
    try {
      writeFileSync(join(dir, 'a.tmp'), 'x');
      mkdirSync(join(dir, 'tree.tmp/sub'), { recursive: true });
      writeFileSync(join(dir, 'kept'), 'x');
      removeOnSignal(join(dir, 'a.tmp'));
      removeOnSignal(join(dir, 'tree.tmp'), { recursive: true });
      const release = removeOnSignal(join(dir, 'kept'));
      release();
      expect(process.listenerCount('SIGTERM')).toBe(2);
      process.emit('SIGTERM', 'SIGTERM');
      expect(existsSync(join(dir, 'a.tmp'))).toBe(false);
      expect(existsSync(join(dir, 'tree.tmp'))).toBe(false);
      expect(existsSync(join(dir, 'kept'))).toBe(true);
      // Nothing registered: no handler of ours is left.
      expect(process.listenerCount('SIGINT')).toBe(1);
    } finally {
      process.off('SIGINT', other);
      process.off('SIGTERM', other);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ends the process as the signal would when no one else listens (exit by SIGINT: 130 in a shell)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'contract-signal-'));
    try {
      const module = join(import.meta.dirname, 'signal-cleanup.ts');
      // The module as JavaScript: its types stripped by the TypeScript compiler vitest already has at hand.
      const ts = spawnSync(process.execPath, ['-e', `
        const ts = require('typescript');
        const src = require('fs').readFileSync(${JSON.stringify(module)}, 'utf8');
        process.stdout.write(ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
      `], { encoding: 'utf8', cwd: import.meta.dirname });
      expect(ts.status).toBe(0);
      writeFileSync(join(dir, 'signal-cleanup.mjs'), ts.stdout);
      writeFileSync(join(dir, 'big.tmp'), 'x');
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', `
        import { removeOnSignal } from ${JSON.stringify(join(dir, 'signal-cleanup.mjs'))};
        removeOnSignal(${JSON.stringify(join(dir, 'big.tmp'))});
        setTimeout(() => process.kill(process.pid, 'SIGINT'), 10);
        setTimeout(() => process.exit(0), 5000);
      `], { encoding: 'utf8' });
      expect(run.signal).toBe('SIGINT');
      expect(existsSync(join(dir, 'big.tmp'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
