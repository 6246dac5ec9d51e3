import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { buildContextIso, gitModes, isoLine } from './build.js';
import contextIsoExecutor from './executor.js';

const work = mkdtempSync(join(tmpdir(), 'nx-context-iso-build-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A Snooze folder written with the given umask-like modes and mtimes. */
function snooze(dir: string, fileMode: number, mtime: number): string {
  mkdirSync(join(dir, 'context/common'), { recursive: true });
  writeFileSync(join(dir, 'context/post-install'), '#!/bin/sh\necho hi\n');
  writeFileSync(join(dir, 'context/common/network'), "GATEWAY='192.0.2.1'\n");
  chmodSync(join(dir, 'context/post-install'), fileMode | 0o111);
  chmodSync(join(dir, 'context/common/network'), fileMode);
  for (const f of ['context/post-install', 'context/common/network', 'context/common', 'context']) utimesSync(join(dir, f), mtime, mtime);
  return join(dir, 'context');
}

describe('buildContextIso', () => {
  it('gives the same bytes for the same folder whatever its modes (umask) and times, and writes a sha256sum file', async () => {
    const a = snooze(join(work, 'a'), 0o644, 1_000_000);
    const b = snooze(join(work, 'b'), 0o664, 2_000_000);
    const isoA = await buildContextIso({ input: a, output: join(work, 'out-a/ctx.iso') });
    const isoB = await buildContextIso({ input: 'b/context', output: 'out-b/ctx.iso' }, work);
    const bytes = readFileSync(join(work, 'out-a/ctx.iso'));
    expect(readFileSync(join(work, 'out-b/ctx.iso')).equals(bytes)).toBe(true);
    expect(isoA.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(isoB).toEqual({ path: 'out-b/ctx.iso', bytes: bytes.length, sha256: isoA.sha256, problems: [] });
    expect(readFileSync(join(work, 'out-a/ctx.iso.sha256'), 'utf8')).toBe(`${isoA.sha256}  ctx.iso\n`);
    expect(isoLine(isoB)).toBe(`out-b/ctx.iso\t${bytes.length}\t${isoA.sha256}`);
  });

  it('changes the bytes with the epoch or the label, and only then', async () => {
    const dir = snooze(join(work, 'c'), 0o644, 1);
    const one = await buildContextIso({ input: dir, output: join(work, 'c1.iso'), epoch: 1_700_000_000 });
    const again = await buildContextIso({ input: dir, output: join(work, 'c2.iso'), epoch: 1_700_000_000 });
    const label = await buildContextIso({ input: dir, output: join(work, 'c3.iso'), epoch: 1_700_000_000, label: 'OTHER' });
    const zero = await buildContextIso({ input: dir, output: join(work, 'c4.iso') });
    expect(again.sha256).toBe(one.sha256);
    expect(new Set([one.sha256, label.sha256, zero.sha256]).size).toBe(3);
  });

  it("builds the CD vmctx context iso does: for a context file cloud-init's NoCloud seed beside Snooze's layout, label cidata; snooze on request, label CONTEXT", async () => {
    writeFileSync(join(work, 'web.yaml'), 'hostname: web-1\nnetwork: { method: static, address: 198.51.100.21/24 }\n');
    const both = await buildContextIso({ input: 'web.yaml', output: 'both.iso' }, work);
    const snoozeOnly = await buildContextIso({ input: 'web.yaml', output: 'snooze.iso', format: 'snooze' }, work);
    const read = (iso: string) => ({
      label: /^Volume id: (.*)$/m.exec(spawnSync('isoinfo', ['-d', '-i', join(work, iso)], { encoding: 'utf8' }).stdout)?.[1]?.trim(),
      files: spawnSync('isoinfo', ['-R', '-f', '-i', join(work, iso)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean),
    });
    expect(read('both.iso').label).toBe('cidata');
    expect(read('both.iso').files).toEqual(expect.arrayContaining(['/meta-data', '/user-data', '/network-config', '/post-install', '/common/network']));
    expect(read('snooze.iso').label).toBe('CONTEXT');
    expect(read('snooze.iso').files).toContain('/post-install');
    expect(read('snooze.iso').files).not.toContain('/meta-data');
    expect(snoozeOnly.sha256).not.toBe(both.sha256);
    // A folder is Snooze's layout as it is, labelled CONTEXT.
    await buildContextIso({ input: snooze(join(work, 'd'), 0o644, 1), output: join(work, 'folder.iso') });
    expect(read('folder.iso').label).toBe('CONTEXT');
  });

  it('keeps the modes a context file generates', () => {
    expect(gitModes({ a: { data: '', mode: 0o400 }, b: { data: '', mode: 0o500 }, c: { data: '', mode: 0o664 } })).toEqual({
      a: { data: '', mode: 0o644 },
      b: { data: '', mode: 0o755 },
      c: { data: '', mode: 0o644 },
    });
  });
});

describe('the context-iso executor', () => {
  it('prints the line of the ISO, or fails with the code of the error', async () => {
    writeFileSync(join(work, 'context.yaml'), 'hostname: web-1\n');
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(await contextIsoExecutor({ input: 'context.yaml', output: 'dist/web.iso' }, { root: work })).toEqual({ success: true });
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/^dist\/web\.iso\t\d+\t[0-9a-f]{64}$/));
    expect(await contextIsoExecutor({ input: 'missing.yaml', output: 'dist/x.iso' }, { root: work })).toEqual({ success: false });
    expect(error).toHaveBeenCalledWith(expect.stringMatching(/missing.yaml: .*no such file or folder \[GUEST_INVALID_CONTEXT\]/));
    log.mockRestore();
    error.mockRestore();
  });
});
