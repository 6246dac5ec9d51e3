import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { volumeLabelProblem } from '@vmctx/contract';
import { contextualizationScript, resolveGuestScriptOptions } from '@vmctx/guest-script';
import { MAX_ISO_EPOCH, resolveEpoch } from '@vmctx/iso-builder';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProgram } from '../program.js';
import { captureIo, exitCodeOfRun } from './capture-io.fixture.js';
import { MAX_EPOCH_SECONDS } from './options.js';

let dir: string;
const io = captureIo();
const vmctx = (...args: string[]): Promise<number> => exitCodeOfRun(createProgram(io).parseAsync(args, { from: 'user' }));

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmctx-options-'));
  await writeFile(join(dir, 'c.yaml'), 'hostname: web1\n');
  await writeFile(join(dir, 'f.txt'), 'x\n');
  io.reset();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('one volume label rule for every --label (issue 12)', () => {
  it.each(['MY CD', '', 'A'.repeat(33), "it's", 'ÉTÉ', 'a/b'])('refuses %j with the same message in context iso --label, guest script --label and iso -V', async (label) => {
    const problem = volumeLabelProblem(label);
    expect(problem).toBeDefined();
    const iso = join(dir, 'out.iso');
    for (const [args, flag] of [
      [['context', 'iso', join(dir, 'c.yaml'), '-o', iso, '--label', label], '--label <label>'],
      [['guest', 'script', '--label', label], '--label <label>'],
      [['guest', 'install-script', '--label', label], '--label <label>'],
      [['iso', '-o', iso, '-V', label, dir], '-V, --volid <label>'],
    ] as const) {
      io.reset();
      expect(await vmctx(...args), args.join(' ')).toBe(2);
      expect(io.err, args.join(' ')).toMatch(new RegExp(`^error: option '${flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' argument '.*' is invalid\\. `));
      expect(io.err).toContain(`is invalid. ${problem}\n`);
      expect(io.out).toBe('');
    }
    await expect(stat(iso)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('takes a label the contract accepts in each of them', async () => {
    expect(await vmctx('guest', 'script', '--label', 'cidata')).toBe(0);
    expect(io.out).toBe(contextualizationScript({ label: 'cidata' }));
    expect(await vmctx('context', 'iso', join(dir, 'c.yaml'), '-o', join(dir, 'a.iso'), '--label', 'CTX_2024.1-a')).toBe(0);
  });
});

describe('--epoch: what ISO 9660 dates hold (issue 12)', () => {
  it("is iso-builder's bound: 2155-12-31T23:59:59Z, the last date of the directory records (ECMA-119 9.1.5)", () => {
    expect(MAX_EPOCH_SECONDS).toBe(MAX_ISO_EPOCH);
    expect(resolveEpoch({ epoch: MAX_EPOCH_SECONDS })).toBe(MAX_EPOCH_SECONDS);
    expect(() => resolveEpoch({ epoch: MAX_EPOCH_SECONDS + 1 })).toThrow();
  });

  it.each([
    ['context', 'iso', 'c.yaml'],
    ['iso', '.'],
  ])('vmctx %s %s refuses an epoch after it as a usage error of --epoch, and writes nothing', async (...command) => {
    const input = join(dir, command.at(-1)!);
    const args = (epoch: string, out: string) => [...command.slice(0, -1), input, '-o', join(dir, out), '--epoch', epoch];
    expect(await vmctx(...args(String(MAX_EPOCH_SECONDS + 1), 'late.iso'))).toBe(2);
    expect(io.err).toMatch(/^error: option '--epoch <seconds>' argument '5869584000' is invalid\. expected seconds since 1970 from 0 to 5869583999 \(2155-12-31T23:59:59Z/);
    await expect(stat(join(dir, 'late.iso'))).rejects.toMatchObject({ code: 'ENOENT' });
    io.reset();
    expect(await vmctx(...args('99999999999999999999', 'later.iso'))).toBe(2);
    io.reset();
    expect(await vmctx(...args(String(MAX_EPOCH_SECONDS), 'last.iso'))).toBe(0);
  });
});

describe('guest timeouts are refused by their option names (issue 12)', () => {
  it.each([
    ['--timeout', '0'],
    ['--timeout', '86401'],
    ['--dhcp-timeout', '0'],
  ])('vmctx guest script %s %s: exit 2, naming the option, not the library field', async (flag, value) => {
    expect(await vmctx('guest', 'script', flag, value)).toBe(2);
    expect(io.err).toMatch(new RegExp(`^error: option '${flag} <seconds>' argument '${value}' is invalid\\. expected a whole number of seconds from 1 to 86400\\n`));
    expect(io.err).not.toMatch(/timeoutSeconds|dhcpTimeoutSeconds/);
    expect(io.out).toBe('');
  });

  it("accepts the bounds guest-script accepts, and guest-script refuses just outside them", async () => {
    expect(await vmctx('guest', 'script', '--timeout', '1', '--dhcp-timeout', '86400')).toBe(0);
    expect(() => resolveGuestScriptOptions({ timeoutSeconds: 0 })).toThrow();
    expect(() => resolveGuestScriptOptions({ timeoutSeconds: 86_401 })).toThrow();
  });
});
