/**
 * sh/list-domains.sh, dir-state.sh and file-state.sh under each shell a controller's `sh` may be, with a stub virsh
 * on PATH: the listing and its batches of 200 domains under their time limits, and the folder and file states as
 * preflight reads them through zod.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessAndBytes } from './answers.js';
import { DIR_STATE_SH, FILE_STATE_SH, LIST_DOMAINS_SH } from './sh.generated.js';

/** The shells a controller's `sh` may be (dash and busybox sh where installed). */
const SHELLS = [['dash'], ['bash', '--posix', '--norc'], ['busybox', 'sh']].filter(([cmd, ...rest]) => spawnSync(cmd!, [...rest, '-c', 'exit 0']).status === 0);

/** A virsh that lists $STUB/uuids (or fails, or hangs, as $STUB says) and logs each batch it is given. */
const STUB_VIRSH = `#!/bin/sh
if [ "$1" = list ]; then
  [ -f "$STUB/hang" ] && exec sleep 30
  [ -f "$STUB/fail" ] && { echo 'error: failed to connect to the hypervisor' >&2; exit 3; }
  cat "$STUB/uuids"
  exit 0
fi
printf '%s\\n' "$*" >>"$STUB/batches"
printf 'answered %s\\n' "$#"
exit "$(cat "$STUB/batch-status" 2>/dev/null || echo 0)"
`;

const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

describe.each(SHELLS.map((shell) => [shell.join(' '), shell] as const))('list-domains.sh, dir-state.sh and file-state.sh under %s', (_name, [cmd, ...rest]) => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vmctx-list-sh-'));
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'virsh'), STUB_VIRSH);
    chmodSync(join(dir, 'bin', 'virsh'), 0o755);
    writeFileSync(join(dir, 'uuids'), '');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const sh = (script: string, args: string[]) =>
    spawnSync(cmd!, [...rest, '-c', script, 'vmctx-test', ...args], { encoding: 'utf8', env: { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, STUB: dir, LC_ALL: 'C' } });
  const batches = () => readFileSync(join(dir, 'batches'), 'utf8').trimEnd().split('\n');

  it('runs no batch when there is no domain and nothing before it', () => {
    const result = sh(LIST_DOMAINS_SH, ['', '30', '60']);
    expect(result).toMatchObject({ status: 0, stdout: '', stderr: '' });
  });

  it('asks virsh for BEFORE, then the mark, then each domain\'s state and inactive XML, 200 domains a virsh', () => {
    writeFileSync(join(dir, 'uuids'), `${Array.from({ length: 450 }, (_, i) => uuid(i)).join('\n')}\n`);
    writeFileSync(join(dir, 'batch-status'), '1');
    const result = sh(LIST_DOMAINS_SH, ['version;', '30', '60']);
    // virsh's status is its last command's: a domain undefined meanwhile fails the batch, not the listing.
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('answered 1\n'.repeat(3));
    const sent = batches();
    expect(sent.map((b) => b.split('dumpxml --inactive --domain').length - 1)).toEqual([200, 200, 50]);
    expect(sent[0]).toMatch(/^version; echo === vmctx-domains; echo === vmctx-domain 0{8}-0000-4000-8000-0{12}; domstate --domain 0{8}-0000-4000-8000-0{12}; dumpxml --inactive --domain 0{8}-0000-4000-8000-0{12}; echo/);
    expect(sent[2]).toMatch(/^ echo === vmctx-domain /);
  });

  it('fails with the listing\'s status and message, and with 124 when the listing does not answer in time', () => {
    writeFileSync(join(dir, 'fail'), '');
    expect(sh(LIST_DOMAINS_SH, ['', '30', '60'])).toMatchObject({ status: 3, stdout: '', stderr: 'error: failed to connect to the hypervisor\n' });
    rmSync(join(dir, 'fail'));
    writeFileSync(join(dir, 'hang'), '');
    const started = Date.now();
    // busybox sh runs its own timeout applet (`command -v timeout` says `timeout`), which exits 143 (TERM), not
    // coreutils' 124: libvirt.ts then reports the listing's exit status rather than "no answer within".
    expect(sh(LIST_DOMAINS_SH, ['', '1', '60']).status).toBe(cmd === 'busybox' ? 143 : 124);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('says a folder\'s writability and free bytes, and 9 for no folder', () => {
    const answer = sh(DIR_STATE_SH, [dir]);
    expect(answer.status).toBe(0);
    expect(AccessAndBytes.parse(answer.stdout.trim())).toEqual({ yes: true, bytes: expect.any(Number) });
    expect(sh(DIR_STATE_SH, [join(dir, 'uuids')]).status).toBe(9);
  });

  it('says a file\'s readability and size, and 9 for no file', () => {
    writeFileSync(join(dir, 'image'), 'x'.repeat(1234));
    const answer = sh(FILE_STATE_SH, [join(dir, 'image')]);
    expect(answer.status).toBe(0);
    expect(AccessAndBytes.parse(answer.stdout.trim())).toEqual({ yes: true, bytes: 1234 });
    expect(sh(FILE_STATE_SH, [join(dir, 'bin')]).status).toBe(9);
    expect(sh(FILE_STATE_SH, [join(dir, 'none')]).status).toBe(9);
  });
});
