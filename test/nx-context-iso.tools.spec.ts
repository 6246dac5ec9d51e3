/**
 * @vmctx/nx-context-iso in a workspace of its own: a temporary copy of examples/ci (three contexts: web and db as
 * context.yaml, legacy as a Snooze context/ folder) run by Nx. `nx run-many -t context-iso` builds three ISOs and
 * their .sha256; a second run is all cache hits; editing one context rebuilds it alone, as does editing a cloud-config
 * file a context names (cloudInit.userData); a second fresh copy, in
 * another folder, with other file times, group-writable modes and another SOURCE_DATE_EPOCH, builds the same bytes.
 * Needs no lab and no network.
 */
import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBuilders, copyExample, nx } from './support/nx-workspace.js';

const NAMES = ['db', 'legacy', 'web'];
const TASKS = NAMES.map((n) => `context-${n}:context-iso`);
const copies: string[] = [];
let first: string;
let firstIsos: Record<string, Buffer>;

const isos = (workspace: string): Record<string, Buffer> =>
  Object.fromEntries(NAMES.map((n) => [n, readFileSync(join(workspace, `dist/contexts/${n}.iso`))]));
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeAll(() => {
  buildBuilders();
  first = copyExample('nx-context-iso-a-');
  copies.push(first);
}, 120_000);

afterAll(() => {
  for (const copy of copies) rmSync(dirname(copy), { recursive: true, force: true });
});

describe('nx run-many -t context-iso in a copy of examples/ci', () => {
  it('infers one target per context and builds three ISOs, each with its checksum and a line: path, size, sha256', () => {
    const run = nx(first, ['run-many', '-t', 'context-iso']);
    expect(run.tasks).toEqual(Object.fromEntries(TASKS.map((t) => [t, 'built'])));
    firstIsos = isos(first);
    expect(readdirSync(join(first, 'dist/contexts')).sort()).toEqual(NAMES.flatMap((n) => [`${n}.iso`, `${n}.iso.sha256`]));
    for (const name of NAMES) {
      const bytes = firstIsos[name]!;
      expect(readFileSync(join(first, `dist/contexts/${name}.iso.sha256`), 'utf8')).toBe(`${sha(bytes)}  ${name}.iso\n`);
      expect(run.output).toContain(`dist/contexts/${name}.iso\t${bytes.length}\t${sha(bytes)}`);
      // The volume descriptor: ISO 9660, label cidata for a context file's CD (it holds cloud-init's NoCloud seed
      // beside Snooze's layout, as vmctx context iso writes it), CONTEXT for the Snooze folder's, taken as it is.
      expect(bytes.subarray(16 * 2048 + 1, 16 * 2048 + 6).toString('latin1')).toBe('CD001');
      expect(bytes.subarray(16 * 2048 + 40, 16 * 2048 + 72).toString('latin1').trimEnd()).toBe(name === 'legacy' ? 'CONTEXT' : 'cidata');
    }
  });

  it('runs again as all cache hits, and restores deleted outputs from the cache', () => {
    rmSync(join(first, 'dist'), { recursive: true });
    const run = nx(first, ['run-many', '-t', 'context-iso']);
    expect(run.tasks).toEqual(Object.fromEntries(TASKS.map((t) => [t, 'cache'])));
    expect(run.output).toMatch(/read the output from the cache instead of running the command for 3 out of 3 tasks/);
    expect(isos(first)).toEqual(firstIsos);
  });

  it('rebuilds only the context that was edited', () => {
    const file = join(first, 'contexts/web/context.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('web-1, configured by vmctx', 'web-1, edited'));
    const run = nx(first, ['run-many', '-t', 'context-iso']);
    expect(run.tasks).toEqual({ 'context-db:context-iso': 'cache', 'context-legacy:context-iso': 'cache', 'context-web:context-iso': 'built' });
    const now = isos(first);
    expect(now.web!.equals(firstIsos.web!)).toBe(false);
    expect(now.db!.equals(firstIsos.db!) && now.legacy!.equals(firstIsos.legacy!)).toBe(true);
  });

  it("rebuilds a context when a cloud-config file it names is edited, not only its context.yaml", () => {
    const dir = join(first, 'contexts/db');
    writeFileSync(join(dir, 'user-data.yaml'), '#cloud-config\ntimezone: Europe/Paris\n');
    writeFileSync(join(dir, 'context.yaml'), `${readFileSync(join(dir, 'context.yaml'), 'utf8')}cloudInit:\n  userData: ./user-data.yaml\n`);
    expect(nx(first, ['run-many', '-t', 'context-iso']).tasks['context-db:context-iso']).toBe('built');
    const before = isos(first).db!;
    writeFileSync(join(dir, 'user-data.yaml'), '#cloud-config\ntimezone: Etc/UTC\n');
    const run = nx(first, ['run-many', '-t', 'context-iso']);
    expect(run.tasks).toEqual({ 'context-db:context-iso': 'built', 'context-legacy:context-iso': 'cache', 'context-web:context-iso': 'cache' });
    expect(isos(first).db!.equals(before)).toBe(false);
    expect(isos(first).db!.includes('timezone: Etc/UTC')).toBe(true);
  });

  it('gives the same bytes in a second fresh copy, whatever its times, umask and SOURCE_DATE_EPOCH', () => {
    const second = copyExample('nx-context-iso-b-');
    copies.push(second);
    const legacy = join(second, 'contexts/legacy/context');
    for (const [path, mode] of [['post-install', 0o775], ['common/network', 0o664], ['common/routes', 0o664]] as const) {
      chmodSync(join(legacy, path), mode);
      utimesSync(join(legacy, path), 1_234_567, 1_234_567);
    }
    utimesSync(join(second, 'contexts/web/context.yaml'), 42, 42);
    const run = nx(second, ['run-many', '-t', 'context-iso'], { SOURCE_DATE_EPOCH: '1234567890' });
    expect(run.tasks).toEqual(Object.fromEntries(TASKS.map((t) => [t, 'built'])));
    const again = isos(second);
    for (const name of NAMES) expect(sha(again[name]!), name).toBe(sha(firstIsos[name]!));
  });
});
